"""The attacker: outbound "AI pre-screening" vendors, their campaigns and rotating numbers.

Each vendor holds a target list (a share of the city, in numeric order or
shuffled) and per-target state (next due day, dials in the current round,
round, refused). A day's work is the due redials first, then fresh targets from
a sweep cursor, up to the vendor's daily volume. Targets are split among the
vendor's clients by slices of the list; every (vendor, client) pair is a
campaign with its own recorded prompt and its own numbers, which cut the day's
calls into contiguous slices and retire after a budget of calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from callradar.simulate import numbers as nb
from callradar.simulate.calls import Chunk, bounded, hour_factor, unanswered
from callradar.simulate.scenario import Scenario
from callradar.simulate.world import (
    CALLEE_HANGUP,
    CALLER_HANGUP,
    KIND,
    Catalog,
    City,
    business_names,
    vendor_name,
)

REFUSAL_SOURCES = ("agent", "ivr", "app")


@dataclass
class DayEvents:
    """What a vendor's day produced besides the calls."""

    refusal_ms: np.ndarray
    refusal_callee: np.ndarray  # citizen index
    refusal_caller: np.ndarray  # E.164 digits
    refusal_source: np.ndarray  # index into REFUSAL_SOURCES
    # answered campaign calls that lead to a complaint
    complaint_ms: np.ndarray
    complaint_callee: np.ndarray
    complaint_caller: np.ndarray
    complaint_campaign: np.ndarray
    complaint_refused: np.ndarray  # the citizen had refused before


