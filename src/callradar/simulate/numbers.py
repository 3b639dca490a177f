"""Phone numbers of the simulated city: number spaces, unique allocation, fast text.

Numbers are held as int64 E.164 digits without the ``+`` (``862152345678``,
``8613812345678``) and turned into Arrow strings only when written, with a
vectorized lookup table (no Python loop over rows).

Every allocation goes through a bijection (an affine permutation modulo the
size of the space) over disjoint index ranges, so two different users of a
space (citizens, agents, SIM farms ...) can never draw the same number.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

# Citizens' mobile prefixes (valid for libphonenumber, region CN).
MOBILE_PREFIXES = np.array(
    [
        *(130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 156, 157, 158, 159),
        *(166, 173, 175, 176, 177, 178, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199),
    ],
    dtype=np.int64,
)
# Virtual-operator (MVNO) prefixes: 165 (Mobile), 170 and 171, 162, 167.
VIRTUAL_PREFIXES = np.array([165, 170, 171, 162, 167], dtype=np.int64)

CN = 86
SH_AREA = 8621 * 10**8  # +86 21 xxxxxxxx
# 8-digit Shanghai local numbers are split into disjoint ranges by who holds them.
CITIZEN_LANDLINES = (20_000_000, 50_000_000)
RESELLER_LANDLINES = (50_000_000, 70_000_000)  # lines resold to dialers and small businesses
ORG_LANDLINES = (70_000_000, 80_000_000)  # banks, hospitals, government, couriers' offices
UNIT = 1000  # consecutive numbers per reseller purchase unit

_PRIMES = (2_654_435_761, 2_246_822_519, 3_266_489_917, 668_265_263, 374_761_393)


def _coprime_multiplier(size: int, salt: int) -> int:
    import math

    for p in _PRIMES[salt % len(_PRIMES) :] + _PRIMES:
        a = p % size
        if a > 1 and math.gcd(a, size) == 1:
            return a
    return 1


class Permutation:
    """A bijection of ``range(size)``: ``x -> (a * x + b) mod size``."""

    def __init__(self, size: int, seed: int, salt: int) -> None:
        self.size = int(size)
        rng = np.random.default_rng([seed, salt, 7])
        self.a = _coprime_multiplier(self.size, salt)
        self.b = int(rng.integers(0, self.size))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.int64)
        if self.size * self.a < 2**62:
            return (x * self.a + self.b) % self.size
        # Split the multiplication to stay inside int64.
        lo = x & 0xFFFF
        hi = x >> 16
        part = (hi * self.a) % self.size
        part = (part * 65536) % self.size
        return (part + lo * self.a + self.b) % self.size


def mobile_numbers(index: np.ndarray, perm: Permutation) -> np.ndarray:
    """E.164 digits of citizen-style mobiles for disjoint indices into the mobile space."""
    y = perm(index)
    return CN * 10**11 + MOBILE_PREFIXES[y // 10**8] * 10**8 + y % 10**8


def mobile_space(seed: int) -> Permutation:
    return Permutation(len(MOBILE_PREFIXES) * 10**8, seed, 1)


def landline(local8: np.ndarray) -> np.ndarray:
    return SH_AREA + np.asarray(local8, dtype=np.int64)


class UnitAllocator:
    """Hands out purchase units of consecutive numbers, each unit at most once.

    ``kind='landline'`` units are 1000 consecutive 021 numbers of the reseller
    range; ``kind='virtual'`` units are 1000 consecutive MVNO mobiles.
    """

    def __init__(self, kind: str, seed: int) -> None:
        self.kind = kind
        if kind == "landline":
            lo, hi = RESELLER_LANDLINES
            self.units = (hi - lo) // UNIT
            self.base = lo
        else:
            self.units = len(VIRTUAL_PREFIXES) * 10**8 // UNIT
            self.base = 0
        self.perm = Permutation(self.units, seed, 3 if kind == "landline" else 4)
        self.next = 0

    def take(self, n: int) -> np.ndarray:
        """First numbers (E.164 digits) of ``n`` fresh units."""
        if self.next + n > self.units:
            raise OverflowError(f"number space of {self.kind} units exhausted")
        ids = self.perm(np.arange(self.next, self.next + n, dtype=np.int64))
        self.next += n
        start = ids * UNIT
        if self.kind == "landline":
            return landline(self.base + start)
        pre = VIRTUAL_PREFIXES[start // 10**8]
        return CN * 10**11 + pre * 10**8 + start % 10**8


class NumberStream:
    """A holder's stream of new numbers walking through consecutive units, with small gaps."""

    def __init__(self, alloc: UnitAllocator, gap_prob: float = 0.15) -> None:
        self.alloc = alloc
        self.gap_prob = gap_prob
        self.units: list[int] = []
        self.pos = -1  # position in the concatenation of this holder's units

    def take(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if n <= 0:
            return np.empty(0, dtype=np.int64)
        steps = 1 + (rng.random(n) < self.gap_prob) * rng.integers(1, 4, n)
        pos = self.pos + np.cumsum(steps)
        self.pos = int(pos[-1])
        need = self.pos // UNIT + 1
        if need > len(self.units):
            self.units.extend(int(u) for u in self.alloc.take(need - len(self.units)))
        starts = np.asarray(self.units, dtype=np.int64)
        return starts[pos // UNIT] + pos % UNIT


# ---------------------------------------------------------------- text -----------------

_LUT4 = np.frombuffer("".join(f"{i:04d}" for i in range(10_000)).encode(), dtype=np.uint32)


def _digits16(x: np.ndarray) -> np.ndarray:
    """(n, 16) uint8 ASCII digits of x < 10**16, right-aligned and zero-padded."""
    x = np.asarray(x, dtype=np.int64)
    out = np.empty((len(x), 4), dtype=np.uint32)
    hi = x // 100_000_000
    lo = (x - hi * 100_000_000).astype(np.uint32)
    out[:, 3] = _LUT4[lo % 10_000]
    out[:, 2] = _LUT4[lo // 10_000]
    hi32 = hi.astype(np.uint32)
    out[:, 1] = _LUT4[hi32 % 10_000]
    out[:, 0] = _LUT4[hi32 // 10_000]
    return out.view(np.uint8).reshape(len(x), 16)


def e164_array(nums: np.ndarray) -> pa.StringArray:
    """Arrow strings ``+86...`` for int64 E.164 digits of 12 or 13 digits."""
    nums = np.asarray(nums, dtype=np.int64)
    n = len(nums)
    nd = np.where(nums >= 10**12, 13, 12)
    mat = _digits16(nums)
    first = 15 - nd  # column of '+'
    mat[np.arange(n), first] = ord("+")
    keep = np.arange(16, dtype=np.int64)[None, :] >= first[:, None]
    data = mat[keep]
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(nd + 1, out=offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def fixed_id_array(prefix: str, counter: np.ndarray, width: int = 9) -> pa.StringArray:
    """Arrow strings ``prefix`` + zero-padded counter (all the same length)."""
    pre = np.frombuffer(prefix.encode(), dtype=np.uint8)
    n = len(counter)
    length = len(pre) + width
    mat = np.empty((n, length), dtype=np.uint8)
    mat[:, : len(pre)] = pre
    mat[:, len(pre) :] = _digits16(counter)[:, 16 - width :]
    offsets = np.arange(0, (n + 1) * length, length, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(mat.ravel()))


def e164_str(num: int) -> str:
    return f"+{int(num)}"
