"""The verdict engine: decides one call at setup time from live state.

The engine holds what a screening service in the call path knows:

* what the batch stages learned (``number_scores``, ``campaigns``,
  ``campaign_numbers``, the registry, the blocks and trunks campaigns use);
* what it has seen since: every INVITE it screened (setup fields only), every
  finished call record (:meth:`Engine.call_ended`), refusals and complaints.

For a call it combines, per caller number:

1. a known campaign number: the campaign's score, its id;
2. an unknown number: evidence from its allocation block (other numbers of the
   block linked to a campaign), its ingress trunk (share of the trunk's traffic
   that campaigns placed), and its behaviour so far (burst of INVITEs to
   distinct callees, numeric sweep order, machine-regular gaps, ended calls
   whose talk time sits at a known prompt length), scored by
   :class:`callradar.protect.online.OnlineScorer`;
3. refusal memory: a citizen who refused any number of a campaign refused the
   campaign;
4. campaigns found to be one during the day: a number that re-dials one
   campaign's slice of the target list and, straight after, another's joins the
   two (:mod:`callradar.protect.aliases`), for the ids reported and for refusals.

The decision itself is the policy's (:mod:`callradar.protect.policy`).
:class:`Guard` wraps the engine so that errors and late answers allow the
call (fail open).
"""

from __future__ import annotations

import bisect
import logging
import math
import time as _time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from callradar.config import Config
from callradar.protect.activity import (
    NumberActivity,
    gap_cv,
    playing,
    plays,
    redial_share,
    slice_of,
)
from callradar.protect.aliases import Aliases
from callradar.protect.online import ONLINE_FEATURES, OnlineScorer
from callradar.protect.policy import ALLOW, Policy

log = logging.getLogger("callradar.protect")


@dataclass(frozen=True, slots=True)
class CallSetup:
    """The fields a screening service sees in an INVITE. ``time`` is epoch seconds."""

    call_id: str
    caller: str
    callee: str
    trunk: str
    time: float


@dataclass(slots=True)
class Verdict:
    decision: str
    score: float
    campaign_id: str
    reason: str
    failed_open: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "score": round(self.score, 4),
            "campaign_id": self.campaign_id,
            "reason": self.reason,
        }


def range_key(number: str, kind: str, block: str) -> str:
    """The 1000-number range a fixed line was sold in (resellers sell consecutive ranges);
    for other kinds the allocation block itself."""
    if kind == "fixed_line" and len(number) > 4:
        return number[:-3]
    return block


def _share(dist: dict[str, int] | None, seen: int, own: int = 0) -> float:
    """Share of the numbers (or calls) seen that belong to campaigns, ``own`` left out."""
    if not dist or seen - own <= 0:
        return 0.0
    return min(1.0, max(0, sum(dist.values()) - own) / (seen - own))


@dataclass(slots=True)
class Knowledge:
    """Batch-learned state, loaded from the store (or built in tests)."""

    registry: dict[str, str] = field(default_factory=dict)
    number_score: dict[str, float] = field(default_factory=dict)
    number_reason: dict[str, str] = field(default_factory=dict)
    number_campaign: dict[str, str] = field(default_factory=dict)
    campaign_score: dict[str, float] = field(default_factory=dict)
    campaign_prompt: dict[str, float] = field(default_factory=dict)
    block_of: dict[str, str] = field(default_factory=dict)
    kind_of: dict[str, str] = field(default_factory=dict)
    # campaign -> count, per allocation block (numbers), per 1000-number range
    # (numbers) and per ingress trunk (calls); and how many numbers / calls were
    # seen there in all, so that a share can be told from a count
    block_campaigns: dict[str, dict[str, int]] = field(default_factory=dict)
    block_seen: dict[str, int] = field(default_factory=dict)
    range_campaigns: dict[str, dict[str, int]] = field(default_factory=dict)
    range_seen: dict[str, int] = field(default_factory=dict)
    trunk_campaigns: dict[str, dict[str, int]] = field(default_factory=dict)
    trunk_seen: dict[str, int] = field(default_factory=dict)
    # citizen -> campaigns that dialled them lately (a campaign re-dials its target slice)
    callee_campaigns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    known_legit: set[str] = field(default_factory=set)
    # calls each caller number has received (history, then live): reciprocity
    received: dict[str, int] = field(default_factory=dict)
    refused: dict[str, set[str]] = field(default_factory=dict)
    refused_numbers: dict[str, set[str]] = field(default_factory=dict)
    # campaign -> its vendor (campaigns whose landline or virtual numbers share a range
    # or block: one vendor's lines, several clients); a campaign alone is its own
    vendor_of: dict[str, str] = field(default_factory=dict)


