"""Facts from one Chinese complaint text: numbers, businesses, category, refusal, AI voice.

:func:`extract` is the one entry (the live server calls it per ``POST /v1/complaints``;
:func:`callradar.complaints.analyse_complaints` calls it for stored complaints).

Rules and dictionaries (the same list is in docs/quality.md):

* **Numbers**: see :mod:`callradar.complaints.numbers` (any written form, E.164 out).
* **Businesses**: the text is segmented with jieba (a private tokenizer with the
  business suffixes of :data:`SUFFIXES` added as words, so the global jieba is not
  touched). A business is a suffix (``口腔``, ``口腔门诊部``, ``齿科``, ``牙科``,
  ``门诊部``, ``医院``, ``服务中心``, ``贷款公司``, ``地产``, ``保险`` ...; adjacent
  suffix words merge, ``口腔`` + ``门诊部``) preceded by a *stem*: up to three tokens
  and six characters read backwards until a stop token (punctuation, digits, pronouns,
  ``是 叫 自称 接到 打来 说`` ... in :data:`STOP_TOKENS`, and any
  longer token ending in 是: 先是, 说是); a verb glued to the name is cut off
  (是润德 -> 润德), and a conjunction between two single characters is kept (嘉 和 -> 嘉和).
  A stem that is shorter than two
  characters or generic (``某某``, ``一家``, ``什么``) names no business. The display name is stem
  + suffix (``上海美华口腔门诊部``).
* **Business key** (groups variants): ``<stem>/<family>``, where the stem loses a
  leading Shanghai place name (``上海``, ``浦东新区`` ...) and the family comes from the
  suffix: ``medical`` (口腔, 齿科, 牙科, 门诊部, 医院, 诊所 ...: 美华口腔, 美华口腔门诊部
  and 美华齿科 all give ``美华/medical``), ``agency``, ``finance``, ``property``,
  ``education``, ``insurance`` or ``company``.
* **Known stems**: when no suffix names a business, a stem that other complaints
  named with a suffix (the ``known`` gazetteer, built by :func:`known_stems` from the
  stored keys) names that business when written alone ("说是美华的" -> ``美华/medical``).
* **Category**: keyword hits (:data:`CATEGORY_WORDS`) counted over the text, plus two
  for each business whose suffix belongs to a category; the most hits wins, ties in
  the order of :data:`CATEGORIES`; no hit is ``other``.
* **Refused before**: :data:`REFUSAL_PATTERNS`: a refusal word (拒绝 not after 被/没/无法/及/想,
  拉黑, 屏蔽, 拦截, 投诉过), an insistence word (已经, 明确, 多次, 一再) before 不需要 / 不要 / 拒,
  or a speaking verb followed within six characters by 不需要 / 不要 (not the
  questions 需不需要 / 要不要) /
  别打 / 不感兴趣 (说了不需要, 说过不要再打, 告诉他们别打).
* **AI voice**: :data:`AI_PATTERNS`: 机器人, AI (as a word), 人工智能, 录音, 电脑语音,
  合成, 自动语音, 智能语音, 语音播报, 不是真人, 机器声.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from callradar.complaints.numbers import find_numbers


def _words(text: str) -> list[str]:
    """A whitespace-separated word list (keeps long dictionaries readable)."""
    return text.split()


CATEGORIES: tuple[str, ...] = (
    "dental_implants",
    "residence_points",
    "loans",
    "property",
    "education",
    "insurance",
    "other",
)

# suffix -> (family, category or "")
SUFFIXES: dict[str, tuple[str, str]] = {
    "口腔医院": ("medical", "dental_implants"),
    "口腔门诊部": ("medical", "dental_implants"),
    "口腔门诊": ("medical", "dental_implants"),
    "口腔诊所": ("medical", "dental_implants"),
    "口腔医疗": ("medical", "dental_implants"),
    "口腔": ("medical", "dental_implants"),
    "齿科": ("medical", "dental_implants"),
    "牙科诊所": ("medical", "dental_implants"),
    "牙科医院": ("medical", "dental_implants"),
    "牙科": ("medical", "dental_implants"),
    "种植牙中心": ("medical", "dental_implants"),
    "门诊部": ("medical", ""),
    "医院": ("medical", ""),
    "诊所": ("medical", ""),
    "医疗美容": ("medical", ""),
    "积分落户服务中心": ("agency", "residence_points"),
    "落户服务中心": ("agency", "residence_points"),
    "人才服务中心": ("agency", "residence_points"),
    "人才": ("agency", "residence_points"),
    "落户": ("agency", "residence_points"),
    "积分": ("agency", "residence_points"),
    "服务中心": ("agency", ""),
    "咨询中心": ("agency", ""),
    "咨询公司": ("agency", ""),
    "中介": ("agency", ""),
    "贷款公司": ("finance", "loans"),
    "贷款": ("finance", "loans"),
    "小额贷款": ("finance", "loans"),
    "金融": ("finance", "loans"),
    "金服": ("finance", "loans"),
    "信贷": ("finance", "loans"),
    "银行": ("finance", "loans"),
    "房地产": ("property", "property"),
    "地产": ("property", "property"),
    "置业": ("property", "property"),
    "房产": ("property", "property"),
    "教育": ("education", "education"),
    "培训学校": ("education", "education"),
    "培训": ("education", "education"),
    "学校": ("education", "education"),
    "学院": ("education", "education"),
    "学历": ("education", "education"),
    "保险经纪": ("insurance", "insurance"),
    "保险": ("insurance", "insurance"),
    "有限公司": ("company", ""),
    "公司": ("company", ""),
    "集团": ("company", ""),
}

# Words that may follow a suffix inside a business name but never start one:
# 美华 + 金融 + 服务 + 有限公司, 恒信 + 落户 + 咨询, 绿城 + 置业 + 顾问.
CONTINUATIONS: frozenset[str] = frozenset(
    _words(
        """服务 咨询 顾问 经纪 代理 中心 提升 提升中心 服务中心 有限公司 公司 集团 门诊部
        医院 诊所 机构 工作室 事务所 分公司 分店 连锁"""
    )
)
# Family of a business named only by its stem (gazetteer hits) -> category, if unambiguous.
FAMILY_CATEGORY: dict[str, str] = {
    "finance": "loans",
    "property": "property",
    "education": "education",
    "insurance": "insurance",
}

CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "dental_implants": (
        "种植牙",
        "种牙",
        "植牙",
        "牙齿",
        "口腔",
        "齿科",
        "牙科",
        "洗牙",
        "补牙",
        "镶牙",
        "假牙",
        "正畸",
        "矫正",
        "牙周",
        "拔牙",
        "看牙",
    ),
    "residence_points": (
        "积分",
        "落户",
        "居住证",
        "户口",
        "人才引进",
        "随迁",
        "入户",
    ),
    "loans": (
        "贷款",
        "借款",
        "借钱",
        "额度",
        "信用贷",
        "放款",
        "利息",
        "网贷",
        "低息",
        "分期",
        "征信",
        "资金周转",
    ),
    "property": (
        "房子",
        "楼盘",
        "买房",
        "房产",
        "二手房",
        "看房",
        "新房",
        "房源",
        "地产",
        "置业",
        "卖房",
        "学区房",
        "商铺",
    ),
    "education": (
        "培训",
        "课程",
        "学历",
        "考证",
        "辅导",
        "教育",
        "补习",
        "补课",
        "家教",
        "网课",
        "学位",
        "升学",
        "报名",
        "成人高考",
    ),
    "insurance": (
        "保险",
        "保单",
        "医疗险",
        "理赔",
        "保费",
        "投保",
        "重疾",
    ),
}


# Tokens that end a business stem when reading backwards from its suffix.
STOP_TOKENS: frozenset[str] = frozenset(
    _words(
        """的 了 是 叫 叫做 自称 称 号称 说 说是 接到 接 打来 打 来 来自 给 从 在 和 跟 与 及 或 让
    被 把 向 对 找 去 到 有 帮 为 又 还 也 都 就 再 我 我们 你 你们 他 他们 她 她们 它 这 那
    这个 那个 一个 一家 这家 那家 什么 哪 哪个 哪家 某 某某 某个 个 家 电话 打电话 推销 介绍
    客服 声称 冒充 所谓 一直 天天 每天 多次 经常 今天 昨天 前天 上午 下午 晚上 号码 手机
    一 位 名 人 员工 工作人员 业务员 关于 通知 免费 推荐 宣传 广告 骚扰 联系 是不是 问 问我
    要 想 需要 不 不要 没有 已经 说了 可以 能 会
    一款 一种 一份 有个 这种 那种 做 办 办理 帮忙 去做 都是 先 后来 然后 接着 还有 以及 或者"""
    )
)
GENERIC_STEMS: frozenset[str] = frozenset(
    _words(
        """某 某某 某个 一家 一个 这家 那家 什么 哪家 一些 各种
        私人 民营 专业 正规 大型 小额 低息 无抵押 信用 个人 优惠 免费"""
    )
)
PLACES: tuple[str, ...] = tuple(
    sorted(
        _words(
            """上海市 上海 浦东新区 浦东 徐汇区 徐汇 静安区 静安 黄浦区
            黄浦 长宁区 长宁 普陀区 普陀 虹口区 虹口 杨浦区 杨浦 闵行区
            闵行 宝山区 宝山 嘉定区 嘉定 金山区 金山 松江区 松江 青浦区
            青浦 奉贤区 奉贤 崇明区 崇明 本市"""
        ),
        key=len,
        reverse=True,
    )
)

REFUSAL_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?<![被没无法能不及想])拒绝"),
    re.compile(r"拉黑|屏蔽|拦截|拦不住|加入黑名单|投诉过|举报过"),
    re.compile(
        r"(说|讲|告诉|表示|要求|让|叫|回复|回绝|强调)[^。！？!?]{0,6}"
        r"((?<!需)不需要|(?<!要)不要|别打|别再|不感兴趣|没兴趣|不用了|不用)"
    ),
    re.compile(
        r"(已经|明确|多次|一再|再三|反复)[^。！？!?]{0,4}((?<!需)不需要|(?<!要)不要|拒|表示)"
    ),
)
AI_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"机器人|人工智能|电脑语音|电脑声音|电脑的声音|合成语音|合成的声音|自动语音"),
    re.compile(r"智能语音|语音播报|不是真人|机器声|机器的声音|机器音|录音|自动拨打|群呼"),
    re.compile(r"(?<![A-Za-z])AI(?![A-Za-z])", re.IGNORECASE),
)

_PUNCT_OR_DIGIT = re.compile(r"^[\W\d_]+$")
_NAME_TOKEN = re.compile(r"^[\u4e00-\u9fffA-Za-z]+$")
_MAX_STEM_TOKENS = 3
_MAX_STEM_CHARS = 6

_tok_lock = threading.Lock()
_tokenizer: Any = None


@dataclass(frozen=True, slots=True)
class ComplaintFacts:
    """What one complaint text says. Numbers are E.164; names as the citizen wrote them."""

    numbers: tuple[str, ...] = ()
    businesses: tuple[str, ...] = ()
    business_keys: tuple[str, ...] = ()
    category: str = "other"
    refused_before: bool = False
    ai_voice: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("numbers", "businesses", "business_keys"):
            d[k] = list(d[k])
        return d


def tokenizer() -> Any:
    """The private jieba tokenizer with the business suffixes added (built once)."""
    global _tokenizer
    if _tokenizer is None:
        with _tok_lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                for word in SUFFIXES:
                    tok.add_word(word, freq=200_000)
                tok.initialize()
                _tokenizer = tok
    return _tokenizer


def extract(
    text: str,
    area_code: str = "21",
    region: str = "CN",
    known: Mapping[str, Sequence[str]] | None = None,
) -> ComplaintFacts:
    """Analyse one complaint text (see the module docstring for the rules).

    ``known`` maps business stems already seen in other complaints to their keys
    (see :func:`known_stems`, most frequent first); when the text names no business
    by the suffix rule, a known stem written alone ("说是美华的") names that business.
    """
    text = text or ""
    norm = unicodedata.normalize("NFKC", text)
    tokens = [t for t in tokenizer().lcut(norm) if t.strip()]
    businesses, keys, biz_categories = _businesses(tokens)
    if not businesses and known:
        businesses, keys, biz_categories = _known_businesses(norm, known)
    return ComplaintFacts(
        numbers=tuple(find_numbers(text, area_code=area_code, region=region)),
        businesses=tuple(businesses),
        business_keys=tuple(keys),
        category=_category(norm, biz_categories),
        refused_before=any(p.search(norm) for p in REFUSAL_PATTERNS),
        ai_voice=any(p.search(norm) for p in AI_PATTERNS),
    )


def known_stems(keys: Iterable[str], min_count: int = 1) -> dict[str, tuple[str, ...]]:
    """Stem -> keys gazetteer from the business keys seen, most frequent key first.

    A key counts when seen at least ``min_count`` times. One stem may belong to
    several businesses (美华口腔 and 美华贷款); :func:`extract` then takes the one
    whose family fits the text's category, else the most frequent.
    """
    counts: dict[str, dict[str, int]] = {}
    for key in keys:
        stem = key.rsplit("/", 1)[0]
        if len(stem) >= 2:
            per = counts.setdefault(stem, {})
            per[key] = per.get(key, 0) + 1
    out: dict[str, tuple[str, ...]] = {}
    for stem, per in counts.items():
        ranked = sorted((k for k, n in per.items() if n >= min_count), key=lambda k: (-per[k], k))
        if ranked:
            out[stem] = tuple(ranked)
    return out


# category -> the business family that sells it
CATEGORY_FAMILY: dict[str, str] = {
    "dental_implants": "medical",
    "residence_points": "agency",
    "loans": "finance",
    "property": "property",
    "education": "education",
    "insurance": "insurance",
}


def _known_businesses(
    norm: str, known: Mapping[str, Sequence[str]]
) -> tuple[list[str], list[str], list[str]]:
    upper = norm.upper()
    wanted = CATEGORY_FAMILY.get(_category(norm, []), "")
    names: list[str] = []
    keys: list[str] = []
    cats: list[str] = []
    taken: list[tuple[int, int]] = []
    for stem in sorted(known, key=len, reverse=True):
        at = upper.find(stem)
        if at < 0 or any(a < at + len(stem) and at < b for a, b in taken) or not known[stem]:
            continue
        options = known[stem]
        key = next((k for k in options if k.rsplit("/", 1)[-1] == wanted), options[0])
        if key in keys:
            continue
        taken.append((at, at + len(stem)))
        names.append(norm[at : at + len(stem)])
        keys.append(key)
        cat = FAMILY_CATEGORY.get(key.rsplit("/", 1)[-1], "")
        if cat:
            cats.append(cat)
    return names, keys, cats


def business_key(stem: str, suffix: str) -> str:
    """The grouping key of a business named ``stem + suffix`` ("" if it names none)."""
    core = stem
    for place in PLACES:
        if core.startswith(place) and len(core) > len(place):
            core = core[len(place) :]
            break
    core = core.upper()
    if len(core) < 2 or core in GENERIC_STEMS or stem in GENERIC_STEMS:
        return ""
    family = SUFFIXES[suffix][0] if suffix in SUFFIXES else "company"
    return f"{core}/{family}"


def _split_suffix(token: str) -> tuple[str, str]:
    """(head, suffix) when the token ends with a business suffix, else ("", "")."""
    for suffix in _SUFFIXES_LONGEST_FIRST:
        if token.endswith(suffix):
            return token[: -len(suffix)], suffix
    return "", ""


_SUFFIXES_LONGEST_FIRST = tuple(sorted(SUFFIXES, key=len, reverse=True))
_CATEGORY_TOKENS = frozenset(w for words in CATEGORY_WORDS.values() for w in words)


def _businesses(tokens: list[str]) -> tuple[list[str], list[str], list[str]]:
    names: list[str] = []
    keys: list[str] = []
    cats: list[str] = []
    i = 0
    while i < len(tokens):
        head, suffix = _split_suffix(tokens[i])
        if not suffix:
            i += 1
            continue
        # merge following suffix words: 口腔 + 门诊部 -> 口腔门诊部
        j = i + 1
        while j < len(tokens) and (tokens[j] in SUFFIXES or tokens[j] in CONTINUATIONS):
            suffix += tokens[j]
            j += 1
        product = bool(head) and (head in _CATEGORY_TOKENS or head in STOP_TOKENS)
        if product:
            head = ""  # 低息贷款, 种植牙: a kind of product, not a name
        stem = head or ("" if product else _stem_before(tokens, i))
        last = _split_suffix(suffix)[1] or suffix
        first_suffix = _first_suffix(suffix)
        key = business_key(stem, first_suffix)
        if key:
            name = stem + suffix
            if key not in keys:
                names.append(name)
                keys.append(key)
            cat = SUFFIXES.get(first_suffix, ("", ""))[1] or SUFFIXES.get(last, ("", ""))[1]
            if cat:
                cats.append(cat)
        i = j
    return names, keys, cats


def _stem_before(tokens: list[str], i: int) -> str:
    """The business stem read backwards from the token before ``tokens[i]``."""
    parts: list[str] = []
    k = i - 1
    while k >= 0 and len(parts) < _MAX_STEM_TOKENS:
        tok = tokens[k]
        size = sum(map(len, parts))
        if (
            tok in _WEAK_STOPS
            and size <= 1
            and k > 0
            and len(tokens[k - 1]) == 1
            and tokens[k - 1] not in STOP_TOKENS
            and _NAME_TOKEN.match(tokens[k - 1])
        ):
            # 嘉 / 和 / 贷款: a one-character conjunction inside a two-character name
            parts[0:0] = [tokens[k - 1], tok]
            break
        if len(tok) >= 3 and tok[0] in _LEADING_STOPS and _NAME_TOKEN.match(tok[1:]):
            # 是润德 / 口腔: the verb is glued to the name
            if size + len(tok) - 1 <= _MAX_STEM_CHARS:
                parts.insert(0, tok[1:])
            break
        if (
            tok in STOP_TOKENS
            or (len(tok) > 1 and tok.endswith("是"))
            or tok in SUFFIXES
            or tok in CONTINUATIONS
            or tok in _CATEGORY_TOKENS
            or not _NAME_TOKEN.match(tok)
            or size + len(tok) > _MAX_STEM_CHARS
        ):
            break
        parts.insert(0, tok)
        k -= 1
    return "".join(parts)


_WEAK_STOPS = frozenset("和与及或")
_LEADING_STOPS = frozenset("是叫说称")


def _first_suffix(suffix: str) -> str:
    """The most specific known suffix at the start of a merged suffix (口腔门诊部 -> 口腔门诊部)."""
    for cand in _SUFFIXES_LONGEST_FIRST:
        if suffix.startswith(cand):
            return cand
    return suffix


def _category(text: str, biz_categories: list[str]) -> str:
    scores = {c: 0 for c in CATEGORIES}
    for cat, words in CATEGORY_WORDS.items():
        scores[cat] += sum(text.count(w) for w in words)
    for cat in biz_categories:
        scores[cat] += 2
    best = max(CATEGORIES[:-1], key=lambda c: (scores[c], -CATEGORIES.index(c)))
    return best if scores[best] > 0 else "other"
