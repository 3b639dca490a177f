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
   campaign.

The decision itself is the policy's (:mod:`callradar.protect.policy`).
:class:`Guard` wraps the engine so that errors and late answers allow the
call (fail open).
"""

from __future__ import annotations

import itertools
import logging
import math
import time as _time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from callradar.config import Config
from callradar.protect.online import ONLINE_FEATURES, OnlineScorer
from callradar.protect.policy import ALLOW, BLOCK, Policy

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


@dataclass(slots=True)
class NumberActivity:
    """What the engine has seen of one caller number since it started."""

    first_seen: float
    invites: deque[float] = field(default_factory=lambda: deque(maxlen=64))
    n_invites: int = 0
    callees: set[str] = field(default_factory=set)
    last_callee: int = -1
    ascending: int = 0
    ended: int = 0
    answered: int = 0
    prompt_like: int = 0
    long_talk: int = 0
    talks: list[float] = field(default_factory=list)


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
    block_campaign: dict[str, tuple[str, float, int]] = field(default_factory=dict)
    trunk_campaign: dict[str, tuple[str, float, float, int]] = field(default_factory=dict)
    known_legit: set[str] = field(default_factory=set)
    called_back: set[str] = field(default_factory=set)
    refused: dict[str, set[str]] = field(default_factory=dict)
    refused_numbers: dict[str, set[str]] = field(default_factory=dict)


class Engine:
    """Decides calls at setup and keeps its live state current."""

    def __init__(
        self,
        knowledge: Knowledge | None = None,
        scorer: OnlineScorer | None = None,
        policy: Policy | None = None,
        config: Config | None = None,
    ) -> None:
        self.config = config or Config()
        self.k = knowledge or Knowledge()
        self.scorer = scorer or OnlineScorer.default()
        self.policy = policy or Policy.from_config(self.config)
        self.activity: dict[str, NumberActivity] = {}
        self.provisional: dict[str, str] = {}
        self.window = float(self.config.get("protect.burst_window_s"))
        self.prompt_tolerance = float(self.config.get("protect.prompt_tolerance_s"))
        self._prompts = sorted(set(self.k.campaign_prompt.values()))
        self.decided = {ALLOW: 0, "label": 0, BLOCK: 0}

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
            act.talks.append(talk_seconds)
            if self._near_prompt(talk_seconds):
                act.prompt_like += 1
            if talk_seconds >= 45:
                act.long_talk += 1

    def add_refusal(self, callee: str, caller: str, time: float | None = None) -> str:
        """The callee refused the caller: remember it for the caller's whole campaign."""
        self.k.refused_numbers.setdefault(callee, set()).add(caller)
        campaign = self.k.number_campaign.get(caller) or self.provisional.get(caller, "")
        if campaign:
            self.k.refused.setdefault(callee, set()).add(campaign)
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

    def link(self, number: str, campaign_id: str, score: float, reason: str = "") -> None:
        """Record a campaign membership learned live (e.g. from a server-side relink)."""
        self.k.number_campaign[number] = campaign_id
        self.k.number_score[number] = max(score, self.k.number_score.get(number, 0.0))
        if reason:
            self.k.number_reason[number] = reason

    # -- the verdict -----------------------------------------------------
    def decide(self, call: CallSetup) -> Verdict:
        caller, callee = call.caller, call.callee
        act = self._observe(call)
        if caller in self.k.registry:
            score = self.k.number_score.get(caller, 0.0)
            decision = self.policy.decide(score, in_registry=True)
            return self._count(
                Verdict(decision, score, "", f"registered number of {self.k.registry[caller]}")
            )
        campaign = self.k.number_campaign.get(caller, "")
        if campaign:
            score = max(
                self.k.number_score.get(caller, 0.0), self.k.campaign_score.get(campaign, 0.0)
            )
            reason = f"number of campaign {campaign}"
            base = self.k.number_reason.get(caller)
            if base:
                reason += f" ({base})"
        else:
            score, campaign, reason = self._score_unknown(call, act)
        refused = bool(campaign) and campaign in self.k.refused.get(callee, ())
        if not refused and caller in self.k.refused_numbers.get(callee, ()):
            refused = True
        decision = self.policy.decide(score, refused=refused)
        if refused:
            reason += f"; callee refused {campaign or 'this number'} before"
        return self._count(Verdict(decision, score, campaign, reason))

    # -- internals --------------------------------------------------------
    def _count(self, v: Verdict) -> Verdict:
        self.decided[v.decision] += 1
        return v

    def _observe(self, call: CallSetup) -> NumberActivity:
        act = self.activity.get(call.caller)
        if act is None:
            act = NumberActivity(first_seen=call.time)
            self.activity[call.caller] = act
        act.n_invites += 1
        act.invites.append(call.time)
        act.callees.add(call.callee)
        digits = call.callee[-8:]
        value = int(digits) if digits.isdigit() else -1
        if act.last_callee >= 0 and value > act.last_callee:
            act.ascending += 1
        act.last_callee = value
        # a call to a number is a sign that someone calls it back
        if call.callee in self.activity or call.callee in self.k.number_score:
            self.k.called_back.add(call.callee)
        return act

    def _near_prompt(self, talk: float) -> bool:
        tol = self.prompt_tolerance
        return any(abs(talk - p) <= tol for p in self._prompts)

    def features(self, call: CallSetup, act: NumberActivity) -> list[float]:
        """The online feature vector of a call from an unknown number (see ONLINE_FEATURES)."""
        k = self.k
        caller = call.caller
        kind = k.kind_of.get(caller, "")
        block = k.block_of.get(caller, "")
        _b_campaign, b_share, b_seen = k.block_campaign.get(block, ("", 0.0, 0))
        _t_campaign, t_share, _t_top, t_seen = k.trunk_campaign.get(call.trunk, ("", 0.0, 0.0, 0))
        now = call.time
        recent = sum(1 for t in act.invites if now - t <= self.window)
        n = act.n_invites
        gaps_cv = _gap_cv(act.invites)
        answered = act.answered
        return [
            1.0 if kind == "fixed_line" else 0.0,
            1.0 if kind == "virtual" else 0.0,
            1.0 if kind == "mobile" else 0.0,
            b_share,
            math.log1p(b_seen),
            t_share,
            math.log1p(t_seen),
            math.log1p(recent),
            math.log1p(n),
            len(act.callees) / n,
            act.ascending / (n - 1) if n > 1 else 0.0,
            gaps_cv,
            act.ended and answered / act.ended,
            answered and act.prompt_like / answered,
            answered and act.long_talk / answered,
            math.log1p(act.ended),
            1.0 if caller in k.known_legit else 0.0,
            1.0 if caller in k.called_back else 0.0,
        ]

    def _score_unknown(self, call: CallSetup, act: NumberActivity) -> tuple[float, str, str]:
        x = self.features(call, act)
        score = float(self.scorer.predict_proba_one(x))
        k = self.k
        block = k.block_of.get(call.caller, "")
        b_campaign, b_share, _ = k.block_campaign.get(block, ("", 0.0, 0))
        t_campaign, t_share, t_top, _ = k.trunk_campaign.get(call.trunk, ("", 0.0, 0.0, 0))
        campaign = ""
        why: list[str] = []
        if b_campaign and b_share >= 0.5:
            campaign = b_campaign
            why.append(f"block {block} of campaign {b_campaign} ({b_share:.0%} of its numbers)")
        elif t_campaign and t_top >= 0.8 and t_share >= 0.8:
            campaign = t_campaign
            why.append(f"trunk {call.trunk} carries campaign {t_campaign}")
        elif t_share >= 0.5:
            why.append(f"trunk {call.trunk}: {t_share:.0%} of its calls from campaigns")
        if act.n_invites > 1:
            why.append(
                f"{act.n_invites} calls to {len(act.callees)} numbers since "
                f"{_time.strftime('%H:%M', _time.localtime(act.first_seen))}"
            )
        if act.prompt_like:
            why.append(f"{act.prompt_like} answered calls ended at a known prompt length")
        if not campaign and score >= self.policy.label_threshold:
            campaign = self.provisional.get(call.caller, "")
            if not campaign:
                campaign = "N-" + (block or call.caller)
                self.provisional[call.caller] = campaign
        if campaign:
            self.provisional.setdefault(call.caller, campaign)
        reason = ("new number; " if call.caller not in k.number_score else "") + (
            "; ".join(why) if why else "no campaign evidence"
        )
        return score, campaign, reason

    def stats(self) -> dict[str, int]:
        return {
            "numbers_tracked": len(self.activity),
            "campaign_numbers": len(self.k.number_campaign),
            "scored_numbers": len(self.k.number_score),
            "registry_numbers": len(self.k.registry),
            "citizens_with_refusals": len(self.k.refused_numbers),
            "provisional_links": len(self.provisional),
        }


def _gap_cv(times: deque[float]) -> float:
    """Coefficient of variation of the gaps between recent INVITEs (0 = machine-regular)."""
    n = len(times)
    if n < 3:
        return 1.0
    ts = list(times)
    gaps = [b - a for a, b in itertools.pairwise(ts)]
    mean = sum(gaps) / len(gaps)
    if mean <= 0:
        return 0.0
    var = sum((g - mean) ** 2 for g in gaps) / len(gaps)
    return min(math.sqrt(var) / mean, 5.0)


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
