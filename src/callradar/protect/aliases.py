"""Campaign ids the call path finds to be one campaign during the day.

The batch linking joins a campaign's rotating numbers through re-dials: a new
number dials again the citizens an older one dialled, in list order. A number
that was active for a day or two has often not been re-dialled yet, and stays a
campaign of its own until the next linking run. In the call path, a new number
that re-dials one such campaign's slice and then, without a break, the next
campaign's slice shows that both are consecutive slices of one target list,
swept by one dialer: :class:`Aliases` remembers that, so that the rest of the
day's calls of either report one id and a refusal of either covers both.

The surviving id is the one with more numbers (the older id on a tie), so the
id a carrier saw most keeps being reported. Nothing here is written back to the
store: the next batch linking finds the same re-dials in the call records.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Merge:
    """One campaign id joined into another, and the call-path evidence for it."""

    time: float
    kept: str
    merged: str
    number: str
    callees: tuple[int, int]  # citizens of each slice the number re-dialled


@dataclass
class Aliases:
    """Union of campaign ids, flattened: every id maps straight to its surviving id."""

    size: dict[str, int] = field(default_factory=dict)  # numbers per campaign id
    reported: dict[str, int] = field(default_factory=dict)  # calls reported per id today
    merges: list[Merge] = field(default_factory=list)
    _root: dict[str, str] = field(default_factory=dict)
    _members: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self._root)

    def resolve(self, campaign: str) -> str:
        """The id reported for ``campaign`` (itself unless it was merged)."""
        return self._root.get(campaign, campaign)

    def members(self, campaign: str) -> list[str]:
        """Every id that is one campaign with ``campaign`` (itself included)."""
        return self._members.get(self.resolve(campaign), [campaign])

    def numbers(self, campaign: str) -> int:
        """How many numbers the campaign holds, with every id merged into it today."""
        return sum(self.size.get(c, 0) for c in self.members(campaign))

    def merge(
        self,
        a: str,
        b: str,
        *,
        time: float = 0.0,
        number: str = "",
        callees: tuple[int, int] = (0, 0),
    ) -> str:
        """Join the campaigns of ``a`` and ``b`` (the evidence: when, which number, how
        many citizens of each slice); returns the surviving id ("" when they were one
        already)."""
        ra, rb = self.resolve(a), self.resolve(b)
        if ra == rb:
            return ""
        ma, mb = self.members(ra), self.members(rb)
        sa = sum(self.reported.get(c, 0) for c in ma), self.numbers(ra)
        sb = sum(self.reported.get(c, 0) for c in mb), self.numbers(rb)
        keep, lose = (ra, rb) if (sa, _older(ra, rb)) >= (sb, _older(rb, ra)) else (rb, ra)
        joined = [*self.members(keep), *self.members(lose)]
        for c in joined:
            self._root[c] = keep
        self._members.pop(lose, None)
        self._members[keep] = joined
        self.merges.append(Merge(time, keep, lose, number, callees))
        return keep


def _older(a: str, b: str) -> bool:
    """Whether ``a`` is the older of two ids (batch ids count up: C000012 < C000345)."""
    return (len(a), a) < (len(b), b)


__all__ = ["Aliases", "Merge"]
