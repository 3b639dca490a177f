"""Synthetic honeypot calls for tests, the evaluation and the benchmark.

Nothing is downloaded: prompts, live agents, human callers and the honeypot's
own replies are spoken by ``espeak-ng`` (Mandarin voice ``cmn``, Cantonese
``yue`` for some agents, each with its own variant, pitch and speed), laid out
on a timeline in NumPy, and then shaped by ``sox`` the way a telephone line
shapes them: band 300-3400 Hz, a level change, start clipping (``trim``) and
G.711 mu-law at 8 kHz (some files are then written as 16 kHz FLAC). Line noise
is added before the coding.

Recording layout (the honeypot convention callradar reads): a stereo file has
the remote party (the caller: prompt, live agent, human caller) on the left
channel and the honeypot's own line on the right; a mono file holds the remote
party only. Ground truth of each call (pattern, prompt, hand-over time, speech
segments of the remote party) is returned with it and is for evaluation only.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from callradar.errors import CallradarError

T = TypeVar("T")

RATE = 16_000  # working rate of the clean timeline

PROMPT_TEXTS = (
    "您好，这里是上海美齿口腔医院，本月种植牙限时优惠，请问您需要了解一下吗",
    "您好，我是安居房产的客服，您名下的房子最近有出售或者出租的打算吗",
    "您好，这边是惠民贷款服务中心，您有一笔低息额度待领取，请问现在方便吗",
    "您好，我们是启航教育，孩子的暑期辅导课程正在报名，免费试听一节课",
    "您好，上海居住证积分可以代办，快速落户咨询，请问您有需要吗",
    "您好，这里是康健体检中心，为您预留了一次免费全身体检名额",
    "您好，我是平安保险的专员，您的保单有一项升级权益需要确认",
    "您好，恭喜您获得本店周年庆的抽奖机会，奖品包括手机和电视",
    "您好，我们是装修公司的，您小区正在做免费上门量房设计活动",
    "您好，这里是信用卡中心，您的额度可以提升到五万元，请问需要办理吗",
    "喂您好，这边是牙科诊所的回访，种植牙一颗只要三千八百元",
    "您好，股票投资交流群邀请您加入，每天有老师免费分享牛股",
    "您好，我是汽车销售顾问，新款电动车试驾送礼品，欢迎到店体验",
    "您好，这里是健身会所，开业特惠年卡只要九百九十九元",
    "您好，我们是搬家公司，同城搬家优惠八折，请问近期有搬家计划吗",
    "您好，这里是医美中心，祛斑和皮肤管理项目正在做特价活动",
    "您好，宽带升级提醒，千兆光纤免费提速，请问需要为您办理吗",
    "您好，养老公寓参观邀请，入住首月免费，欢迎带家人来看看",
    "您好，我们是婚恋平台的红娘，为您推荐了几位合适的对象",
    "您好，黄金回收上门服务，价格高于市场，请问您有旧首饰吗",
    "您好，留学咨询中心提醒您，英国和澳洲名校申请正在进行中",
    "您好，这里是眼科医院，近视手术限时立减两千元，名额有限",
)

AGENT_TEXTS = (
    "喂，您好，我是刚才系统转过来的顾问，姓王",
    "我们这个活动就到这个月底，名额不多了",
    "您方便留一下姓名吗，我帮您预约一个时间",
    "您住在哪个区，我们在浦东和徐汇都有门店",
    "费用方面您放心，可以分期付款，没有利息",
    "那我加您微信发个资料给您看一下好吗",
    "这个周六上午您有时间过来吗",
    "我们的专家都是从三甲医院出来的",
    "对的，您先了解一下，不满意不收费",
    "好的，那我稍后让同事再联系您",
    "您之前有做过类似的项目吗",
    "请问您贵姓，怎么称呼您比较方便",
)

CALLER_TEXTS = (
    "喂，是我呀，你今天晚上回来吃饭吗",
    "快递到了，放在楼下的快递柜里了",
    "你好，我是物业，明天上午停水两个小时",
    "我已经到地铁站了，你出来了吗",
    "妈，周末我们回来看你，要带点什么吗",
    "那个文件我发你邮箱了，你看一下",
    "好的好的，那就这么定了",
    "明天开会的时间改到下午三点了",
    "你帮我问一下老师，作业是哪几页",
    "没问题，我马上过去",
    "对，就是上次我们去的那家饭店",
    "行，那先这样，回头再说",
)

HONEYPOT_TEXTS = ("喂，你好", "嗯，你说", "什么事", "是的", "哪位", "哦，好的")

# (voice, pitch range) pools. Prompts are read by "TTS-like" voices; agents are
# always drawn from a different pool so a speaker change exists.
PROMPT_VOICES = (
    ("cmn+f1", 55, 75),
    ("cmn+f2", 55, 75),
    ("cmn+f3", 55, 75),
    ("cmn+f4", 50, 70),
    ("cmn+f5", 55, 75),
)
AGENT_VOICES = (
    ("cmn+m3", 20, 40),
    ("cmn+m6", 20, 40),
    ("yue+m2", 25, 45),
    ("cmn+m2", 20, 40),
    ("cmn", 20, 40),
)
# Note: espeak's m1, m4 and m7 variants are left out: their rough excitation defeats
# the pitch tracker (see docs/quality.md, limitations).
CALLER_VOICES = (
    ("cmn+m2", 30, 50),
    ("cmn+m3", 30, 50),
    ("cmn+f2", 45, 70),
    ("yue+f3", 45, 70),
    ("cmn", 35, 55),
    ("cmn+f4", 45, 70),
)
HONEYPOT_VOICE = ("cmn+m5", 40)

PATTERNS = ("prompt_hangup", "prompt_handover", "conversation", "silence")


def check_tools() -> None:
    """Raise a clear error when espeak-ng or sox is missing."""
    missing = [t for t in ("espeak-ng", "sox") if shutil.which(t) is None]
    if missing:
        raise CallradarError("audio synthesis needs " + " and ".join(missing) + " on PATH")


@dataclass(frozen=True)
class Prompt:
    """A recorded campaign prompt: one text read by one voice."""

    index: int
    text: str
    voice: str
    pitch: int
    speed: int


@dataclass
class SynthCall:
    """One generated honeypot recording and its ground truth."""

    name: str
    pattern: str
    prompt: int | None
    stereo: bool
    remote: np.ndarray  # clean remote-party timeline at RATE
    local: np.ndarray | None  # clean honeypot timeline at RATE (stereo only)
    handover_at: float | None = None
    clip: float = 0.0  # seconds cut from the start by the line
    gain_db: float = 0.0
    noise_db: float = -50.0
    out_rate: int = 8000
    out_format: str = "wav"
    path: Path | None = None
    speech: list[tuple[float, float]] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.remote) / RATE - self.clip


class Voice:
    """espeak-ng renderer with an in-memory and on-disk cache."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        check_tools()
        self.cache_dir = cache_dir
        self._mem: dict[str, np.ndarray] = {}

    def say(self, text: str, voice: str, pitch: int, speed: int) -> np.ndarray:
        key = hashlib.sha1(f"{voice}|{pitch}|{speed}|{text}".encode()).hexdigest()[:20]
        if key in self._mem:
            return self._mem[key]
        cached = self.cache_dir / f"{key}.npy" if self.cache_dir else None
        if cached is not None and cached.exists():
            y = np.load(cached)
        else:
            proc = subprocess.run(
                ["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "--stdout", text],
                check=True,
                capture_output=True,
            )
            x, sr = sf.read(io.BytesIO(proc.stdout), dtype="float32")
            y = resample_poly(x, RATE, sr).astype(np.float32)
            # espeak pads with silence; trim it so timelines are exact.
            loud = np.flatnonzero(np.abs(y) > 0.01)
            if loud.size:
                y = y[max(loud[0] - 80, 0) : loud[-1] + 80]
            y = 0.25 * y / (np.abs(y).max() + 1e-9)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.save(cached, y)
        self._mem[key] = y
        return y


def make_prompts(n: int, seed: int = 0) -> list[Prompt]:
    """``n`` distinct prompts (text, voice, pitch, speed), reproducible from ``seed``."""
    if n > len(PROMPT_TEXTS):
        raise CallradarError(f"at most {len(PROMPT_TEXTS)} distinct prompts can be made")
    rng = np.random.default_rng(seed)
    texts = rng.permutation(len(PROMPT_TEXTS))[:n]
    out = []
    for i, t in enumerate(texts):
        voice, lo, hi = PROMPT_VOICES[int(rng.integers(len(PROMPT_VOICES)))]
        out.append(
            Prompt(
                i,
                PROMPT_TEXTS[int(t)],
                voice,
                int(rng.integers(lo, hi + 1)),
                int(rng.integers(150, 191)),
            )
        )
    return out


class _Timeline:
    def __init__(self, stereo: bool) -> None:
        self.remote: list[tuple[float, np.ndarray]] = []
        self.local: list[tuple[float, np.ndarray]] = []
        self.stereo = stereo
        self.t = 0.0

    def put(self, y: np.ndarray, *, remote: bool, gap: float) -> tuple[float, float]:
        start = self.t + gap
        (self.remote if remote else self.local).append((start, y))
        self.t = start + len(y) / RATE
        return start, self.t

    def render(self, tail: float) -> tuple[np.ndarray, np.ndarray | None]:
        n = int((self.t + tail) * RATE)
        r = np.zeros(n, np.float32)
        loc = np.zeros(n, np.float32)
        for start, y in self.remote:
            i = int(start * RATE)
            r[i : i + len(y)] += y[: n - i]
        for start, y in self.local:
            i = int(start * RATE)
            loc[i : i + len(y)] += y[: n - i]
        return r, (loc if self.stereo else None)


def _pick(rng: np.random.Generator, pool: tuple[T, ...]) -> T:
    return pool[int(rng.integers(len(pool)))]


def make_call(
    pattern: str,
    rng: np.random.Generator,
    voice: Voice,
    prompts: list[Prompt],
    name: str,
    *,
    stereo: bool | None = None,
    prompt: int | None = None,
    degrade: bool = True,
    noise_db: tuple[float, float] = (-50.0, -35.0),
) -> SynthCall:
    """Lay out one call of ``pattern`` on a clean timeline (no line effects yet)."""
    if pattern not in PATTERNS:
        raise CallradarError(f"unknown pattern {pattern!r}")
    stereo = bool(rng.random() < 0.5) if stereo is None else stereo
    tl = _Timeline(stereo)
    handover_at = None
    pidx: int | None = None
    hp_voice, hp_pitch = HONEYPOT_VOICE

    def honeypot_reply(gap: float) -> None:
        y = voice.say(_pick(rng, HONEYPOT_TEXTS), hp_voice, hp_pitch, 170)
        if stereo:
            tl.put(y, remote=False, gap=gap)
        else:
            tl.t += gap + len(y) / RATE  # mono: the honeypot's words are not recorded

    if pattern == "silence":
        tl.t = float(rng.uniform(3.0, 12.0))
        if stereo and rng.random() < 0.5:
            honeypot_reply(0.5)
            tl.t += float(rng.uniform(2.0, 6.0))
    elif pattern in ("prompt_hangup", "prompt_handover"):
        pidx = int(rng.integers(len(prompts))) if prompt is None else prompt
        p = prompts[pidx]
        if stereo and rng.random() < 0.3:
            honeypot_reply(float(rng.uniform(0.1, 0.4)))  # "喂?" when answering
        tl.put(voice.say(p.text, p.voice, p.pitch, p.speed), remote=True, gap=rng.uniform(0.3, 1.2))
        if pattern == "prompt_handover":
            honeypot_reply(float(rng.uniform(0.3, 0.9)))
            av, lo, hi = _pick(rng, AGENT_VOICES)
            pitch, speed = int(rng.integers(lo, hi + 1)), int(rng.integers(150, 191))
            texts = rng.permutation(len(AGENT_TEXTS))[: int(rng.integers(2, 4))]
            for k, t in enumerate(texts):
                s, _ = tl.put(
                    voice.say(AGENT_TEXTS[int(t)], av, pitch, speed),
                    remote=True,
                    gap=float(rng.uniform(0.5, 1.2)),
                )
                if k == 0:
                    handover_at = s
                if k < len(texts) - 1 and rng.random() < 0.6:
                    honeypot_reply(float(rng.uniform(0.3, 0.8)))
    else:  # conversation
        cv, lo, hi = _pick(rng, CALLER_VOICES)
        pitch, speed = int(rng.integers(lo, hi + 1)), int(rng.integers(150, 191))
        honeypot_reply(float(rng.uniform(0.2, 0.6)))
        texts = rng.permutation(len(CALLER_TEXTS))[: int(rng.integers(2, 5))]
        for t in texts:
            tl.put(
                voice.say(CALLER_TEXTS[int(t)], cv, pitch, speed),
                remote=True,
                gap=float(rng.uniform(0.4, 1.0)),
            )
            honeypot_reply(float(rng.uniform(0.3, 0.8)))
    tail = float(rng.uniform(0.2, 1.2))
    remote, local = tl.render(tail)
    call = SynthCall(name, pattern, pidx, stereo, remote, local, handover_at)
    if degrade:
        if pidx is not None and rng.random() < 0.4:
            call.clip = float(rng.uniform(0.3, 1.2)) + float(tl.remote[0][0])
        call.gain_db = float(rng.uniform(-10.0, 6.0))
        call.noise_db = float(rng.uniform(*noise_db))
    if call.handover_at is not None:
        call.handover_at -= call.clip
    call.speech = _speech_truth(remote, call.clip)
    return call


def _speech_truth(remote: np.ndarray, clip: float) -> list[tuple[float, float]]:
    """Speech segments of the clean remote signal (10 ms frames, gaps < 150 ms filled)."""
    hop = RATE // 100
    n = len(remote) // hop
    e = np.sqrt(np.mean(remote[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)
    on = e > 10 ** (-40 / 20) * 0.25
    if not on.any():
        return []
    idx = np.flatnonzero(np.diff(np.r_[0, on.astype(np.int8), 0]))
    starts, ends = idx[0::2], idx[1::2]
    segs: list[list[float]] = []
    for s, e_ in zip(starts, ends, strict=True):
        if segs and s / 100 - segs[-1][1] < 0.15:
            segs[-1][1] = e_ / 100
        else:
            segs.append([s / 100, e_ / 100])
    out = []
    for s, e_ in segs:
        s, e_ = s - clip, e_ - clip
        if e_ > 0:
            out.append((max(float(s), 0.0), float(e_)))
    return out


def render(call: SynthCall, out_dir: Path, rng: np.random.Generator) -> Path:
    """Pass the call through the line with sox and write it; returns the path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    chans = [call.remote] if call.local is None else [call.remote, call.local]
    x = np.stack(chans, axis=1)
    x = x + (10 ** (call.noise_db / 20)) * rng.standard_normal(x.shape).astype(np.float32)
    call.out_rate = 16000 if rng.random() < 0.3 else 8000
    call.out_format = "flac" if call.out_rate == 16000 else "wav"
    path = out_dir / f"{call.name}.{call.out_format}"
    with tempfile.TemporaryDirectory() as td:
        clean = Path(td) / "clean.wav"
        sf.write(clean, np.clip(x, -1, 1), RATE, subtype="FLOAT")
        ulaw = Path(td) / "line.wav"
        effects = ["sinc", "300-3400", "gain", f"{call.gain_db:.2f}"]
        if call.clip > 0:
            effects = ["trim", f"{call.clip:.3f}", *effects]
        # -R: repeatable (seeded dither), so one seed renders the same files
        cmd = ["sox", "-R", "-q", "-V1", str(clean), "-r", "8000", "-e", "mu-law", str(ulaw)]
        cmd += effects
        subprocess.run(cmd, check=True, capture_output=True)
        if call.out_format == "wav":
            shutil.copyfile(ulaw, path)
        else:
            cmd = ["sox", "-R", "-q", "-V1", str(ulaw), "-r", "16000", "-b", "16", str(path)]
            subprocess.run(cmd, check=True, capture_output=True)
    call.path = path
    return path


def make_set(
    out_dir: Path,
    n_calls: int,
    n_prompts: int,
    seed: int = 0,
    mix: dict[str, float] | None = None,
    cache_dir: Path | None = None,
    noise_db: tuple[float, float] = (-50.0, -35.0),
) -> list[SynthCall]:
    """Generate and render ``n_calls`` calls over ``n_prompts`` prompts into ``out_dir``.

    Line noise is white noise at a level drawn from ``noise_db`` (dBFS; speech
    peaks sit at about -12 dBFS before the line's gain change). Also writes the
    sidecar ``meta.csv`` (file, caller, callee, time, transcript).
    Every prompt is used at least once when ``n_calls`` allows.
    """
    mix = mix or {"prompt_hangup": 0.45, "prompt_handover": 0.3, "conversation": 0.15}
    mix = {**mix, "silence": max(0.0, 1.0 - sum(mix.values()))}
    rng = np.random.default_rng(seed)
    prompts = make_prompts(n_prompts, seed)
    voice = Voice(cache_dir)
    names = list(mix)
    probs = np.array([mix[k] for k in names], float)
    patterns = rng.choice(names, size=n_calls, p=probs / probs.sum())
    calls: list[SynthCall] = []
    prompt_calls = 0
    for i, pat in enumerate(patterns):
        forced = None
        if pat.startswith("prompt") and prompt_calls < n_prompts:
            forced = prompt_calls
        if pat.startswith("prompt"):
            prompt_calls += 1
        c = make_call(
            str(pat), rng, voice, prompts, f"call{i:04d}", prompt=forced, noise_db=noise_db
        )
        render(c, out_dir, rng)
        calls.append(c)
    lines = ["file,caller,callee,time,transcript"]
    for i, c in enumerate(calls):
        caller = f"+86215{int(rng.integers(1_000_000, 9_999_999)):07d}"  # rotating numbers
        transcript = prompts[c.prompt].text if c.prompt is not None else ""
        lines.append(
            f"{c.path.name if c.path else ''},{caller},+8613900{i:06d},"
            f"2026-11-2{i % 9}T10:{i % 60:02d}:00+08:00,{transcript}"
        )
    (out_dir / "meta.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return calls
