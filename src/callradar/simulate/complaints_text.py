"""Complaint texts in citizens' own words: templates with many variants and filled slots.

A complaint may name the business the agent mentioned (in full, abbreviated or
garbled), may write the calling number (in one of several written forms),
often does not; it says the calls keep coming, that the citizen refused
already, that blocking does not help, that it was a robot voice, and what
was being sold.
"""

from __future__ import annotations

import numpy as np

from callradar.simulate.world import CATEGORIES

OPENINGS = (
    "最近老是接到骚扰电话，",
    "我每天都接到推销电话，",
    "反映一下，",
    "本人投诉：",
    "这几天一直有人打电话给我，",
    "你好，我要投诉骚扰电话。",
    "真的受不了了，",
    "又是推销电话！",
    "天天被电话轰炸，",
    "",
)
SELLING = {
    "dental": (
        "问我要不要种植牙", "推销种植牙", "说是口腔医院做活动",
        "问我牙齿有没有问题", "推销洗牙和种牙",
    ),
    "residence_points": ("问我要不要办积分落户", "推销积分落户服务", "说可以帮忙办落户"),
    "loan": ("问我要不要贷款", "推销贷款", "说可以低息贷款", "问我需不需要资金周转"),
    "property": ("推销房产", "问我要不要买房", "问我有没有房子要卖"),
    "education": ("推销教育培训", "问孩子要不要补课", "推销学历提升"),
    "insurance": ("推销保险", "问我要不要买保险", "说有一款保险产品"),
}  # fmt: skip
AI_VOICE = (
    "一接起来是机器人在说话",
    "开头是AI语音",
    "是录音，不是真人",
    "先放一段机器人录音",
    "一听就是AI外呼",
    "电话里是机器声音",
)
REFUSED = (
    "我已经拒绝过好几次了",
    "我明确说了不需要",
    "说了不需要还继续打",
    "已经拒绝了还打",
    "跟他说别再打了，没用",
    "我早就说过不要再打了",
)
BLOCKING = (
    "拉黑也没用，每次都换号码",
    "号码天天换，拉黑不了",
    "屏蔽了一个又来一个",
    "拦截软件也拦不住",
    "拉黑了又换个号码打过来",
)
FREQUENCY = ("每天都打", "一天好几个", "隔两三天就来一次", "一周打了好几次", "工作时间不停地打")
ENDINGS = (
    "请有关部门处理。",
    "希望尽快查处。",
    "严重影响生活和工作。",
    "请求彻查。",
    "麻烦管一管。",
    "",
)
NAMED = ("说是{b}的", "对方自称{b}", "是{b}打来的", "提到了{b}", "说他们是{b}")
NUMBERED = ("号码是{n}", "来电号码{n}", "用{n}打的", "最近一次是{n}")
CHANNELS = ("12345", "12321", "app")


def business_variant(name: str, category: str, rng: np.random.Generator) -> str:
    """The business as a citizen remembers it: full, without its suffix, or misremembered."""
    suffixes = CATEGORIES.get(category, ())
    stem = name
    for suf in sorted(suffixes, key=len, reverse=True):
        if name.endswith(suf):
            stem = name[: -len(suf)]
            break
    u = rng.random()
    if u < 0.4 or stem == name:
        return name
    if u < 0.65:
        return stem + (suffixes[0][:2] if suffixes else "")
    if u < 0.8:
        return stem
    return stem + suffixes[int(rng.integers(len(suffixes)))]


def written_number(num: int, rng: np.random.Generator) -> str:
    """A number the way people write it: 021-5234-5678, 02152345678, 52345678, 170 1234 5678."""
    digits = str(int(num))[2:]  # drop the country code
    if digits.startswith("21"):
        local = digits[2:]
        forms: tuple[str, ...] = (
            f"021-{local[:4]}-{local[4:]}",
            f"021{local}",
            f"021-{local}",
            local,
            f"{local[:4]} {local[4:]}",
            f"+86 21 {local}",
        )
    else:
        forms = (
            digits,
            f"{digits[:3]} {digits[3:7]} {digits[7:]}",
            f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
        )
    return forms[int(rng.integers(len(forms)))]


def reported_form(num: int, rng: np.random.Generator) -> str:
    """A parseable form for the reported_numbers column (the hotline copies it from the log)."""
    digits = str(int(num))[2:]
    if digits.startswith("21") and rng.random() < 0.5:
        return f"021-{digits[2:6]}-{digits[6:]}"
    return f"+86{digits}" if rng.random() < 0.5 else ("0" + digits if digits[0] == "2" else digits)


def complaint_text(
    rng: np.random.Generator,
    business: str,
    category: str,
    caller: int,
    refused_before: bool,
    name_business: float,
    mention_number: float,
) -> str:
    def pick(options: tuple[str, ...]) -> str:
        return options[int(rng.integers(len(options)))]

    parts: list[str] = [pick(OPENINGS)]
    clauses: list[str] = []
    if rng.random() < 0.6:
        clauses.append(pick(AI_VOICE))
    clauses.append(pick(SELLING.get(category, ("推销",))))
    if rng.random() < name_business:
        clauses.append(pick(NAMED).format(b=business_variant(business, category, rng)))
    if rng.random() < mention_number:
        clauses.append(pick(NUMBERED).format(n=written_number(caller, rng)))
    if rng.random() < 0.5:
        clauses.append(pick(FREQUENCY))
    if refused_before or rng.random() < 0.15:
        clauses.append(pick(REFUSED))
    if rng.random() < 0.45:
        clauses.append(pick(BLOCKING))
    order = [int(i) + 1 for i in rng.permutation(len(clauses) - 1)]
    body = [clauses[0]] + [clauses[i] for i in order]
    parts.append("，".join(body) + "。")
    parts.append(pick(ENDINGS))
    return "".join(parts)
