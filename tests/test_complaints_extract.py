"""Complaint text analysis: golden texts written by hand, number forms, rules."""

from __future__ import annotations

import json

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callradar.complaints import CATEGORIES, business_key, extract, find_numbers, known_stems
from conftest import GOLDEN

GOLDEN_FILE = GOLDEN / "complaints" / "extract.jsonl"


def _golden() -> list[dict[str, object]]:
    return [json.loads(line) for line in GOLDEN_FILE.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("case", _golden(), ids=lambda c: str(c["text"])[:12])
def test_golden_extractions(case: dict[str, object]) -> None:
    got = extract(str(case["text"])).to_dict()
    expected = {k: case[k] for k in got}
    assert got == expected


def test_golden_file_is_varied() -> None:
    cases = _golden()
    assert len(cases) >= 12
    assert {c["category"] for c in cases} == set(CATEGORIES)
    assert any(c["refused_before"] for c in cases) and not all(c["refused_before"] for c in cases)
    assert any(c["ai_voice"] for c in cases) and not all(c["ai_voice"] for c in cases)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("号码021-5234-5678", ["+862152345678"]),
        ("号码02152345678", ["+862152345678"]),
        ("号码5234 5678", ["+862152345678"]),
        ("号码+86 21 5234 5678", ["+862152345678"]),
        ("号码(021) 5234-5678", ["+862152345678"]),
        ("号码138-1234-5678", ["+8613812345678"]),
        ("号码8613812345678", ["+8613812345678"]),
        ("号码１３８１２３４５６７８", ["+8613812345678"]),
        ("号码１３８－１２３４－５６７８", ["+8613812345678"]),
        ("号码一三八一二三四五六七八", ["+8613812345678"]),
        ("号码幺七零 幺二三四 五六七八", ["+8617012345678"]),
        ("13812345678、021-52345678", ["+8613812345678", "+862152345678"]),
        ("13812345678 02152345678 13812345678", ["+8613812345678", "+862152345678"]),
        ("2024-07-23 10:15 来电", []),
        ("2024年7月23日下午3点", []),
        ("订了3次，花了500元", []),
        ("打了12345投诉", []),
    ],
)
def test_number_forms(text: str, expected: list[str]) -> None:
    assert find_numbers(text) == expected


def test_default_area_code_is_used_for_local_numbers() -> None:
    assert find_numbers("5234 5678", area_code="10") == ["+861052345678"]


_MOBILE_PREFIXES = ["138", "139", "150", "186", "170", "171", "165", "199"]
_FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


@settings(max_examples=60, deadline=None)
@given(
    prefix=st.sampled_from(_MOBILE_PREFIXES),
    rest=st.text(alphabet="0123456789", min_size=8, max_size=8),
    sep=st.sampled_from(["", " ", "-", " - "]),
    fullwidth=st.booleans(),
    country=st.sampled_from(["", "+86 ", "86", "0086 "]),
)
def test_any_written_mobile_is_found(
    prefix: str, rest: str, sep: str, fullwidth: bool, country: str
) -> None:
    e164 = "+86" + prefix + rest
    if not phonenumbers.is_valid_number(phonenumbers.parse(e164)):
        return
    written = country + sep.join([prefix, rest[:4], rest[4:]])
    if fullwidth:
        written = written.translate(_FULLWIDTH)
    assert find_numbers(f"对方号码是{written}，推销种植牙") == [e164]


def test_business_variants_share_a_key() -> None:
    texts = ["美华口腔打来的", "自称上海美华口腔门诊部", "说是美华齿科的客服", "美华牙科又打了"]
    keys = {extract(t).business_keys for t in texts}
    assert keys == {("美华/medical",)}
    assert extract("美华贷款公司打来").business_keys == ("美华/finance",)
    assert business_key("某某", "口腔") == ""
    assert business_key("浦东新区瑞尔", "齿科") == "瑞尔/medical"


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("已经拒绝了还打", True),
        ("说了不需要", True),
        ("拉黑也没用", True),
        ("说过不要再打", True),
        ("我告诉他们别再打来了", True),
        ("明确表示不需要", True),
        ("接到推销种植牙的电话", False),
        ("我被拒绝了贷款", False),
        ("还没来得及拒绝就挂了", False),
    ],
)
def test_refusal_statements(text: str, refused: bool) -> None:
    assert extract(text).refused_before is refused


@pytest.mark.parametrize(
    ("text", "ai"),
    [
        ("是机器人打的", True),
        ("AI语音", True),
        ("一听就是录音", True),
        ("电脑语音问我", True),
        ("对方说了一堆", False),
        ("email said nothing", False),
    ],
)
def test_ai_voice_mentions(text: str, ai: bool) -> None:
    assert extract(text).ai_voice is ai


def test_empty_text() -> None:
    facts = extract("")
    assert facts.numbers == () and facts.businesses == () and facts.category == "other"


def test_suffix_chains_and_no_false_businesses() -> None:
    assert extract("说是美华金融服务有限公司的").business_keys == ("美华/finance",)
    assert extract("是恒信落户咨询打来的").business_keys == ("恒信/agency",)
    assert extract("提到了绿城置业顾问").business_keys == ("绿城/property",)
    for text in ("推销积分落户服务", "问我要不要办积分落户", "推销学历提升", "我们提供服务"):
        assert extract(text).businesses == (), text


def test_known_stems_name_a_business_written_alone() -> None:
    seen = ["美华/medical", "美华/medical", "恒信/finance", "美华/finance", "美华/finance"]
    seen += ["美华/medical", "瑞尔/medical"]
    known = known_stems(seen, 2)
    assert known == {"美华": ("美华/medical", "美华/finance")}
    assert extract("说是美华的，推销种牙").business_keys == ()
    facts = extract("说是美华的，推销种牙", known=known)
    assert facts.businesses == ("美华",) and facts.business_keys == ("美华/medical",)
    # the text's category picks among businesses sharing a stem
    assert extract("说是美华的，推销贷款", known=known).business_keys == ("美华/finance",)
    # a business named with its suffix wins over the gazetteer
    assert extract("恒信贷款公司，不是美华", known=known).business_keys == ("恒信/finance",)