class Engine:
    """Decides calls at setup and keeps its live state current."""

    def __init__(
        self,
        knowledge: Knowledge | None = None,
        scorer: OnlineScorer | None = None,
        policy: Policy | None = None,
        config: Config | None = None,
        learn_live: bool = True,
        fast_path: bool = True,
    ) -> None:
        self.config = config or Config()
        self.learn_live = learn_live
        self.fast_path = fast_path
        self._live_campaign: set[str] = set()
        self.k = knowledge or Knowledge()
        self.scorer = scorer or OnlineScorer.default()
        self.policy = policy or Policy.from_config(self.config)
        self.activity: dict[str, NumberActivity] = {}
        self.provisional: dict[str, str] = {}
        self.window = float(self.config.get("protect.burst_window_s"))
        self.prompt_tolerance = float(self.config.get("protect.prompt_tolerance_s"))
        self.fast_path_calls = int(self.config.get("protect.fast_path_calls"))
        self.slice_share = float(self.config.get("protect.refused_slice_share"))
        self.recent_slice_callees = int(self.config.get("protect.recent_slice_callees"))
        self.recent_slice_min = int(self.config.get("protect.recent_slice_min"))
        self._prompts = sorted(set(self.k.campaign_prompt.values()))
        # per range, the numbers decided as one campaign's today, in number order
        self._runs: dict[str, list[tuple[int, str]]] = {}
        self.run_gap = int(self.config.get("campaigns.run_max_gap"))
        self.merge_slices = bool(self.config.get("protect.merge_slices"))
        self.merge_min = int(self.config.get("campaigns.callee_min_shared"))
        self.merge_run_share = float(self.config.get("campaigns.callee_min_run_share"))
        self.merge_max_gap = int(self.config.get("protect.merge_max_gap"))
        self.aliases = Aliases(dict(Counter(self.k.number_campaign.values())))
        self._farm: dict[str, int] | None = None

    # -- construction -----------------------------------------------------
    @classmethod
    def from_store(cls, store: Any, config: Config | None = None) -> Engine:
        from callradar.protect.state import load_knowledge, load_scorer

        cfg = config or store.config
        return cls(load_knowledge(store, cfg), load_scorer(store), Policy.from_config(cfg), cfg)

    def classify(self, numbers: list[str]) -> None:
        """Pre-classify numbers (kind, block) in one vectorized call, for speed."""
        todo = [n for n in set(numbers) if n not in self.k.kind_of]
        if not todo:
            return
        from callradar.numbering import classify

        table = classify(todo)
        for num, kind, block in zip(
            table.column("number").to_pylist(),
            table.column("kind").to_pylist(),
            table.column("block").to_pylist(),
            strict=True,
        ):
            self.k.kind_of[num] = kind or ""
            self.k.block_of[num] = block or ""

    # -- live updates -----------------------------------------------------
    def call_ended(
        self, caller: str, callee: str, answered: bool, talk_seconds: float, end_time: float
    ) -> None:
        """A call record arrived (the call has ended): update the caller's behaviour."""
        act = self.activity.get(caller)
        if act is None:
            return
        act.ended += 1
        if answered:
            act.answered += 1
            if len(act.talks) < 32:
                act.talks.append(talk_seconds)
                act.prompt_stale = True
            if self._near_prompt(talk_seconds):
                act.prompt_like += 1
            if talk_seconds >= 45:
                act.long_talk += 1

    def add_refusal(self, callee: str, caller: str, time: float | None = None) -> str:
        """The callee refused the caller: remember it for the caller's whole campaign."""
        self.k.refused_numbers.setdefault(callee, set()).add(caller)
        campaign = self.k.number_campaign.get(caller) or self.provisional.get(caller, "")
        if campaign:
            campaign = self.aliases.resolve(campaign)
            self.k.refused.setdefault(callee, set()).update(self.aliases.members(campaign))
        return campaign

    def add_complaint(
        self, complainant: str, numbers: list[str], refused_before: bool
    ) -> list[str]:
        """A complaint about numbers is the strongest refusal there is: the citizen refuses
        each named number's whole campaign. ``refused_before`` (the text says the citizen had
        refused already) is kept for evidence; it does not change what is remembered."""
        campaigns: list[str] = []
        for num in numbers:
            c = self.add_refusal(complainant, num)
            if c:
                campaigns.append(c)
        return campaigns

    # -- the verdict -----------------------------------------------------
    def decide(self, call: CallSetup) -> Verdict:
        caller, callee = call.caller, call.callee
        act = self._observe(call)
        if caller in self.k.registry:
            score = self.k.number_score.get(caller, 0.0)
            decision = self.policy.decide(score, in_registry=True)
            return Verdict(decision, score, "", f"registered number of {self.k.registry[caller]}")
        k = self.k
        if act.light and len(act.recent) <= self.fast_path_calls:
            # the day-level model found this number clean; a few calls within the window
            # do not change that (a burst does: it goes through the full scoring)
            score = k.number_score.get(caller, 0.0)
            if not k.refused_numbers.get(callee) or caller not in k.refused_numbers[callee]:
                return Verdict(ALLOW, score, "", "known number with a clean history")
        campaign = self.k.number_campaign.get(caller, "")
        if campaign:
            score = max(
                self.k.number_score.get(caller, 0.0), self.k.campaign_score.get(campaign, 0.0)
            )
            campaign = self.aliases.resolve(campaign)
            reason = f"number of campaign {campaign}"
            base = self.k.number_reason.get(caller)
            if base:
                reason += f" ({base})"
        else:
            score, campaign, reason = self._score_unknown(call, act)
        refused_what = self._refused(caller, callee, act, campaign, score)
        decision = self.policy.decide(
            score, refused=bool(refused_what), online=caller not in self.k.number_campaign
        )
        if refused_what:
            reason += f"; callee refused {refused_what} before"
        if campaign:
            reported = self.aliases.reported
            reported[campaign] = reported.get(campaign, 0) + 1
        return Verdict(decision, score, campaign, reason)

    # -- internals --------------------------------------------------------
    def _refused(
        self, caller: str, callee: str, act: NumberActivity, campaign: str, score: float
    ) -> str:
        """What the callee refused before that this call falls under, or "". Rules in
        order: the call's campaign, best guess or candidates; then, for a suspect call
        (``protect.refused_threshold``), the slice it re-dials, its range or vendor, and
        any campaign at all for a number never seen before; last, this very number."""
        refusals = self.k.refused.get(callee)
        if refusals:
            # the reported campaign, or any campaign the number may still turn out to be
            # (its vendor's others, before the evidence tells them apart)
            guesses = (campaign, self.provisional.get(caller, ""), *act.candidates)
            hit = next((c for c in guesses if c and c in refusals), "")
            if hit:
                return hit
            if score >= self.policy.refused_threshold:
                hit = self._refused_slice(act, refusals) or self._refused_vendor(
                    caller, guesses, refusals
                )
                if hit:
                    return hit
                if caller not in self.k.number_score:
                    # a number never seen before that already looks like campaign
                    # traffic, calling a citizen who refused a campaign: most likely that
                    # campaign on a fresh line its linking cannot name yet
                    return "a campaign (" + ", ".join(sorted(refusals)[:3]) + ")"
        return "this number" if caller in self.k.refused_numbers.get(callee, ()) else ""

    def _refused_slice(self, act: NumberActivity, refusals: set[str]) -> str:
        """A refused campaign whose slice the number re-dials: a suspect dialling that
        campaign's citizens today is that campaign on a line its linking has not joined
        yet (or a vendor sharing its list). Counted over all its callees so far, or over
        its last ones: a sweep moves on from one client's part of the list to the next."""
        votes = act.callee_votes
        least = max(5.0, self.slice_share * len(act.callees))
        recent = act.recent_slices  # None until its first call past the fast path
        full = recent if recent is not None and len(recent) == recent.maxlen else ()
        for c in sorted(refusals):
            if votes.get(c, 0) >= least or (
                full and sum(c in r for r in full) >= self.recent_slice_min
            ):
                return f"{c} (its slice)"
        return ""

    def _refused_vendor(self, caller: str, guesses: tuple[str, ...], refusals: set[str]) -> str:
        """A refused campaign this suspect call may belong to beyond its own id: one its
        range names, or one of the same vendor. Rotating numbers split a campaign into
        several ids before linking joins them, and a vendor's ranges carry all its
        clients; a citizen who refused one of them wants none of its dialer's calls."""
        lines = self._lines(caller)
        for _label, _key, dist, _seen in lines:
            hit = next((c for c in dist or () if c in refusals), "")
            if hit:
                return hit
        vendor_of = self.k.vendor_of
        if not vendor_of:
            return ""
        refused_vendors = {vendor_of.get(c, c): c for c in sorted(refusals)}
        for c in (*guesses, *(c for _l, _k, dist, _s in lines for c in dist or ())):
            hit = refused_vendors.get(vendor_of.get(c, c), "") if c else ""
            if hit:
                return f"{hit} (same vendor as {c})"
        return ""

    def _observe(self, call: CallSetup) -> NumberActivity:
        act = self.activity.get(call.caller)
        if act is None:
            light = self.fast_path and call.caller in self.k.known_legit
            act = NumberActivity(first_seen=call.time, light=light)
            self.activity[call.caller] = act
            if self.learn_live and call.caller not in self.k.number_score:
                k = self.k
                block = k.block_of.get(call.caller, "")
                rng = range_key(call.caller, k.kind_of.get(call.caller, ""), block)
                if block:
                    k.block_seen[block] = k.block_seen.get(block, 0) + 1
                if rng:
                    k.range_seen[rng] = k.range_seen.get(rng, 0) + 1
        act.n_invites += 1
        t = call.time
        recent = act.recent
        recent.append(t)
        while t - recent[0] > self.window:
            del recent[0]  # a list: most numbers hold one or two times
        # reciprocity: a call to a number that itself calls
        received = self.k.received
        if call.callee in received or call.callee in self.activity:
            received[call.callee] = received.get(call.callee, 0) + 1
        if act.light:
            # a number with a clean history is only counted until it bursts
            if len(recent) <= self.fast_path_calls:
                return act
            act.light = False
        gaps, slices = act.sequence(self.recent_slice_callees)
        if act.last_invite >= 0:
            gap = t - act.last_invite
            if len(gaps) == gaps.maxlen:
                old = gaps[0]
                act.gap_sum -= old
                act.gap_sumsq -= old * old
            gaps.append(gap)
            act.gap_sum += gap
            act.gap_sumsq += gap * gap
        act.last_invite = t
        if call.callee not in act.callees:  # a citizen called twice is one vote
            dialled_by = self.k.callee_campaigns.get(call.callee, ())
            place = len(act.callees)
            for c in dialled_by:
                votes = act.callee_votes[c] = act.callee_votes.get(c, 0) + 1
                span = act.slice_span.get(c)
                act.slice_span[c] = (place if span is None else span[0], place)
                if votes >= self.merge_min and self.merge_slices:
                    self._merge_slices(call, act, c)
            slices.append(dialled_by)
            act.callees.add(call.callee)
        digits = call.callee[-8:]
        value = int(digits) if digits.isdigit() else -1
        if act.last_callee >= 0 and value > act.last_callee:
            act.ascending += 1
        act.last_callee = value
        return act

    def _merge_slices(self, call: CallSetup, act: NumberActivity, b: str) -> None:
        """The number re-dials campaign ``b``'s slice in list order (the re-dial rule of the
        batch linking, ``campaigns.callee_min_*``, on one number's calls in order):

        * right where it stopped re-dialling another campaign's slice: one dialer sweeping
          one list, so one campaign, unless their prompts clearly differ. SIM-farm lines
          only: a vendor's landline and virtual ranges carry all its clients, whose
          slices of one list meet (the linking has ranges and runs there);
        * while it is a line linked to another campaign: its dialer carried it over into
          today, where it re-dials its campaign's list first. Its prompt must be ``b``'s
          (its own answered calls name it or show ``b``'s, :func:`plays`; else its
          campaign's): a vendor's next client round re-dials the last client's citizens,
          and another vendor's numeric sweep can cross the same few citizens. Where
          neither the line nor its campaign was heard, only a line that was its
          campaign's only one moves, and only after twice ``campaigns.callee_min_shared``
          of ``b``'s citizens. When either campaign is a single line, the two join (one
          line re-dialling another's slice); otherwise only a SIM-farm line moves (its
          batch link may be the error); a landline's or virtual line's is backed by its
          range's other lines.
        """
        farm = self.k.kind_of.get(call.caller) == "mobile"
        own = self.k.number_campaign.get(call.caller, "")
        other = bool(own) and self.aliases.resolve(own) != self.aliases.resolve(b)
        if not farm and not other:
            return  # the common case: a line re-dialling its own campaign's slice
        votes = act.callee_votes
        first_b, last_b = act.slice_span[b]
        if votes[b] < self.merge_run_share * (last_b - first_b + 1):
            return  # another vendor crossing the same stretch interleaves its own citizens
        prompts = self.k.campaign_prompt
        tol = self.prompt_tolerance
        pb = prompts.get(b)
        for a, (first_a, last_a) in act.slice_span.items() if farm else ():
            if (
                a == b
                or votes[a] < self.merge_min
                or not 0 < first_b - last_a <= self.merge_max_gap
                or votes[a] < self.merge_run_share * (last_a - first_a + 1)
            ):
                continue
            pa = prompts.get(a)
            if pa is not None and pb is not None and abs(pa - pb) > tol:
                continue
            self._merge(call, a, b, (votes[a], votes[b]))
        if not other or pb is None:
            return
        heard = act.own_prompt(tol)
        if heard is None:
            heard = pb if plays(act.talks, pb, tol) else prompts.get(own)
        lone = self.aliases.numbers(own) <= 1
        if heard is None:
            if not lone or votes[b] < 2 * self.merge_min:
                return  # nothing heard yet: only a long re-dial moves a lone line
        elif abs(heard - pb) > tol:
            return
        if lone or self.aliases.numbers(b) <= 1:
            self._merge(call, own, b, (0, votes[b]))
        elif not farm:
            return  # its range's lines back its batch link; ``b``'s citizens may be mixed
        self.k.number_campaign[call.caller] = b

    def _merge(self, call: CallSetup, a: str, b: str, callees: tuple[int, int]) -> None:
        if self.aliases.merge(a, b, time=call.time, number=call.caller, callees=callees):
            self._refusals_merged(b)

    def _refusals_merged(self, campaign: str) -> None:
        """A citizen who refused one id of a merged campaign refused them all."""
        members = self.aliases.members(campaign)
        every = set(members)
        for refused in self.k.refused.values():
            if not every <= refused and not every.isdisjoint(refused):
                refused.update(members)

    def _near_prompt(self, talk: float) -> bool:
        prompts = self._prompts
        i = bisect.bisect_left(prompts, talk - self.prompt_tolerance)
        return i < len(prompts) and prompts[i] <= talk + self.prompt_tolerance

    def _lines(self, caller: str) -> list[tuple[str, str, dict[str, int] | None, int]]:
        """The caller's allocation block and 1000-number range: (label, key, campaigns
        there, numbers seen there). A mobile block holds thousands of unrelated
        subscribers (and SIM-farm lines of any vendor): it names no campaign."""
        k = self.k
        kind = k.kind_of.get(caller, "")
        block = k.block_of.get(caller, "")
        rng = range_key(caller, kind, block)
        mobile = kind == "mobile"
        return [
            (
                "block",
                block,
                None if mobile else k.block_campaigns.get(block),
                k.block_seen.get(block, 0),
            ),
            (
                "range",
                rng,
                None if mobile else k.range_campaigns.get(rng),
                k.range_seen.get(rng, 0),
            ),
        ]

    def features(self, call: CallSetup, act: NumberActivity) -> list[float]:
        """The online feature vector of a call from an unknown number (see ONLINE_FEATURES)."""
        k = self.k
        caller = call.caller
        kind = k.kind_of.get(caller, "")
        trunk_seen = k.trunk_seen.get(call.trunk, 0)
        recent = len(act.recent)
        n = act.n_invites
        answered = act.answered
        own = 1 if caller in self._live_campaign else 0  # leave the number itself out
        block_share, range_share = (
            _share(dist, seen, own) for _label, _key, dist, seen in self._lines(caller)
        )
        return [
            1.0 if kind == "fixed_line" else 0.0,
            1.0 if kind == "virtual" else 0.0,
            1.0 if kind == "mobile" else 0.0,
            block_share,
            range_share,
            _share(k.trunk_campaigns.get(call.trunk), trunk_seen),
            math.log1p(trunk_seen),
            math.log1p(recent),
            math.log1p(n),
            len(act.callees) / n,
            act.ascending / (n - 1) if n > 1 else 0.0,
            gap_cv(act),
            act.ended and answered / act.ended,
            answered and act.prompt_like / answered,
            answered and act.long_talk / answered,
            math.log1p(act.ended),
            1.0 if caller in k.known_legit else 0.0,
            min(1.0, k.received.get(caller, 0) / (act.n_invites + 1)),
            # one citizen dialled by some campaign before is chance; several by the same
            # campaign is its slice being re-dialled
            redial_share(act),
        ]

    def assign(self, call: CallSetup, act: NumberActivity) -> tuple[str, bool, list[str]]:
        """The campaign an unknown number most likely belongs to, with the evidence.

        1. Its allocation block and 1000-number range name the vendor's campaigns (lines
           are bought in consecutive ranges); without them, the campaigns on its trunk.
        2. Among those, the campaign that dialled its callees before wins (each client
           of a vendor has its own slice of the target list, re-dialled from new numbers)
           when it clearly leads (twice the runner-up's citizens); a campaign whose slice
           most of its callees are, from any range, is a candidate for refusal memory.
        3. Once its answered calls show a prompt length, only campaigns with that prompt
           remain; if none of the candidates has it, the campaigns on its trunk that do
           (from a trunk alone, only a best guess: a reseller's trunk carries dozens of
           campaigns, and their prompt lengths collide), for a SIM-farm mobile those of
           any farm campaign (its lines come in on every operator's trunk; again a best
           guess); if none does, it is a campaign not seen before (a provisional id per
           range and prompt). Before its prompt is
           clear (three answered calls at one length), a single call that ended at
           exactly one candidate's prompt makes that one the best guess (for refusal
           memory; too little to report the id).

        Returns the campaign, whether the evidence singles it out (a vendor's range
        alone does not tell its clients apart), and the evidence.
        """
        k = self.k
        why: list[str] = []
        votes: dict[str, float] = {}
        lines = self._lines(call.caller)
        rng = lines[1][1]
        for label, key, dist, _seen in lines:
            weight = 1.0 if label == "block" else 0.5
            if dist:
                total = sum(dist.values())
                why.append(f"{label} {key} holds {total} numbers of {len(dist)} campaign(s)")
                for c, m in dist.items():
                    votes[c] = votes.get(c, 0.0) + weight * m / total
        trunk_dist = k.trunk_campaigns.get(call.trunk) or {}
        trunk_only = not votes  # a reseller's trunk: many campaigns, prompts collide
        if trunk_only and trunk_dist:
            total = sum(trunk_dist.values())
            why.append(f"trunk {call.trunk} carries {len(trunk_dist)} campaign(s)")
            votes = {c: 0.5 * m / total for c, m in trunk_dist.items()}
        act.candidates = tuple(votes)  # until the evidence singles one out
        confident = len(votes) == 1
        by_callees = False
        n = len(act.callees)
        top = slice_of(act)
        if top and top not in votes:
            # most of its callees are one campaign's slice: whatever its range says,
            # refusals of that campaign count (the id reported needs more evidence)
            act.candidates = (*act.candidates, top)
        if act.callee_votes and votes:
            best = max(votes, key=lambda c: (act.callee_votes.get(c, 0), c))
            hits = act.callee_votes.get(best, 0)
            second = max((act.callee_votes.get(c, 0) for c in votes if c != best), default=0)
            if hits >= 2 and hits >= 0.3 * n and hits >= 2 * second:
                for c in votes:
                    votes[c] += 2.0 * act.callee_votes.get(c, 0) / n
                why.append(f"{hits} of its {n} callees were dialled by {best} before")
                confident = by_callees = True
        prompt = act.own_prompt(self.prompt_tolerance)
        tol = self.prompt_tolerance
        prompts = k.campaign_prompt
        run = self._run_of(call.caller, rng)
        if run and (prompt is None or abs(prompts.get(run, prompt) - prompt) <= tol):
            # between two numbers decided as one campaign's today: a client's run of lines
            why.append(f"the numbers next to it in range {rng} are {run}'s today")
            act.candidates = (run,)
            return run, True, why
        if prompt is not None:
            matching = {c: v for c, v in votes.items() if abs(prompts.get(c, -99) - prompt) <= tol}
            if not matching and not by_callees:
                trunk_only = True
                confident = False  # whatever its lines said, they named none of these
                matching = playing(trunk_dist, prompts, prompt, tol)
                if not matching and k.kind_of.get(call.caller) == "mobile":
                    # a SIM farm's lines reach the carrier on any operator's trunk: its
                    # prompt was heard from the farm's other lines, wherever they came in
                    matching = playing(self._farm_campaigns(), prompts, prompt, tol)
            if matching:
                votes = matching
                # one prompt among a vendor's campaigns tells its clients apart; among
                # the dozens a reseller's trunk carries, a match of length is often chance
                confident = confident or (len(matching) == 1 and not trunk_only)
                why.append(f"its answered calls end at {prompt:.1f} s, that campaign's prompt")
            elif by_callees:
                pass  # the slice it re-dials says more than a prompt length shared by many
            else:
                why.append(f"its answered calls end at {prompt:.1f} s, a prompt not heard before")
                return f"N-{rng or call.caller}-{prompt:.1f}", True, why
        elif act.talks and len(votes) > 1:
            # too few answered calls for a prompt of its own: a call that ended at exactly
            # one candidate's prompt length still tells the candidates apart
            at_prompt = {
                c: sum(1 for t in act.talks if abs(prompts.get(c, -99) - t) <= tol / 2)
                for c in votes
            }
            ranked = sorted(at_prompt.values(), reverse=True)
            if ranked[0] >= 1 and ranked[1] == 0:
                best = max(at_prompt, key=at_prompt.__getitem__)
                lead = max(votes, key=lambda c: (votes[c], c))
                votes = {best: votes[best]}
                # the call agreeing with the slice it re-dials keeps that confident
                confident = by_callees and best == lead
                why.append(f"an answered call ended at {prompts[best]:.1f} s, {best}'s prompt")
        if not votes:
            return "", False, why
        best = max(votes, key=lambda c: (votes[c], c))
        if confident:
            act.candidates = (best,)
        return best, confident, why

    def _farm_campaigns(self) -> dict[str, int]:
        """Campaigns with SIM-farm lines (mobiles), and how many (computed once)."""
        if self._farm is None:
            kind = self.k.kind_of
            self._farm = dict(
                Counter(c for n, c in self.k.number_campaign.items() if kind.get(n) == "mobile")
            )
        return self._farm

    def _score_unknown(self, call: CallSetup, act: NumberActivity) -> tuple[float, str, str]:
        score = float(self.scorer.predict_proba_one(self.features(call, act)))
        k = self.k
        if score < self.policy.label_threshold:
            known = "known number" if call.caller in k.number_score else "new number"
            if score >= self.policy.refused_threshold and call.callee in k.refused:
                # the callee refused a campaign: which ones this number may be matters
                # (``act.candidates``), though no campaign is reported at this score
                self.assign(call, act)
            # most calls: nothing to explain beyond the score
            return score, "", f"{known}; no campaign evidence"
        campaign, confident, why = self.assign(call, act)
        if act.n_invites > 1:
            why.append(
                f"{act.n_invites} calls to {len(act.callees)} numbers since "
                f"{_time.strftime('%H:%M', _time.localtime(act.first_seen))}"
            )
        if act.prompt_like:
            why.append(f"{act.prompt_like} answered calls ended at a known prompt length")
        if not campaign:
            block = k.block_of.get(call.caller, "")
            campaign = "N-" + (
                range_key(call.caller, k.kind_of.get(call.caller, ""), block) or call.caller
            )
            confident = True
        else:
            campaign = self.aliases.resolve(campaign)
        # refusal memory works on the best guess; the reported id only once it is clear
        self.provisional[call.caller] = campaign
        if self.learn_live and score >= self.policy.block_threshold and confident:
            self._learn_member(call, campaign)
        if not confident:
            why.append(f"most likely {campaign}, not yet told apart from its vendor's others")
        reason = ("new number; " if call.caller not in k.number_score else "") + (
            "; ".join(why) if why else "no campaign evidence"
        )
        return score, campaign if confident else "", reason

    def _run_of(self, caller: str, rng: str) -> str:
        """The campaign of the numbers decided today just below and just above ``caller``
        in its range (each at most ``campaigns.run_max_gap`` away), when they agree."""
        run = self._runs.get(rng)
        if not run or self.k.kind_of.get(caller, "") == "mobile":
            return ""
        v = int(caller[1:]) if caller[1:].isdigit() else -1
        i = bisect.bisect_left(run, (v, ""))
        j = i + 1 if i < len(run) and run[i][0] == v else i  # itself, once decided
        if i == 0 or j >= len(run):
            return ""
        (lo, below), (hi, above) = run[i - 1], run[j]
        below, above = self.aliases.resolve(below), self.aliases.resolve(above)
        if below != above or v - lo > self.run_gap or hi - v > self.run_gap:
            return ""
        return below

    def _learn_member(self, call: CallSetup, campaign: str) -> None:
        """A number decided as campaign traffic strengthens its block and range evidence
        (and, in its range, marks its place in today's run of that campaign's lines)."""
        k = self.k
        if call.caller not in self._live_campaign:
            self._live_campaign.add(call.caller)
            block = k.block_of.get(call.caller, "")
            rng = range_key(call.caller, k.kind_of.get(call.caller, ""), block)
            if rng and call.caller[1:].isdigit() and k.kind_of.get(call.caller) != "mobile":
                bisect.insort(self._runs.setdefault(rng, []), (int(call.caller[1:]), campaign))
            for table, key in ((k.block_campaigns, block), (k.range_campaigns, rng)):
                if key:
                    dist = table.setdefault(key, {})
                    dist[campaign] = dist.get(campaign, 0) + 1

    def stats(self) -> dict[str, int]:
        return {
            "numbers_tracked": len(self.activity),
            "campaign_numbers": len(self.k.number_campaign),
            "scored_numbers": len(self.k.number_score),
            "registry_numbers": len(self.k.registry),
            "citizens_with_refusals": len(self.k.refused_numbers),
            "provisional_links": len(self.provisional),
            "campaign_merges": len(self.aliases.merges),
        }


