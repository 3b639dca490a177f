"""Honeypot lines: a few of the city's lines answer campaign calls and record them.

A carrier's honeypots are ordinary-looking subscriber lines that answer every
call and stay silent, so a campaign's robot plays its whole recorded prompt and
hangs up (the CDR shows the silent case: talk time at the prompt length). They
are a share of the citizens' numbers (``honeypots.share``; the vendors'
calls to them are answered in :mod:`callradar.simulate.vendors`). For every
campaign call to a honeypot the simulator renders what the line heard, as the
audio stage will meet it in the field: the campaign's recorded prompt (its own
text pair, voice and pitch, at a speed chosen so it lasts about the campaign's
prompt length), then silence until the robot hangs up, through the telephone
line (band, gain, noise, G.711 or 16 kHz FLAC, sometimes a clipped opening:
:func:`callradar.audio.synth.render`).

Files go to ``honeypot-D/`` per day with the sidecar ``meta.csv``
(``file,caller,callee,time``), the form ``callradar audio --meta`` reads. Nothing
in them names the campaign: the audio stage has to find the prompt by its sound.

Calls from ordinary and legitimate callers to honeypots are not rendered (cost:
a honeypot would record them too, and the audio stage would call them
conversations or other prompts); only the vendors' calls are.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from callradar.errors import BadRequestError
from callradar.simulate.calls import Chunk
from callradar.simulate.scenario import Scenario
from callradar.simulate.world import Catalog, City

# speech rates (espeak-ng words per minute) that still sound like a recorded prompt
_SPEED_RANGE = (100, 260)
_BASE_SPEED = 170


# More robocall offers than the audio stage's own test prompts, so that every campaign
# of a city (8 vendors x up to 6 clients) can say a sentence of its own.
MORE_PROMPT_TEXTS = (
    "您好，这里是心悦月子中心，预约参观即送产后修复体验一次",
    "您好，我们是学车驾校，暑期报名立减五百元，包接送",
    "您好，这边是二手车收购平台，您的爱车可以免费上门估价",
    "您好，我们是少儿编程培训机构，免费体验课本周六开课",
    "您好，这里是中医养生馆，艾灸理疗体验价只要十九元",
    "您好，我们是家政服务公司，保洁阿姨可以包月上门",
    "您好，这里是口腔门诊部，儿童牙齿矫正正在做免费检查",
    "您好，我们是理财顾问，年化收益稳定的产品还有少量额度",
    "您好，这里是旅行社，云南六日游特价团还剩最后几个名额",
    "您好，我们是净水器厂家，免费为您家检测自来水水质",
    "您好，这里是听力中心，助听器免费验配，老人可以来试戴",
    "您好，我们是商铺招商部，地铁口旺铺低价出租，欢迎咨询",
    "您好，这里是宠物医院，猫狗疫苗套餐本月八折优惠",
    "您好，我们是考研辅导机构，名师全程班今天报名有优惠",
    "您好，这里是植发医院，专家面诊免费，术后不满意全额退款",
    "您好，我们是地板和瓷砖的建材市场，周末团购会邀请您参加",
    "您好，这里是老年大学招生处，书法和声乐课程开放报名",
    "您好，我们是手机回收公司，旧手机可以抵扣新机款",
    "您好，这里是减肥瘦身中心，二十一天科学减重免费体验",
    "您好，我们是企业注册代办，公司注册和记账报税一站式服务",
    "您好，这里是钢琴培训学校，成人零基础也能学，首课免费",
    "您好，我们是防水补漏公司，卫生间渗水上门检测不收费",
    "您好，这里是足疗养生会所，新店开业会员充值送一倍",
    "您好，我们是家电清洗服务，空调和油烟机深度清洗特价",
    "您好，这里是摄影工作室，全家福和儿童照套餐限时优惠",
    "您好，我们是外语培训学校，日语和韩语周末班正在招生",
)


_DIR_NAME = re.compile(r"^honeypot-(\d{4}-\d\d-\d\d)$")


def honeypot_dirs(out: Path) -> dict[str, Path]:
    """The per-day honeypot folders (``honeypot-<ISO date>``) of a simulator output
    folder, by ISO date."""
    found = ((_DIR_NAME.match(p.name), p) for p in sorted(out.glob("honeypot-*")))
    return {m.group(1): p for m, p in found if m and p.is_dir()}


class Honeypots:
    """Picks the honeypot lines, collects the campaign calls they answer, renders them."""

    def __init__(self, sc: Scenario, seed: int, city: City, catalog: Catalog, out: Path) -> None:
        rng = np.random.default_rng([seed, 31])
        n = round(city.n * float(sc["honeypots.share"]))
        self.numbers = None
        if n:
            city.honeypot[rng.choice(city.n, size=n, replace=False)] = True
            self.numbers = city.numbers[city.honeypot]
        self.seed = seed
        self.catalog = catalog
        self.out = out
        self._parts: list[tuple[np.ndarray, ...]] = []
        self._prompts: list[Any] | None = None
        self._voice: Any = None

    @property
    def enabled(self) -> bool:
        return self.numbers is not None

    def take(self, ch: Chunk) -> None:
        """Keep the campaign calls of ``ch`` that rang a honeypot (all answered)."""
        if self.numbers is None or not len(ch):
            return
        sel = (ch.campaign > 0) & ch.answered & np.isin(ch.callee, self.numbers)
        if sel.any():
            answer_ms = ch.start_ms[sel] + (ch.ring[sel] * 1000).astype(np.int64)
            self._parts.append((answer_ms, ch.caller[sel], ch.callee[sel], ch.campaign[sel]))

    def _campaign_prompts(self) -> list[Any]:
        """One prompt per campaign code (index 0 unused): a sentence of the shipped
        and the extra prompt texts, said once or repeated (robots often repeat their
        offer), in a voice and pitch of its own, at a speed that makes it last about the
        campaign's prompt length.

        Campaign ``k`` says sentence ``k`` (mod 48, in a seeded order) in voice
        ``k + k // 48`` (mod 5): a sentence of its own up to 48 campaigns, then shared
        in another voice (up to 144 campaigns); campaigns sharing a voice still share
        openings ("您好，这里是..."), which the audio stage must not take for one prompt."""
        from callradar.audio.synth import PROMPT_TEXTS, PROMPT_VOICES, Prompt, Voice

        texts = PROMPT_TEXTS + MORE_PROMPT_TEXTS
        n_texts = len(texts)
        n_campaigns = len(self.catalog.campaign_ids) - 1
        most = 3 * n_texts
        if n_campaigns > most:
            raise BadRequestError(
                f"honeypot audio tells at most {most} campaigns apart ({n_campaigns} here): "
                "set honeypots.share = 0 or fewer vendors or clients"
            )
        self._voice = Voice()
        rng = np.random.default_rng([self.seed, 32])
        perm = rng.permutation(n_texts)
        out: list[Any] = [None]
        for k in range(n_campaigns):
            sentence = texts[int(perm[k % n_texts])]
            voice, lo, hi = PROMPT_VOICES[(k + k // n_texts) % len(PROMPT_VOICES)]
            pitch = int(rng.integers(lo, hi + 1))
            once = len(self._voice.say(sentence, voice, pitch, _BASE_SPEED)) / 8000
            target = float(self.catalog.campaign_prompt[k + 1])
            reps = min((1, 2, 3), key=lambda r: abs(np.log(target / (r * once))))
            speed = int(np.clip(round(_BASE_SPEED * reps * once / target), *_SPEED_RANGE))
            out.append(Prompt(k + 1, "，".join([sentence] * reps), voice, pitch, speed))
        return out

    def write_day(self, date: dt.date, tag: str) -> int:
        """Render the day's collected calls into ``honeypot-<date>/``; returns how many."""
        parts, self._parts = self._parts, []
        folder = self.out / f"honeypot-{date.isoformat()}"
        if folder.exists():
            shutil.rmtree(folder)
        if self.numbers is None:
            return 0
        folder.mkdir(parents=True)
        cols = [np.concatenate(c) for c in zip(*parts, strict=True)] if parts else []
        rows: list[tuple[str, str, str, str]] = []
        if cols:
            from callradar.audio.synth import make_call, render

            if self._prompts is None:
                self._prompts = self._campaign_prompts()
            order = np.argsort(cols[0], kind="stable")
            answer_ms, caller, callee, campaign = (c[order] for c in cols)
            rng = np.random.default_rng([self.seed, 33, date.toordinal()])
            for i in range(len(order)):
                name = f"{tag}H{i:05d}"
                call = make_call(
                    "prompt_hangup", rng, self._voice, self._prompts, name, prompt=int(campaign[i])
                )
                path = render(call, folder, rng)
                when = dt.datetime.fromtimestamp(int(answer_ms[i]) / 1000, dt.UTC)
                rows.append(
                    (path.name, f"+{int(caller[i])}", f"+{int(callee[i])}", when.isoformat())
                )
        with (folder / "meta.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["file", "caller", "callee", "time"])
            w.writerows(rows)
        return len(rows)
