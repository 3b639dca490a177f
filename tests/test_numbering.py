"""Numbering plan: E.164 normalization and classification, SQL path == phonenumbers path."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from callradar import numbering as nb


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+862152345678", "+862152345678"),
        ("021-5234-5678", "+862152345678"),
        ("02152345678", "+862152345678"),
        ("(021) 5234 5678", "+862152345678"),
        ("13812345678", "+8613812345678"),
        ("8613812345678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("0086 138 1234 5678", "+8613812345678"),
        ("17951 13812345678", "+8613812345678"),  # IP-dialing prefix stripped by phonenumbers
        ("057188123456", "+8657188123456"),
        ("95588", "+8695588"),
        ("+1 415 555 0123", "+14155550123"),
        ("not a number", None),
        ("12", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_forms(raw: str | None, e164: str | None) -> None:
    assert nb.normalize([raw]).to_pylist() == [e164]
    assert nb.normalize_one(raw) == e164


def test_normalize_keeps_order_nulls_and_arrow_input() -> None:
    arr = pa.chunked_array([["13812345678", None], ["021-5234-5678", "13812345678", "x"]])
    assert nb.normalize(arr).to_pylist() == [
        "+8613812345678",
        None,
        "+862152345678",
        "+8613812345678",
        None,
    ]


def _random_numbers(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)

    def digits(k: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(k))

    makers = [
        lambda: "1" + digits(10),
        lambda: "0" + digits(rng.choice([9, 10, 11])),
        lambda: "+86" + digits(rng.choice([8, 9, 10, 11])),
        lambda: "86" + "1" + digits(10),
        lambda: digits(rng.choice([3, 4, 5, 6, 7, 8])),
        lambda: rng.choice(["400", "800", "950", "162", "165", "167", "170", "171"]) + digits(7),
        lambda: "0086 " + digits(10),
        lambda: "021-" + digits(4) + "-" + digits(4),
        lambda: "+86 1" + digits(2) + " " + digits(4) + " " + digits(4),
        lambda: "+" + digits(rng.choice([10, 11, 12])),
    ]
    return [rng.choice(makers)() for _ in range(n)]


def test_sql_fast_path_agrees_with_phonenumbers() -> None:
    raws = _random_numbers(4000, seed=7)
    got = nb.normalize(raws).to_pylist()
    want = [nb.normalize_one(r) for r in raws]
    assert got == want
    # the fast path really decides most of these (else the test proves little)
    import duckdb

    con = duckdb.connect()
    con.register("t", pa.table({"v": raws}))
    fast = con.sql(f"SELECT count({nb.normalize_sql('v')}) FROM t").fetchall()[0][0]
    assert fast > len(raws) * 0.4


def test_sql_classification_agrees_with_phonenumbers() -> None:
    numbers = [n for n in nb.normalize(_random_numbers(4000, seed=11)).to_pylist() if n]
    table = nb.classify(numbers)
    assert table.num_rows == len(set(numbers))
    kinds = set()
    for row in table.to_pylist():
        ref = nb.classify_one(row["number"])
        assert row == vars(ref), row["number"]
        kinds.add(row["kind"])
    assert {"mobile", "virtual", "fixed_line", "service", "shared_cost", "invalid"} <= kinds


@pytest.mark.parametrize(
    ("raw", "kind", "carrier", "area", "area_code", "block"),
    [
        ("13812345678", "mobile", "China Mobile", None, "", "+861381234"),
        ("16512345678", "virtual", "", None, "", "+861651234"),
        ("17012345678", "virtual", None, None, "", "+861701234"),
        ("17112345678", "virtual", "China Unicom", None, "", "+861711234"),
        ("02152345678", "fixed_line", "", "Shanghai", "21", "+8621523456"),
        ("01062345678", "fixed_line", "", "Beijing", "10", "+8610623456"),
        ("95588", "service", "", "", "", "+8695588"),
        ("10086", "service", "", "", "", "+8610086"),
        ("12345", "service", "", "", "", "+8612345"),
        ("110", "service", "", "", "", "+86110"),
        ("4008123456", "shared_cost", "", "", "", "+8640081234"),
        ("8001234567", "toll_free", "", "", "", "+8680012345"),
        ("14012345678", "invalid", "", "", "", "+86140123456"),
        ("+14155550123", "foreign", "", "US", "", "+141555501"),
    ],
)
def test_known_numbers(
    raw: str, kind: str, carrier: str | None, area: str | None, area_code: str, block: str
) -> None:
    e164 = nb.normalize_one(raw)
    assert e164 is not None
    (row,) = nb.classify([e164]).to_pylist()
    assert row["kind"] == kind
    if carrier is not None:
        assert row["carrier"] == carrier
    if area is not None:
        assert row["area"] == area
    assert row["area_code"] == area_code
    assert row["block"] == block == nb.block_key(e164)
