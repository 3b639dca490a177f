// callradar dashboard: sortable tables and charts drawn from the page's own data.
// No external assets; everything runs from this file.
"use strict";
const SVG = "http://www.w3.org/2000/svg";

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function bars(box, rows, title) {
  const w = 640, h = 200, left = 48, pad = 10, bottom = 36;
  const ph = h - bottom - pad - 14, pw = w - left - pad;
  const top = Math.max(1, ...rows.map(r => r[1]));
  const svg = el("svg", {width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title});
  svg.appendChild(el("text", {x: left, y: 12, "font-size": 12}, title));
  const y0 = pad + 14 + ph, bw = pw / Math.max(rows.length, 1);
  for (const f of [0, 0.5, 1]) {
    const y = y0 - f * ph;
    svg.appendChild(el("line", {x1: left, y1: y, x2: w - pad, y2: y, stroke: "#ddd"}));
    svg.appendChild(el("text", {x: left - 4, y: y + 4, "font-size": 10, "text-anchor": "end"}, Math.round(top * f)));
  }
  const step = Math.max(1, Math.floor(rows.length / 12));
  rows.forEach((r, i) => {
    const x = left + i * bw, hh = ph * r[1] / top, ha = ph * r[2] / top;
    const b = el("rect", {class: "bar", x: x + 1, y: y0 - hh, width: Math.max(bw - 2, 1), height: hh, fill: "#7aa6d6", "data-value": r[1]});
    b.appendChild(el("title", {}, `${r[0]}: ${r[1]} calls, ${r[2]} answered`));
    svg.appendChild(b);
    svg.appendChild(el("rect", {x: x + 1, y: y0 - ha, width: Math.max(bw - 2, 1), height: ha, fill: "#2b5d91"}));
    if (i % step === 0) svg.appendChild(el("text", {x: x + bw / 2, y: y0 + 14, "font-size": 10, "text-anchor": "middle"}, String(r[0]).slice(-5)));
  });
  box.appendChild(svg);
}

function spans(box, rows, title) {
  const w = 640, left = 150, pad = 10, rh = 14;
  const items = rows.filter(r => r[1] && r[2]).map(r => [r[0], Date.parse(r[1]), Date.parse(r[2]), r[1], r[2]]);
  const h = 30 + rh * Math.max(items.length, 1) + 20;
  const svg = el("svg", {width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title});
  svg.appendChild(el("text", {x: left, y: 12, "font-size": 12}, title));
  if (items.length) {
    const t0 = Math.min(...items.map(r => r[1])), t1 = Math.max(...items.map(r => r[2]));
    const span = Math.max(t1 - t0, 1000), pw = w - left - pad;
    items.forEach((r, i) => {
      const y = 24 + i * rh;
      svg.appendChild(el("text", {x: left - 4, y: y + 10, "font-size": 10, "text-anchor": "end"}, r[0]));
      const b = el("rect", {class: "bar", x: left + pw * (r[1] - t0) / span, y: y, width: Math.max(pw * (r[2] - r[1]) / span, 2), height: rh - 3, fill: "#d68b7a"});
      b.appendChild(el("title", {}, `${r[0]}: ${r[3]} .. ${r[4]}`));
      svg.appendChild(b);
    });
    const yb = 24 + items.length * rh + 12;
    const first = items.find(r => r[1] === t0)[3], last = items.find(r => r[2] === t1)[4];
    svg.appendChild(el("text", {x: left, y: yb, "font-size": 10}, first.slice(5, 16).replace("T", " ")));
    svg.appendChild(el("text", {x: w - pad, y: yb, "font-size": 10, "text-anchor": "end"}, last.slice(5, 16).replace("T", " ")));
  }
  box.appendChild(svg);
}

function sortable(table) {
  const heads = table.querySelectorAll("thead th");
  heads.forEach((th, col) => {
    if (!th.classList.contains("sortable")) return;
    th.addEventListener("click", () => {
      const body = table.tBodies[0], num = th.dataset.type === "num";
      const dir = th.dataset.dir === "asc" ? -1 : 1;
      heads.forEach(o => delete o.dataset.dir);
      th.dataset.dir = dir === 1 ? "asc" : "desc";
      const key = tr => tr.cells[col].textContent.trim();
      const rows = Array.from(body.rows).sort((a, b) => {
        const x = key(a), y = key(b);
        return dir * (num ? Number(x) - Number(y) : x.localeCompare(y));
      });
      rows.forEach(r => body.appendChild(r));
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("table.sortable").forEach(sortable);
  const data = document.getElementById("series");
  if (!data) return;
  const series = JSON.parse(data.textContent);
  document.querySelectorAll("div.chart[data-series]").forEach(box => {
    const rows = series[box.dataset.series] || [];
    (box.dataset.kind === "spans" ? spans : bars)(box, rows, box.dataset.title);
  });
});
