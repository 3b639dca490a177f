"""The legitimate city: ordinary people and the callers that look like campaigns at a glance.

Hard negatives: couriers (many distinct callees, short calls, callbacks), bank
service and collection centres, hospital reminders and government notices
(recorded voices), ride-hailing and delivery privacy numbers (called back),
estate and insurance agents cold-calling from personal mobiles, and small
businesses on the same reseller trunks as the vendors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from callradar.simulate import calls as cl
from callradar.simulate import numbers as nb
from callradar.simulate.scenario import Scenario
from callradar.simulate.world import BRANDS, KIND, Catalog, City

DAY_MS = 86_400_000


@dataclass
class Org:
    kind: str  # caller kind
    name: str
    category: str  # registry category
    numbers: np.ndarray  # int64
    registered: np.ndarray  # bool per number
    trunk: np.ndarray  # int16 per number


class Legit:
    """Every legitimate caller of the city; generates a day's calls in chunks."""

    def __init__(
        self,
        sc: Scenario,
        seed: int,
        city: City,
        catalog: Catalog,
        allocators: dict[str, nb.UnitAllocator],
        reseller_trunks: list[list[int]],
    ) -> None:
        self.sc = sc
        self.city = city
        rng = np.random.default_rng([seed, 200])
        n = city.n
        per10k = n / 10_000.0
        cov = float(sc["legit.registry_coverage"])
        org_land = nb.Permutation(nb.ORG_LANDLINES[1] - nb.ORG_LANDLINES[0], seed, 5)
        self._org_next = 0

        def org_numbers(m: int) -> np.ndarray:
            idx = np.arange(self._org_next, self._org_next + m)
            self._org_next += m
            return nb.landline(nb.ORG_LANDLINES[0] + org_land(idx))

        ent = [catalog.trunk(f"ENT-{j}") for j in range(1, 5)]
        vno = [catalog.trunk(f"VNO-{j}") for j in (1, 2)]

        def org(kind: str, name: str, cat: str, nums: np.ndarray, p_reg: float, trunks) -> Org:
            return Org(
                kind,
                name,
                cat,
                nums,
                rng.random(len(nums)) < p_reg,
                rng.choice(np.asarray(trunks, dtype=np.int16), len(nums)),
            )

        self.couriers = org(
            "courier",
            "快递员",
            "courier",
            city.new_mobiles(max(1, round(float(sc["legit.couriers"]) * per10k))),
            cov * 0.5,
            city.op_trunks,
        )
        banks = [f"{BRANDS[i % len(BRANDS)]}银行" for i in range(int(sc["legit.banks"]))]
        self.bank_service = [
            org("bank", b, "bank", org_numbers(int(rng.integers(3, 12))), min(1.0, cov + 0.3), ent)
            for b in banks
        ]
        self.bank_collect = [
            org(
                "bank",
                f"{b}催收中心",
                "bank",
                org_numbers(int(rng.integers(5, 20))),
                cov * 0.4,
                ent,
            )
            for b in banks
        ]
        reg_robo = float(sc["legit.robovoice_registered"])
        self.hospitals = [
            org("hospital", f"上海市{BRANDS[(i * 7) % len(BRANDS)]}医院", "hospital",
                org_numbers(int(rng.integers(1, 4))), reg_robo, ent)
            for i in range(max(1, round(float(sc["legit.hospitals"]) * per10k)))
        ]  # fmt: skip
        self.government = [
            org("government", "上海市政务服务中心", "government", org_numbers(6), reg_robo, ent),
            org(
                "government", "上海市社区事务受理中心", "government", org_numbers(8), reg_robo, ent
            ),
        ]
        pool = max(4, round(float(sc["legit.privacy_pool"]) * per10k))
        virt = nb.NumberStream(allocators["virtual"], gap_prob=0.0)
        self.ride = org("ride_hailing", "快达出行", "ride_hailing", virt.take(pool, rng), cov, vno)
        self.delivery = org("delivery", "美食速达", "other", virt.take(pool, rng), cov * 0.5, vno)
        self.agents = org(
            "agent",
            "经纪人",
            "other",
            city.new_mobiles(max(1, round(float(sc["legit.agents"]) * per10k))),
            0.0,
            city.op_trunks,
        )
        land = nb.NumberStream(allocators["landline"], gap_prob=0.5)
        n_biz = max(1, round(float(sc["legit.small_businesses"]) * per10k))
        biz_trunks = [t for ts in reseller_trunks for t in ts]
        self.business = org(
            "small_business", "小商户", "other", land.take(n_biz, rng), cov * 0.2, biz_trunks
        )
        # Registered organizations that place no calls here (utilities, schools).
        util = org_numbers(6)
        school = org_numbers(max(2, round(per10k)))
        self.registry_only: tuple[np.ndarray, list[str], list[str]] = (
            np.concatenate([util, school]),
            ["国网上海市电力公司"] * len(util) + ["上海市教育考试院"] * len(school),
            ["utility"] * len(util) + ["school"] * len(school),
        )
        self.debtors = rng.choice(n, max(1, n // 200), replace=False)
        self.patients = rng.choice(n, max(1, n // 20), replace=False)

    def orgs(self) -> list[Org]:
        return [
            self.couriers,
            *self.bank_service,
            *self.bank_collect,
            *self.hospitals,
            *self.government,
            self.ride,
            self.delivery,
            self.agents,
            self.business,
        ]

    # ------------------------------------------------------------------ helpers ------
    @staticmethod
    def _merge(orgs: list[Org]) -> Org:
        return Org(
            orgs[0].kind,
            orgs[0].name,
            orgs[0].category,
            np.concatenate([o.numbers for o in orgs]),
            np.concatenate([o.registered for o in orgs]),
            np.concatenate([o.trunk for o in orgs]),
        )

    def _times(
        self, rng: np.random.Generator, m: int, day_ms: int, h0: int, h1: int
    ) -> tuple[np.ndarray, np.ndarray]:
        sec = rng.uniform(h0 * 3600, h1 * 3600, m)
        return day_ms + (sec * 1000).astype(np.int64), (sec // 3600).astype(np.int64)

    def _org_calls(
        self,
        rng: np.random.Generator,
        o: Org,
        m: int,
        callees: np.ndarray,
        day_ms: int,
        hours: tuple[int, int],
        outcome: str,
        **kw: float,
    ) -> cl.Chunk:
        which = rng.integers(0, len(o.numbers), m)
        start, hour = self._times(rng, m, day_ms, *hours)
        if outcome == "recorded":
            out = cl.recorded(rng, kw["p"], hour, kw["message"])
        else:
            out = cl.conversation(rng, kw["p"], hour, kw["median"], kw["sigma"], 1.0, kw["hi"])
        return cl.chunk(
            start,
            o.numbers[which],
            self.city.numbers[callees],
            o.trunk[which],
            out,
            KIND[o.kind],
            o.registered[which],
        )

    def _callbacks(
        self, rng: np.random.Generator, c: cl.Chunk, share: float, day_ms: int
    ) -> cl.Chunk:
        """Citizens calling back the number that called them (within minutes to hours)."""
        pick = np.flatnonzero(rng.random(len(c)) < share)
        m = len(pick)
        delay = (rng.exponential(1800.0, m) + 60.0) * 1000
        start = np.minimum(c.start_ms[pick] + delay.astype(np.int64), day_ms + DAY_MS - 1000)
        hour = ((start // 3_600_000) + 8) % 24
        out = cl.conversation(rng, 0.75, hour, 40.0, 0.8, 1.0, 900.0)
        return cl.chunk(
            start,
            c.callee[pick],
            c.caller[pick],
            self.city.trunk_for(c.callee[pick], rng),
            out,
            KIND["ordinary"],
            False,
        )

    # ------------------------------------------------------------------ a day ---------
    def day(self, day_ms: int, rng: np.random.Generator, chunk_rows: int) -> Iterator[cl.Chunk]:
        sc, city, n = self.sc, self.city, self.city.n
        # Ordinary people calling their contacts, in chunks.
        total = int(rng.poisson(n * float(sc["city.calls_per_day"])))
        for a in range(0, total, chunk_rows):
            m = min(chunk_rows, total - a)
            who = city.sample_callers(m, rng)
            to = city.contacts_of(who, rng)
            hour = city.hours(m, rng)
            start = day_ms + hour * 3_600_000 + rng.integers(0, 3_600_000, m)
            caller = city.numbers[who]
            out = cl.conversation(rng, float(sc["city.answer_rate"]), hour, 70.0, 1.0, 1.0, 3600.0)
            yield cl.chunk(
                start, caller, city.numbers[to], city.trunk_for(caller, rng), out, KIND["ordinary"]
            )
        yield from self._business_day(day_ms, rng)

    def _business_day(self, day_ms: int, rng: np.random.Generator) -> Iterator[cl.Chunk]:
        sc, n = self.sc, self.city.n
        out: list[cl.Chunk] = []
        # Couriers: many distinct callees, short calls, high answer rate, callbacks.
        m = int(rng.poisson(len(self.couriers.numbers) * float(sc["legit.courier_calls"])))
        c = self._org_calls(
            rng, self.couriers, m, rng.integers(0, n, m), day_ms, (8, 20), "talk",
            p=0.85, median=20.0, sigma=0.6, hi=180.0,
        )  # fmt: skip
        out += [c, self._callbacks(rng, c, float(sc["legit.courier_callback"]), day_ms)]
        # Banks: service calls to customers; collection calls to the same debtors daily.
        m = int(rng.poisson(n * float(sc["legit.bank_service"])))
        out.append(
            self._org_calls(
                rng, self._merge(self.bank_service), m, rng.integers(0, n, m), day_ms, (9, 18),
                "talk", p=0.6, median=90.0, sigma=0.7, hi=1200.0,
            )
        )  # fmt: skip
        m = int(rng.poisson(n * float(sc["legit.bank_collection"])))
        out.append(
            self._org_calls(
                rng, self._merge(self.bank_collect), m, rng.choice(self.debtors, m), day_ms,
                (9, 20), "talk", p=0.3, median=60.0, sigma=0.7, hi=900.0,
            )
        )  # fmt: skip
        # Recorded voices: hospital reminders to patients, government notices.
        scale = float(sc["legit.robovoice_scale"])
        m = int(rng.poisson(n * float(sc["legit.hospital_calls"]) * scale))
        hosp = self._merge(self.hospitals)
        out.append(
            self._org_calls(
                rng, hosp, m, rng.choice(self.patients, m), day_ms, (9, 18), "recorded",
                p=0.7, message=float(sc["legit.hospital_message"]),
            )
        )  # fmt: skip
        m = int(rng.poisson(n * float(sc["legit.government_calls"]) * scale))
        out.append(
            self._org_calls(
                rng, self._merge(self.government), m, rng.integers(0, n, m), day_ms, (9, 18),
                "recorded", p=0.55, message=float(sc["legit.government_message"]),
            )
        )  # fmt: skip
        # Ride-hailing and delivery privacy numbers, called back by the citizen.
        for o in (self.ride, self.delivery):
            m = int(rng.poisson(n * float(sc["legit.ride_orders"]) / 2))
            c = self._org_calls(
                rng, o, m, rng.integers(0, n, m), day_ms, (7, 23), "talk",
                p=0.85, median=30.0, sigma=0.6, hi=300.0,
            )  # fmt: skip
            out += [c, self._callbacks(rng, c, float(sc["legit.ride_callback"]), day_ms)]
        # Estate and insurance agents: cold calls, often down a list in numeric order.
        per = float(sc["legit.agent_calls"])
        m = int(rng.poisson(len(self.agents.numbers) * per))
        starts = rng.integers(0, n, len(self.agents.numbers))
        which = rng.integers(0, len(self.agents.numbers), m)
        seq = rng.random(len(self.agents.numbers)) < 0.5
        callees = np.where(
            seq[which],
            (starts[which] + rng.integers(0, int(per * 2), m)) % n,
            rng.integers(0, n, m),
        )
        start, hour = self._times(rng, m, day_ms, 9, 20)
        res = cl.conversation(rng, 0.3, hour, 35.0, 1.0, 1.0, 900.0)
        out.append(
            cl.chunk(
                start, self.agents.numbers[which], self.city.numbers[callees],
                self.agents.trunk[which], res, KIND["agent"], False,
            )
        )  # fmt: skip
        # Small businesses on reseller lines.
        m = int(rng.poisson(len(self.business.numbers) * float(sc["legit.business_calls"])))
        c = self._org_calls(
            rng, self.business, m, rng.integers(0, n, m), day_ms, (9, 19), "talk",
            p=0.6, median=80.0, sigma=0.8, hi=1800.0,
        )  # fmt: skip
        out += [c, self._callbacks(rng, c, float(sc["legit.business_callback"]), day_ms)]
        yield cl.concat(out)
