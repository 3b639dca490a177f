"""Small registries of named classes (input formats, SIP profiles, scenarios).

A registry maps a name to a class that differs from its siblings by constants.
Looking up an unknown name fails with a "did you mean".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from callradar.errors import did_you_mean

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> registered class, with helpful errors for unknown names."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.what} {name!r} registered twice")
            self._items[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise did_you_mean(name, list(self._items), self.what) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))
