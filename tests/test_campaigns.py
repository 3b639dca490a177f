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


def test_prompt_groups_do_not_bridge_two_campaigns_through_noisy_estimates() -> None:
    from callradar.campaigns.link import _chain, _UnionFind

    # two campaigns of one vendor with prompts 12.05 s and 12.3 s; every neighbouring
    # pair of estimates is within 0.15 s, so a plain chain would merge them all
    prompts = [12.0, 12.05, 12.1, 12.2, 12.3, 12.35]
    members = [(p, f"n{i}") for i, p in enumerate(prompts)]
    uf = _UnionFind()
    _chain(members, 0.15, uf)
    groups: dict[str, set[str]] = {}
    for _, n in members:
        groups.setdefault(uf.find(n), set()).add(n)
    assert sorted(map(sorted, groups.values())) == [["n0", "n1", "n2"], ["n3", "n4", "n5"]]
