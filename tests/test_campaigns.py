from __future__ import annotations

from callradar.campaigns import link_campaigns
from callradar.store import Store
from protect_world import A_NUMBERS, B_NUMBERS, LEGIT, build


def _members(store: Store) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for cid, num in store.sql("SELECT campaign_id, number FROM campaign_numbers").fetchall():
        out.setdefault(cid, set()).add(num)
    return out


def test_links_rotating_numbers_into_campaigns(store: Store) -> None:
    build(store)
    result = link_campaigns(store)
    groups = sorted(_members(store).values(), key=len, reverse=True)
    assert groups == [set(A_NUMBERS), set(B_NUMBERS)]
    assert result.campaigns == 2 and result.new_campaigns == 2
    assert not set(LEGIT) & set().union(*groups)
    prompts = dict(store.sql("SELECT numbers, prompt_seconds FROM campaigns").fetchall())
    assert prompts == {len(A_NUMBERS): 12.0, len(B_NUMBERS): 15.0}
    trunks = store.sql("SELECT DISTINCT trunk FROM campaign_trunks ORDER BY 1").fetchall()
    assert trunks == [("TA",), ("TB",)]


def test_ids_stay_stable_when_new_numbers_join(store: Store) -> None:
    build(store)
    link_campaigns(store)
    before = {frozenset(v): k for k, v in _members(store).items()}
    a_id = before[frozenset(A_NUMBERS)]
    # a new number of campaign A appears in A's range the next day, playing A's prompt
    new = "+862160001099"
    store.sql(
        "INSERT INTO calls SELECT 'new' || i, TIMESTAMPTZ '2024-07-02 10:00:00+08' "
        "+ i * INTERVAL 1 MINUTE, TIMESTAMPTZ '2024-07-02 10:00:20+08' + i * INTERVAL 1 MINUTE,"
        " ?, '+8613820000' || lpad(i::VARCHAR, 3, '0'), 'TA', 8, true, 12.1, 'caller_hangup', NULL"
        " FROM range(10) t(i)",
        [new],
    )
    store.sql(
        "INSERT INTO numbers (number, kind, carrier, area, block) "
        "VALUES (?, 'fixed_line', '', 'Shanghai', ?)",
        [new, new[:-2]],
    )
    store.sql(
        "INSERT INTO number_scores VALUES (?, DATE '2024-07-02', 0.95, 'burst', 'test', now())",
        [new],
    )
    result = link_campaigns(store)
    after = _members(store)
    assert new in after[a_id]
    assert result.new_campaigns == 0 and result.kept_ids == 2