class Vendor:
    def __init__(
        self,
        idx: int,
        sc: Scenario,
        seed: int,
        city: City,
        catalog: Catalog,
        clients: list[tuple[str, str]],
        allocators: dict[str, nb.UnitAllocator],
        reseller_trunks: list[list[int]],
    ) -> None:
        rng = np.random.default_rng([seed, 100, idx])
        self.idx = idx
        self.sc = sc
        self.name = vendor_name(idx)
        self.code = f"V{idx + 1}"
        n = city.n
        self.volume = round(rng.uniform(sc["vendors.volume_min"], sc["vendors.volume_max"]) * n)
        share = rng.uniform(sc["vendors.target_share_min"], sc["vendors.target_share_max"])
        size = max(1, round(share * n))
        chosen = np.sort(rng.choice(n, size, replace=False)) if size < n else np.arange(n)
        self.numeric = bool(rng.random() < sc["vendors.numeric_sweep_share"])
        self.targets = (chosen if self.numeric else rng.permutation(chosen)).astype(np.int32)
        self.next_due = np.zeros(size, dtype=np.int16)
        self.dials = np.zeros(size, dtype=np.uint8)
        self.round = np.zeros(size, dtype=np.uint8)
        self.refused = np.zeros(size, dtype=bool)
        self.cursor = 0
        self.ignore_prob = (
            float(sc["vendors.ignore_refusal_prob"])
            if rng.random() < sc["vendors.ignore_refusal_share"]
            else 0.0
        )
        self.campaigns: list[int] = []
        for j, (client, category) in enumerate(clients):
            prompt = round(
                float(rng.uniform(sc["vendors.prompt_min"], sc["vendors.prompt_max"])), 1
            )
            self.campaigns.append(
                catalog.add_campaign(f"{self.code}-C{j + 1}", self.name, client, category, prompt)
            )
        self.prompt = np.asarray([catalog.campaign_prompt[c] for c in self.campaigns])
        # Trunks: a few trunks of one or two resellers.
        n_tr = int(rng.integers(sc["vendors.trunks_min"], sc["vendors.trunks_max"] + 1))
        pool = [t for r in rng.permutation(len(reseller_trunks))[:2] for t in reseller_trunks[r]]
        pool_arr = np.asarray(pool, dtype=np.int16)
        self.trunks = rng.choice(pool_arr, min(n_tr, len(pool_arr)), replace=False)
        self.sim_farm = bool(sc["vendors.sim_farm"])
        self.land = nb.NumberStream(allocators["landline"])
        self.virt = nb.NumberStream(allocators["virtual"])
        # Active numbers (carried across days): number, remaining budget, trunk, campaign slot.
        self.act_num = np.empty(0, dtype=np.int64)
        self.act_left = np.empty(0, dtype=np.int64)
        self.act_trunk = np.empty(0, dtype=np.int16)
        self.act_slot = np.empty(0, dtype=np.int64)

    # ------------------------------------------------------------------ numbers -------
    def _new_numbers(
        self, m: int, rng: np.random.Generator, city: City
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.sim_farm:
            nums = city.new_mobiles(m)
            return nums, city.trunk_for(nums, rng)
        is_land = rng.random(m) < self.sc["vendors.landline_share"]
        nums = np.empty(m, dtype=np.int64)
        nums[is_land] = self.land.take(int(is_land.sum()), rng)
        nums[~is_land] = self.virt.take(int((~is_land).sum()), rng)
        return nums, rng.choice(self.trunks, m)

    def _assign_numbers(
        self, slot: int, m: int, rng: np.random.Generator, city: City
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Number, trunk and rank-within-number of ``m`` calls of one campaign today."""
        cap = int(self.sc["vendors.number_daily_cap"]) or 10**9
        lo, hi = int(self.sc["vendors.number_calls_min"]), int(self.sc["vendors.number_calls_max"])
        mine = np.flatnonzero(self.act_slot == slot)
        nums = [self.act_num[mine]]
        trunks = [self.act_trunk[mine]]
        budgets = [self.act_left[mine]]
        have = int(np.minimum(self.act_left[mine], cap).sum())
        while have < m:
            k = max(8, int(1.2 * (m - have) / min(cap, (lo + hi) / 2)) + 1)
            b = rng.integers(lo, hi + 1, k)
            num, tr = self._new_numbers(k, rng, city)
            nums.append(num)
            trunks.append(tr)
            budgets.append(b)
            have += int(np.minimum(b, cap).sum())
        num_a = np.concatenate(nums)
        tr_a = np.concatenate(trunks)
        left = np.concatenate(budgets)
        today = np.minimum(left, cap)
        ends = np.cumsum(today)
        used_n = int(np.searchsorted(ends, m) + 1)  # numbers that place calls today
        today[used_n:] = 0
        today[used_n - 1] -= int(ends[used_n - 1] - m)
        left = left - today
        which = np.repeat(np.arange(len(num_a)), today)
        starts = np.concatenate([[0], np.cumsum(today)[:-1]])
        rank = np.arange(m) - starts[which]
        keep = left > 0
        # Replace this slot's active numbers by those with budget left.
        other = self.act_slot != slot
        self.act_num = np.concatenate([self.act_num[other], num_a[keep]])
        self.act_left = np.concatenate([self.act_left[other], left[keep]])
        self.act_trunk = np.concatenate([self.act_trunk[other], tr_a[keep]])
        self.act_slot = np.concatenate([self.act_slot[other], np.full(int(keep.sum()), slot)])
        return num_a[which], tr_a[which], rank

    # ------------------------------------------------------------------ a day ---------
    def plan(self, day: int) -> np.ndarray:
        """Positions in the target list to dial today (redials first, then the sweep)."""
        ok = (self.next_due <= day) & ~self.refused
        redial = np.flatnonzero(ok & (self.dials > 0))[: self.volume]
        room = self.volume - len(redial)
        fresh = np.flatnonzero(ok & (self.dials == 0))
        if room > 0 and len(fresh):
            start = int(np.searchsorted(fresh, self.cursor))
            fresh = np.roll(fresh, -start)[:room]
            self.cursor = int(fresh[-1]) + 1 if len(fresh) else self.cursor
        else:
            fresh = fresh[:0]
        return np.concatenate([redial, fresh])

    def day(
        self,
        day: int,
        day_ms: int,
        rng: np.random.Generator,
        city: City,
        refused_any: np.ndarray,
    ) -> tuple[Chunk, DayEvents]:
        sc = self.sc
        pos = self.plan(day)
        nc = len(self.campaigns)
        # Clients get slices of the list, each slice about half a day's work.
        piece = max(10, self.volume // (2 * nc))
        slot = ((pos // piece + self.round[pos]) % nc).astype(np.int64)
        order = np.lexsort((pos, slot))
        pos, slot = pos[order], slot[order]
        m = len(pos)
        caller = np.empty(m, dtype=np.int64)
        trunk = np.empty(m, dtype=np.int16)
        rank = np.empty(m, dtype=np.int64)
        bounds = np.searchsorted(slot, np.arange(nc + 1))
        for s in range(nc):
            a, b = int(bounds[s]), int(bounds[s + 1])
            if b > a:
                caller[a:b], trunk[a:b], rank[a:b] = self._assign_numbers(s, b - a, rng, city)
        # Times: each number starts at a random time and dials its slice one after another.
        gap = float(sc["vendors.number_gap"])
        h0, h1 = int(sc["vendors.hour_start"]) * 3600, int(sc["vendors.hour_end"]) * 3600
        new_number = np.concatenate([[True], (caller[1:] != caller[:-1])])
        run = np.cumsum(new_number) - 1
        run_len = np.bincount(run)
        span = np.maximum(h1 - h0 - run_len * gap, 1.0)
        run_start = h0 + rng.random(len(run_len)) * span
        sec = run_start[run] + rank * gap + rng.random(m) * gap * 0.6
        sec = np.minimum(sec, 86_399.0)
        hour = (sec // 3600).astype(np.int64)
        start_ms = day_ms + (sec * 1000).astype(np.int64)
        callee_idx = self.targets[pos].astype(np.int64)
        callee = city.numbers[callee_idx]
        camp = np.asarray(self.campaigns, dtype=np.int16)[slot]
        if sc["vendors.prompt_random_per_call"]:
            prompt = np.round(rng.uniform(sc["vendors.prompt_min"], sc["vendors.prompt_max"], m), 1)
        else:
            prompt = self.prompt[slot]
        # Answer rates: local-looking numbers are answered more.
        if self.sim_farm:
            p = np.full(m, float(sc["vendors.answer_mobile"]))
        else:
            p = np.where(caller < 10**12, sc["vendors.answer_local"], sc["vendors.answer_other"])
        honeypot = city.honeypot[callee_idx]  # answers every call, says nothing
        answered = (rng.random(m) < p * hour_factor(hour)) | honeypot
        ring, reason = unanswered(rng, m)
        ring = np.where(answered, rng.uniform(3.0, 15.0, m), ring)
        u = rng.random(m)
        in_prompt = answered & (u < sc["vendors.hangup_in_prompt"]) & ~honeypot
        rest = answered & ~in_prompt
        speak = rest & (rng.random(m) < sc["vendors.speak"]) & ~honeypot
        silent = rest & ~speak
        ivr = in_prompt & (rng.random(m) < sc["vendors.ivr_share"])
        agent_refuse = speak & (rng.random(m) < sc["vendors.refuse"])
        talk: np.ndarray = np.zeros(m)
        heard = rng.uniform(1.0, 1.0 + np.maximum(prompt - 1.0, 0.1))
        talk = np.where(in_prompt, heard, talk)
        talk = np.where(silent, prompt + rng.normal(0.0, 0.12, m).clip(-0.3, 0.3), talk)
        agent_talk = np.where(
            agent_refuse,
            heard + rng.uniform(4.0, 20.0, m),
            bounded(60.0 * np.exp(0.8 * rng.standard_normal(m)), 20.0, 300.0),
        )
        talk = np.where(speak, agent_talk, talk)
        reason = np.where(in_prompt & ~ivr, CALLEE_HANGUP, reason)
        reason = np.where(ivr | silent, CALLER_HANGUP, reason)
        reason = np.where(agent_refuse, CALLEE_HANGUP, reason)
        conv = speak & ~agent_refuse
        reason = np.where(
            conv, np.where(rng.random(m) < 0.5, CALLER_HANGUP, CALLEE_HANGUP), reason
        ).astype(np.int8)
        ring = np.round(ring, 1)
        talk = np.round(np.where(answered, np.maximum(talk, 0.5), 0.0), 1)
        chunk = Chunk(
            start_ms=start_ms,
            caller=caller,
            callee=callee,
            trunk=trunk,
            ring=ring,
            answered=answered,
            talk=talk,
            end_reason=reason,
            kind=np.full(m, KIND["campaign"], dtype=np.int8),
            campaign=camp,
            in_registry=np.zeros(m, dtype=bool),
        )
        end_ms = start_ms + ((ring + talk) * 1000).astype(np.int64)
        # Refusals: by key press (ivr), to the agent, or later in a phone app.
        app = answered & ~ivr & ~agent_refuse & (rng.random(m) < sc["vendors.app_refusal"])
        refusing = ivr | agent_refuse | app
        src = np.where(ivr, 1, np.where(agent_refuse, 0, 2))
        r_ms = np.where(app, end_ms + rng.integers(10_000, 900_000, m), end_ms - 500)
        r_ms = np.minimum(r_ms, day_ms + 86_399_999)
        r_idx = np.flatnonzero(refusing)
        # Complaints come from answered calls; more often when the citizen had refused before.
        before = refused_any[callee_idx]
        pc = np.where(before, sc["citizens.complaint_rate_refused"], sc["citizens.complaint_rate"])
        comp = answered & (rng.random(m) < pc)
        c_idx = np.flatnonzero(comp)
        delay = rng.uniform(300.0, 3600.0 * float(sc["citizens.complaint_delay_max"]), len(c_idx))
        c_ms = np.minimum(end_ms[c_idx] + (delay * 1000).astype(np.int64), day_ms + 86_399_000)
        events = DayEvents(
            refusal_ms=r_ms[r_idx],
            refusal_callee=callee_idx[r_idx],
            refusal_caller=caller[r_idx],
            refusal_source=src[r_idx],
            complaint_ms=c_ms,
            complaint_callee=callee_idx[c_idx],
            complaint_caller=caller[c_idx],
            complaint_campaign=camp[c_idx],
            complaint_refused=before[c_idx],
        )
        # State for the next days: redial in 2-3 days; after max_dials rest, then next client.
        refused_any[callee_idx[r_idx]] = True
        honour = refusing & (rng.random(m) >= self.ignore_prob)
        self.refused[pos[honour]] = True
        d = self.dials[pos].astype(np.int64) + 1
        done = d >= int(sc["vendors.max_dials"])
        gap_days = rng.integers(sc["vendors.redial_days_min"], sc["vendors.redial_days_max"] + 1, m)
        self.next_due[pos] = np.where(done, day + int(sc["vendors.rest_days"]), day + gap_days)
        self.dials[pos] = np.where(done, 0, d).astype(np.uint8)
        self.round[pos] = (self.round[pos] + done).astype(np.uint8)
        return chunk, events


def make_vendors(
    sc: Scenario,
    seed: int,
    city: City,
    catalog: Catalog,
    allocators: dict[str, nb.UnitAllocator],
    reseller_trunks: list[list[int]],
) -> list[Vendor]:
    rng = np.random.default_rng([seed, 99])
    count = int(sc["vendors.count"])
    lo, hi = int(sc["vendors.clients_min"]), int(sc["vendors.clients_max"])
    n_clients = [int(rng.integers(lo, hi + 1)) for _ in range(count)]
    # A pool of businesses; clinics buy from more than one vendor, so pools overlap.
    pool = business_names(rng, max(4, int(sum(n_clients) * 0.7)))
    vendors = []
    for i in range(count):
        pick = rng.choice(len(pool), min(n_clients[i], len(pool)), replace=False)
        clients = [pool[int(j)] for j in pick]
        vendors.append(Vendor(i, sc, seed, city, catalog, clients, allocators, reseller_trunks))
    return vendors
