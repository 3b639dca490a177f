"""The union-find behind campaign linking (and the protect stage's vendor groups).

Sets of numbers grow by union; a set can carry tags (the slices of a vendor's
clients, :class:`callradar.campaigns.slices.Slices`) and the recorded prompts
honeypots heard its numbers play. :meth:`UnionFind.join` refuses a union that
would join two slices told apart or two sets heard playing different prompts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


class UnionFind:
    """Disjoint sets of strings; a set is named by its smallest member."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.tags: dict[str, set[int]] = {}
        self.prompts: dict[str, set[str]] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)
            merged = self.tags.pop(ra, set()) | self.tags.pop(rb, set())
            if merged:
                self.tags[min(ra, rb)] = merged
            heard = self.prompts.pop(ra, set()) | self.prompts.pop(rb, set())
            if heard:
                self.prompts[min(ra, rb)] = heard

    def groups(self, items: Iterable[str]) -> dict[str, list[str]]:
        """The items by set: root -> members, in the items' order."""
        out: dict[str, list[str]] = defaultdict(list)
        for x in items:
            out[self.find(x)].append(x)
        return out

    def tag(self, x: str, label: int) -> None:
        """Mark ``x`` as one of a vendor's clients' slices (see :class:`_Slices`)."""
        self.tags.setdefault(self.find(x), set()).add(label)

    def hear(self, x: str, prompt_id: str) -> None:
        """Mark ``x`` as heard playing the recorded prompt ``prompt_id`` (honeypot audio)."""
        self.prompts.setdefault(self.find(x), set()).add(prompt_id)

    def compatible(self, a: str, b: str) -> bool:
        """False when both sets were heard playing prompts and none of them is shared:
        two different recordings are two campaigns, whatever else they share."""
        pa, pb = self.prompts.get(self.find(a)), self.prompts.get(self.find(b))
        return not (pa and pb and pa.isdisjoint(pb))

    def join(self, a: str, b: str) -> bool:
        """Union unless it would join two slices told apart or two sets heard playing
        different prompts; returns whether it did."""
        ta, tb = self.tags.get(self.find(a)), self.tags.get(self.find(b))
        if ta and tb and ta != tb:
            return False
        if not self.compatible(a, b):
            return False
        self.union(a, b)
        return True
