"""Prometheus metrics of the server (one registry per server, so tests can run several).

Exposed at ``GET /metrics``:

* ``callradar_verdicts_total{channel,decision}``: answered verdicts (http, sip);
* ``callradar_verdict_seconds{channel}``: latency from request to verdict (histogram);
* ``callradar_fail_open_total{cause}``: verdicts answered allow because of ``deadline``
  or ``error``;
* ``callradar_errors_total{where}``: internal errors (http, sip, spool, store);
* ``callradar_sip_messages_total{transport,method}`` and
  ``callradar_sip_dropped_total{reason}``;
* ``callradar_records_total{kind,outcome}``: refusals, complaints, CDRs stored/quarantined;
* ``callradar_state{what}``: engine state sizes (``Engine.stats()``).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (
    0.0002,
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.25,
    1.0,
)


class _StateCollector(Collector):
    def __init__(self, stats: Callable[[], dict[str, int]]) -> None:
        self.stats = stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily("callradar_state", "Size of the live engine state.", labels=["what"])
        for what, n in sorted(self.stats().items()):
            g.add_metric([what], float(n))
        yield g


CHANNELS = ("http", "sip")
DECISIONS = ("allow", "label", "block")
CAUSES = ("deadline", "error")


class _HotPath(Collector):
    """Verdict counters and latency histogram kept as plain numbers (the hot path runs on
    the event loop thread only, so no lock is needed) and exposed at scrape time."""

    def __init__(self) -> None:
        self.verdicts = {(ch, d): 0 for ch in CHANNELS for d in DECISIONS}
        self.buckets = {ch: [0] * (len(LATENCY_BUCKETS) + 1) for ch in CHANNELS}
        self.sums = dict.fromkeys(CHANNELS, 0.0)
        self.fail_open = dict.fromkeys(CAUSES, 0)
        self.sip: dict[tuple[str, str], int] = {}

    def collect(self) -> Iterator[Any]:
        v = CounterMetricFamily(
            "callradar_verdicts", "Verdicts answered.", labels=["channel", "decision"]
        )
        for (ch, d), n in self.verdicts.items():
            v.add_metric([ch, d], n)
        yield v
        h = HistogramMetricFamily(
            "callradar_verdict_seconds", "Time from request to verdict.", labels=["channel"]
        )
        for ch in CHANNELS:
            cum, acc = [], 0
            for bound, n in zip(
                (*map(str, LATENCY_BUCKETS), "+Inf"), self.buckets[ch], strict=True
            ):
                acc += n
                cum.append((bound, acc))
            h.add_metric([ch], cum, self.sums[ch])
        yield h
        f = CounterMetricFamily(
            "callradar_fail_open", "Verdicts answered allow by fail-open.", labels=["cause"]
        )
        for cause, n in self.fail_open.items():
            f.add_metric([cause], n)
        yield f
        m = CounterMetricFamily(
            "callradar_sip_messages", "SIP messages received.", labels=["transport", "method"]
        )
        for (tr, method), n in sorted(self.sip.items()):
            m.add_metric([tr, method], n)
        yield m


class Metrics:
    def __init__(self, stats: Callable[[], dict[str, int]] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._hot = _HotPath()
        r.register(self._hot)
        self.errors = Counter("callradar_errors", "Internal errors.", ["where"], registry=r)
        self.sip_dropped = Counter(
            "callradar_sip_dropped", "SIP messages dropped unanswered.", ["reason"], registry=r
        )
        self.records = Counter(
            "callradar_records", "Records received.", ["kind", "outcome"], registry=r
        )
        if stats is not None:
            r.register(_StateCollector(stats))

    def verdict(self, channel: str, decision: str, seconds: float, failed_open: str = "") -> None:
        """Count one answered verdict (call on the event loop thread)."""
        hot = self._hot
        hot.verdicts[(channel, decision)] += 1
        hot.buckets[channel][bisect_left(LATENCY_BUCKETS, seconds)] += 1
        hot.sums[channel] += seconds
        if failed_open:
            hot.fail_open[failed_open] += 1

    def sip_message(self, transport: str, method: str) -> None:
        key = (transport, method)
        sip = self._hot.sip
        sip[key] = sip.get(key, 0) + 1

    def render(self) -> bytes:
        return generate_latest(self.registry)
