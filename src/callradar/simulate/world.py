"""The city: subscribers and their contacts, trunks, resellers and the names catalog.

Citizens are indexed ``0..N-1`` in numeric order of their numbers, so a vendor
sweeping "in numeric order" simply walks indices upward. Contacts are implicit
(``i +- D[j] mod N`` for a fixed set of offsets), which makes the social graph
symmetric (calls are reciprocal) at no memory cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from callradar.simulate import numbers as nb
from callradar.simulate.scenario import Scenario

END_REASONS = ("caller_hangup", "callee_hangup", "no_answer", "busy", "rejected", "failed")
CALLER_HANGUP, CALLEE_HANGUP, NO_ANSWER, BUSY, REJECTED, FAILED = range(6)

CALLER_KINDS = (
    "campaign",
    "ordinary",
    "courier",
    "bank",
    "hospital",
    "government",
    "ride_hailing",
    "delivery",
    "agent",
    "small_business",
)
KIND = {k: i for i, k in enumerate(CALLER_KINDS)}

# Operators' interconnect trunks by citizen mobile prefix (original network).
_CU = {130, 131, 132, 155, 156, 166, 175, 176, 185, 186}
_CT = {133, 173, 177, 180, 181, 189, 191, 199}
OPERATORS = ("CM", "CU", "CT")
_OPERATOR_OF_PREFIX = np.zeros(1000, dtype=np.int64)
_OPERATOR_OF_PREFIX[sorted(_CU)] = 1
_OPERATOR_OF_PREFIX[sorted(_CT)] = 2


@dataclass
class Catalog:
    """Names behind integer codes: trunks, campaigns, vendors, clients."""

    trunks: list[str] = field(default_factory=list)
    vendors: list[str] = field(default_factory=list)
    # campaign code 0 is "no campaign"; codes 1.. index these lists
    campaign_ids: list[str] = field(default_factory=lambda: [""])
    campaign_vendor: list[str] = field(default_factory=lambda: [""])
    campaign_client: list[str] = field(default_factory=lambda: [""])
    campaign_category: list[str] = field(default_factory=lambda: [""])
    campaign_prompt: list[float] = field(default_factory=lambda: [0.0])

    def trunk(self, name: str) -> int:
        if name not in self.trunks:
            self.trunks.append(name)
        return self.trunks.index(name)

    def add_campaign(self, cid: str, vendor: str, client: str, category: str, prompt: float) -> int:
        self.campaign_ids.append(cid)
        self.campaign_vendor.append(vendor)
        self.campaign_client.append(client)
        self.campaign_category.append(category)
        self.campaign_prompt.append(prompt)
        return len(self.campaign_ids) - 1


class City:
    """Subscribers, their numbers, activity and contacts."""

    def __init__(self, sc: Scenario, seed: int, catalog: Catalog) -> None:
        rng = np.random.default_rng([seed, 11])
        n = int(sc["city.subscribers"])
        self.n = n
        n_land = round(n * float(sc["city.landline_share"]))
        lo, hi = nb.CITIZEN_LANDLINES
        if n_land > hi - lo:
            n_land = hi - lo
        self.mobile_perm = nb.mobile_space(seed)
        mob = nb.mobile_numbers(np.arange(n - n_land, dtype=np.int64), self.mobile_perm)
        land = nb.landline(lo + nb.Permutation(hi - lo, seed, 2)(np.arange(n_land)))
        self.numbers = np.sort(np.concatenate([land, mob]))
        # carrier honeypot lines (set by simulate.honeypot.Honeypots): they answer every
        # campaign call and stay silent, so the robot plays its prompt and hangs up
        self.honeypot = np.zeros(n, dtype=bool)
        # Activity tiers: sample callers proportionally to a gamma-distributed activity.
        shape = float(sc["city.activity_shape"])
        activity = rng.gamma(shape, 1.0 / shape, n).astype(np.float32)
        edges = np.quantile(activity, np.linspace(0, 1, 17)[1:-1])
        tier = np.searchsorted(edges, activity).astype(np.int8)
        self.tier_members = np.argsort(tier, kind="stable").astype(np.int32)
        counts = np.bincount(tier, minlength=16)
        self.tier_start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.tier_count = counts.astype(np.int64)
        weight = np.bincount(tier, weights=activity, minlength=16)
        self.tier_p = weight / weight.sum()
        k = max(1, int(sc["city.contacts"]) // 2)
        self.offsets = rng.integers(1, max(2, n), k, dtype=np.int64)
        w = 1.0 / np.arange(1, k + 1)
        self.offset_p = w / w.sum()
        # Trunks of the operators' interconnects: one per operator and a fixed-line one.
        self.op_trunks = np.array(
            [catalog.trunk(f"IC-{op}-{j}") for op in OPERATORS for j in (1, 2)], dtype=np.int16
        )
        self.fix_trunks = np.array([catalog.trunk(f"IC-FIX-{j}") for j in (1, 2)], dtype=np.int16)
        self._next_mobile = n  # further mobile-space indices for non-citizens
        self.hour_p = np.asarray(sc["citizens.hour_weights"], dtype=np.float64)
        self.hour_p = self.hour_p / self.hour_p.sum()

    def sample_callers(self, m: int, rng: np.random.Generator) -> np.ndarray:
        t = rng.choice(16, m, p=self.tier_p)
        off = (rng.random(m) * self.tier_count[t]).astype(np.int64)
        return self.tier_members[self.tier_start[t] + off].astype(np.int64)

    def contacts_of(self, who: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        j = rng.choice(len(self.offsets), len(who), p=self.offset_p)
        sign = np.where(rng.random(len(who)) < 0.5, 1, -1)
        return (who + sign * self.offsets[j]) % self.n

    def new_mobiles(self, m: int) -> np.ndarray:
        """Numbers of ``m`` non-citizen mobiles (agents, couriers, SIM farms), never reused."""
        idx = np.arange(self._next_mobile, self._next_mobile + m, dtype=np.int64)
        self._next_mobile += m
        return nb.mobile_numbers(idx, self.mobile_perm)

    def trunk_for(self, nums: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Interconnect trunk of calls from citizen-style numbers (by original operator)."""
        op = _OPERATOR_OF_PREFIX[(nums // 10**8) % 1000]
        pick = rng.integers(0, 2, len(nums))
        mob = self.op_trunks[op * 2 + pick]
        fix = self.fix_trunks[pick]
        return np.where(nums < 10**12, fix, mob).astype(np.int16)

    def hours(self, m: int, rng: np.random.Generator) -> np.ndarray:
        return rng.choice(24, m, p=self.hour_p)


# ------------------------------------------------------------------ names ---------------

BRANDS = [
    "美华",
    "皓康",
    "睿齿",
    "博雅",
    "君悦",
    "瑞泰",
    "沪康",
    "佳贝",
    "恒美",
    "致远",
    "安禾",
    "锦程",
    "鼎盛",
    "众信",
    "嘉和",
    "星河",
    "润德",
    "泰和",
    "明德",
    "尚品",
    "华康",
    "德信",
    "金桥",
    "新禾",
    "优思",
    "蓝湾",
    "百合",
    "康桥",
    "晨光",
    "丰源",
    "汇通",
    "长乐",
    "欣悦",
    "同欣",
    "宏达",
    "立德",
]
DISTRICTS = [
    "浦东",
    "徐汇",
    "静安",
    "闵行",
    "杨浦",
    "长宁",
    "普陀",
    "宝山",
    "嘉定",
    "松江",
    "虹口",
    "黄浦",
    "青浦",
    "奉贤",
]
CATEGORIES: dict[str, tuple[str, ...]] = {
    "dental": ("口腔门诊部", "齿科", "牙科诊所", "口腔医院", "口腔"),
    "residence_points": ("积分落户服务中心", "人才服务有限公司", "落户咨询"),
    "loan": ("贷款咨询", "金融服务有限公司", "信贷服务中心"),
    "property": ("房产", "置业顾问", "地产经纪"),
    "education": ("教育", "培训学校", "学历提升中心"),
    "insurance": ("保险代理", "保险经纪有限公司"),
}
CATEGORY_WEIGHTS = {
    "dental": 0.4,
    "residence_points": 0.15,
    "loan": 0.15,
    "property": 0.1,
    "education": 0.1,
    "insurance": 0.1,
}
VENDOR_WORDS = [
    "星联",
    "云呼",
    "智讯",
    "通达",
    "汇声",
    "灵犀",
    "易联",
    "声动",
    "数聚",
    "远景",
    "迅捷",
    "卓越",
]


def business_names(rng: np.random.Generator, m: int) -> list[tuple[str, str]]:
    """``m`` distinct (name, category) pairs of lead-buying businesses."""
    cats = list(CATEGORY_WEIGHTS)
    p = np.array([CATEGORY_WEIGHTS[c] for c in cats])
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(out) < m:
        cat = cats[int(rng.choice(len(cats), p=p / p.sum()))]
        brand = BRANDS[int(rng.integers(len(BRANDS)))]
        suffix = CATEGORIES[cat][int(rng.integers(len(CATEGORIES[cat])))]
        district = DISTRICTS[int(rng.integers(len(DISTRICTS)))] if rng.random() < 0.3 else ""
        name = f"{district}{brand}{suffix}"
        if name not in seen:
            seen.add(name)
            out.append((name, cat))
    return out


def vendor_name(i: int) -> str:
    word = VENDOR_WORDS[i % len(VENDOR_WORDS)]
    tail = "" if i < len(VENDOR_WORDS) else str(i // len(VENDOR_WORDS) + 1)
    return f"上海{word}{tail}信息科技有限公司"