class Guard:
    """Fail-open wrapper: an error or a verdict past the deadline allows the call."""

    def __init__(self, engine: Engine, deadline_ms: float | None = None) -> None:
        self.engine = engine
        self.deadline_ms = float(
            engine.config.get("protect.deadline_ms") if deadline_ms is None else deadline_ms
        )
        self.failed_open = {"error": 0, "deadline": 0}

    def decide(self, call: CallSetup) -> Verdict:
        start = _time.perf_counter()
        try:
            verdict = self.engine.decide(call)
        except Exception as exc:  # fail open on anything
            self.failed_open["error"] += 1
            log.exception("verdict failed for call %s; allowing (fail open)", call.call_id)
            return Verdict(
                ALLOW, 0.0, "", f"fail-open: internal error ({type(exc).__name__})", True
            )
        elapsed_ms = (_time.perf_counter() - start) * 1000.0
        if elapsed_ms > self.deadline_ms:
            self.failed_open["deadline"] += 1
            return Verdict(
                ALLOW,
                verdict.score,
                verdict.campaign_id,
                f"fail-open: verdict took {elapsed_ms:.1f} ms > {self.deadline_ms:.0f} ms",
                True,
            )
        return verdict


__all__ = ["ONLINE_FEATURES", "CallSetup", "Engine", "Guard", "Knowledge", "Verdict"]
