from __future__ import annotations

from pathlib import Path
from typing import Any

from callradar.campaigns import link_campaigns
from callradar.config import Config
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


def test_a_number_with_one_prompt_length_call_joins_its_campaign(store: Store) -> None:
    build(store)
    # three new numbers of A's range with four calls each, one answered to the prompt's end
    sparse = [f"+86216000{1050 + i}" for i in range(3)]
    for k, number in enumerate(sparse):
        store.sql(
            "INSERT INTO calls SELECT ? || i, TIMESTAMPTZ '2024-07-02 10:00:00+08' "
            "+ i * INTERVAL 1 MINUTE, TIMESTAMPTZ '2024-07-02 10:00:30+08' + i * INTERVAL 1 MINUTE,"
            " ?, '+8613830000' || lpad((? * 10 + i)::VARCHAR, 3, '0'), 'TA', 8, i = 0,"
            " CASE WHEN i = 0 THEN 12.1 ELSE 0 END, 'caller_hangup', NULL FROM range(4) t(i)",
            [f"s{k}-", number, k],
        )
        store.sql(
            "INSERT INTO numbers (number, kind, carrier, area, block) "
            "VALUES (?, 'fixed_line', '', 'Shanghai', ?)",
            [number, number[:-2]],
        )
        store.sql(
            "INSERT INTO number_scores VALUES (?, DATE '2024-07-02', 0.9, 'burst', 'test', now())",
            [number],
        )
    link_campaigns(store)
    groups = _members(store)
    home = next(cid for cid, members in groups.items() if A_NUMBERS[0] in members)
    assert set(sparse) <= groups[home]
    assert not set(B_NUMBERS) & groups[home]


def test_pooled_talk_times_show_each_prompt_and_not_a_time_out() -> None:
    import numpy as np

    from callradar.campaigns.prompts import find_peaks

    rng = np.random.default_rng(3)
    talks = []
    for prompt in (9.7, 12.0, 15.3):
        talks.append(prompt + rng.normal(0, 0.12, 40).clip(-0.3, 0.3))  # silent listeners
        talks.append(rng.uniform(1.0, prompt, 30))  # hung up during the prompt
        talks.append(np.exp(rng.normal(np.log(60), 0.8, 40)).clip(20, 300))  # agents
    talks.append(np.full(25, 20.0))  # a switch's 20-s time-out: one exact value
    peaks = find_peaks(np.round(np.concatenate(talks), 1))
    assert len(peaks) == 3
    assert np.allclose(peaks, [9.7, 12.0, 15.3], atol=0.06)


def test_assign_gives_each_number_the_peak_its_calls_land_on() -> None:
    import numpy as np

    from callradar.campaigns.prompts import assign

    centres = np.array([9.7, 12.0, 15.3])
    lists = [[12.1], [3.2, 9.6, 9.8], [4.0, 7.5], [9.7, 15.3], [], [15.2, 15.4, 12.0]]
    assert assign(lists, centres) == [1, 0, None, None, None, 2]


def test_prompt_groups_do_not_bridge_two_campaigns_through_noisy_estimates() -> None:
    from callradar.campaigns.prompts import split_peak

    # two campaigns of one vendor with prompts 12.05 s and 12.3 s; every neighbouring
    # pair of estimates is within 0.15 s, so a plain chain would merge them all
    prompts = [12.0, 12.05, 12.1, 12.2, 12.3, 12.35]
    parts = split_peak(prompts, [5] * len(prompts), 0.15)
    assert parts[:3] == [parts[0]] * 3 and parts[3:] == [parts[3]] * 3
    assert parts[0] != parts[3]
    # numbers resting on one or two calls join a group only when it is clearly the nearest
    parts = split_peak([*prompts, 12.02, 12.18, 12.4], [5] * 6 + [1, 1, 2], 0.15)
    assert parts[6] == parts[0] and parts[8] == parts[3]
    assert parts[7] is None  # 12.18: about as near to both
    # with one group, every number of the peak joins it
    assert split_peak([12.0, 12.4, 11.7], [9, 1, 1], 0.15) == [0, 0, 0]


def _store_suspects(
    store: Store, rows: list[tuple[Any, ...]], numbers: list[tuple[str, str]]
) -> None:
    """Calls ``(id, start, caller, callee, answered, talk)`` on trunk TA, and the callers
    as fixed lines of their 100-number block, each scored as a suspect."""
    store.con.executemany(
        "INSERT INTO calls (call_id, start_time, end_time, caller, callee, trunk, ring_seconds,"
        " answered, talk_seconds, end_reason) VALUES (?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ"
        " + INTERVAL 40 SECOND, ?, ?, 'TA', 8, ?, ?, 'caller_hangup')",
        [(r[0], r[1], r[1], r[2], r[3], r[4], r[5]) for r in rows],
    )
    store.con.executemany(
        "INSERT INTO numbers (number, kind, carrier, area, block) "
        "VALUES (?, 'fixed_line', '', 'Shanghai', ?)",
        [(num, num[:-2]) for num, _ in numbers],
    )
    store.con.executemany(
        "INSERT INTO number_scores VALUES (?, DATE '2024-07-01', 0.95, 'burst', 'test', now())",
        [(num,) for num, _ in numbers],
    )


def test_two_clients_with_one_prompt_are_told_apart_by_their_slices(store: Store) -> None:
    """One vendor, one range, two clients whose prompts are 0.1 s apart: each client's
    numbers re-dial its own slice of the target list on later days, never the other's."""
    import random

    rnd = random.Random(5)
    slices = {
        "X": [f"+86138400{i:05d}" for i in range(0, 300)],
        "Y": [f"+86138400{i:05d}" for i in range(300, 600)],
    }
    prompt = {"X": 12.0, "Y": 12.1}
    rows, numbers = [], []
    n = 0
    for client, offset in (("X", 0), ("Y", 50)):
        for day in range(3):
            for k in range(3):  # three numbers a day, each dials a third of the slice,
                # cut at other places every day (the day's re-dials and fresh targets)
                number = f"+86216000{2000 + offset + day * 3 + k:04d}"
                numbers.append((number, client))
                part = [slices[client][(k * 100 + day * 50 + i) % 300] for i in range(100)]
                for j, callee in enumerate(part):
                    n += 1
                    answered = j % 3 == 0
                    talk = prompt[client] + rnd.gauss(0, 0.1) if answered else 0.0
                    start = f"2024-07-0{day + 1} {9 + k}:{j // 2 % 60:02d}:00+08"
                    rows.append((f"s{n}", start, number, callee, answered, round(talk, 1)))
    _store_suspects(store, rows, numbers)
    link_campaigns(store)
    found = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
    ids = {client: {found[num] for num, c in numbers if c == client} for client in "XY"}
    assert len(ids["X"]) == 1 and len(ids["Y"]) == 1
    assert ids["X"] != ids["Y"]


def _two_clients_one_list(store: Store) -> list[tuple[str, str]]:
    """One vendor, one range, two clients whose prompts are 0.1 s apart, each number
    dialling citizens no other number dialled: the prompt peak cannot tell them apart."""
    import random

    rnd = random.Random(11)
    prompt = {"X": 12.0, "Y": 12.1}
    rows, numbers = [], []
    n = 0
    for day in range(2):
        for k in range(6):
            client = "XY"[k % 2]
            # a dialer takes each client's lines from the range in a run
            number = f"+86216000{3000 + 100 * (k % 2) + day * 10 + k // 2:04d}"
            numbers.append((number, client))
            for j in range(90):
                callee = f"+86138500{day * 1000 + k * 100 + j:05d}"
                n += 1
                answered = j % 3 == 0
                talk = prompt[client] + rnd.gauss(0, 0.05) if answered else 0.0
                start = f"2024-07-0{day + 1} {9 + k}:{j // 2 % 60:02d}:{j % 2 * 30:02d}+08"
                rows.append((f"h{n}", start, number, callee, answered, round(talk, 2)))
    _store_suspects(store, rows, numbers)
    return numbers


def _hear(store: Store, heard: list[tuple[str, str]], score: int | None = None) -> None:
    """Honeypot recordings of ``(number, prompt_id)``, as the audio stage stores them
    (``score``: aligned landmark hits of the match; None for the recording that
    founded the prompt)."""
    first = store.sql("SELECT count(*) FROM recordings").fetchall()[0][0]
    store.con.executemany(
        "INSERT INTO recordings (file, caller, duration, pattern, prompt_id, speech_seconds,"
        " channels, sample_rate, match_score)"
        " VALUES (?, ?, 14.0, 'prompt_hangup', ?, 12.0, 1, 8000, ?)",
        [(f"r{first + i}.wav", num, pid, score) for i, (num, pid) in enumerate(heard)],
    )


def _ids(store: Store, numbers: list[tuple[str, str]]) -> dict[str, set[str]]:
    found = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
    return {c: {found.get(num, "") for num, cl in numbers if cl == c} for c in "XY"}


def test_one_range_two_recordings_are_two_campaigns(store: Store) -> None:
    numbers = _two_clients_one_list(store)
    link_campaigns(store)
    ids = _ids(store, numbers)
    assert ids["X"] == ids["Y"] and len(ids["X"]) == 1  # without audio: one campaign
    # honeypots heard one number of each client: two different recordings
    x = next(num for num, c in numbers if c == "X")
    y = next(num for num, c in numbers if c == "Y")
    _hear(store, [(x, "PR0001"), (y, "PR0002"), (x, "PR0001")])
    link_campaigns(store)
    ids = _ids(store, numbers)
    assert len(ids["X"]) == 1 and len(ids["Y"]) == 1 and ids["X"] != ids["Y"]
    linked_by = dict(store.sql("SELECT number, linked_by FROM campaign_numbers").fetchall())
    assert "range+prompt" in linked_by[x]


def test_one_recording_joins_numbers_of_two_ranges(store: Store) -> None:
    build(store)
    link_campaigns(store)
    a = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
    assert a[A_NUMBERS[0]] != a[B_NUMBERS[0]]
    # a weak match (a shared greeting, say) is not enough to join two campaigns
    _hear(store, [(A_NUMBERS[0], "PR0007")])
    _hear(store, [(B_NUMBERS[0], "PR0007")], score=50)
    link_campaigns(store)
    found = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
    assert found[A_NUMBERS[0]] != found[B_NUMBERS[0]]
    # the same recorded prompt clearly heard from a number of each: one campaign after all
    _hear(store, [(B_NUMBERS[1], "PR0007")], score=400)
    link_campaigns(store)
    found = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
    assert {found[n] for n in A_NUMBERS + B_NUMBERS} == {found[A_NUMBERS[0]]}
    linked = dict(store.sql("SELECT number, linked_by FROM campaign_numbers").fetchall())
    assert "prompt_id" in linked[B_NUMBERS[1]]


def test_union_find_keeps_sets_heard_playing_different_prompts_apart() -> None:
    from callradar.campaigns.unionfind import UnionFind

    uf = UnionFind()
    uf.hear("a", "PR1")
    uf.hear("b", "PR2")
    assert uf.join("a", "x")  # a number never heard joins either
    assert not uf.join("x", "b")  # but then its set was heard playing PR1, b's PR2
    uf.hear("c", "PR1")
    uf.hear("c", "PR2")  # the analysis gave one prompt two ids: c bridges them
    assert uf.join("a", "c") and uf.join("c", "b")
    assert len(set(uf.groups("abcx"))) == 1
    assert uf.prompts[uf.find("a")] == {"PR1", "PR2"}


def _farm_numbers(
    store: Store, rows: list[tuple[Any, ...]], farm: list[str], scored: str = "2024-07-03"
) -> None:
    """Calls ``(caller, callee, start, answered, talk)`` on trunk MOB from SIM-farm
    mobiles, each scored as a suspect."""
    store.con.executemany(
        "INSERT INTO calls (call_id, start_time, end_time, caller, callee, trunk, ring_seconds,"
        " answered, talk_seconds, end_reason) VALUES (?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ"
        " + INTERVAL 40 SECOND, ?, ?, 'MOB', 8, ?, ?, 'caller_hangup')",
        [(f"m{i}", r[2], r[2], r[0], r[1], r[3], r[4]) for i, r in enumerate(rows)],
    )
    store.con.executemany(
        "INSERT INTO numbers (number, kind, carrier, area, block) VALUES (?, 'mobile', '', '', ?)",
        [(num, num[:-4]) for num in farm],
    )
    store.con.executemany(
        "INSERT INTO number_scores VALUES (?, ?::DATE, 0.95, 'burst', 'test', now())",
        [(num, scored) for num in farm],
    )


def _sim_farm(store: Store, called_back_by: int) -> str:
    """Three SIM-farm mobiles re-dialling one client's citizens with one prompt, and a
    fourth, quiet one (no answered call) dialling eight of the same citizens."""
    farm = ["+8613912345678", "+8615823456789", "+8618734567890", "+8613698765432"]
    citizens = [f"+86138600{i:05d}" for i in range(120)]
    rows = []
    for k, number in enumerate(farm[:3]):
        for day in range(2):
            for j in range(60):
                callee = citizens[(k * 40 + day * 20 + j) % 120]
                answered = j % 4 == 0
                rows.append((number, callee, f"2024-07-0{day + 1} {9 + k}:{j:02d}:00+08",
                             answered, 12.0 + (j % 3) * 0.05 if answered else 0.0))  # fmt: skip
    for j in range(8):
        rows.append((farm[3], citizens[j * 7], f"2024-07-02 15:{j:02d}:00+08", False, 0.0))
    for j in range(called_back_by):
        rows.append((citizens[j * 7], farm[3], f"2024-07-02 18:{j:02d}:00+08", True, 60.0))
    _farm_numbers(store, rows, farm, scored="2024-07-02")
    return farm[3]


def test_a_quiet_farm_mobile_joins_by_callees_unless_people_call_it(store: Store) -> None:
    quiet = _sim_farm(store, called_back_by=0)
    link_campaigns(store)
    found = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
    linked = dict(store.sql("SELECT number, linked_by FROM campaign_numbers").fetchall())
    assert linked[quiet] == "callees"
    assert len({found[n] for n in found if n.startswith("+861") and len(n) == 14}) == 1


def test_a_phone_its_contacts_call_joins_no_campaign_by_callees(store: Store) -> None:
    quiet = _sim_farm(store, called_back_by=2)
    link_campaigns(store)
    found = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
    farm = {found[n] for n in found if n.startswith("+861") and len(n) == 14 and n != quiet}
    assert len(farm) == 1 and found.get(quiet) not in farm


def _quiet(store: Store, number: str, hour: int = 12) -> None:
    """``number`` placed only three unanswered calls, to citizens nobody else dialled,
    from ``hour`` on the first day."""
    store.sql("DELETE FROM calls WHERE caller = ?", [number])
    store.con.executemany(
        "INSERT INTO calls (call_id, start_time, end_time, caller, callee, trunk, ring_seconds,"
        " answered, talk_seconds, end_reason) VALUES (?, TIMESTAMPTZ '2024-07-01 00:00:00+08'"
        " + INTERVAL (?) MINUTE, TIMESTAMPTZ '2024-07-01 00:00:30+08' + INTERVAL (?) MINUTE,"
        " ?, ?, 'TA', 30, false, 0, 'no_answer')",
        [(f"q{number}{i}", hour * 60 + i, hour * 60 + i, number, f"+86138900{hour:02d}00{i:02d}")
         for i in range(3)],
    )  # fmt: skip


def test_a_quiet_number_inside_a_campaigns_run_of_lines_joins_it(store: Store) -> None:
    build(store)
    inside, edge = A_NUMBERS[2], A_NUMBERS[5]
    _quiet(store, inside)
    _quiet(store, edge)  # after the run's lines below it started: the line taken next
    link_campaigns(store)
    found = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
    linked = dict(store.sql("SELECT number, linked_by FROM campaign_numbers").fetchall())
    assert linked[inside] == "run" and found[inside] == found[A_NUMBERS[0]]
    assert linked[edge] == "run" and found[edge] == found[A_NUMBERS[0]]


def test_a_quiet_number_above_a_run_that_started_before_it_stays_alone(store: Store) -> None:
    """A dialer takes a client's lines in order: a line above the run that was dialling
    before the run's newest line started is not the one it took next (it may be the
    first line of another client's run)."""
    build(store)
    edge = A_NUMBERS[5]
    _quiet(store, edge, hour=8)  # the run's lines start at 09:00
    link_campaigns(store)
    found = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
    assert found[edge] != found[A_NUMBERS[0]]


def test_a_weaker_prompt_beside_a_strong_one_is_its_own_peak() -> None:
    """Two clients' prompts 0.6 s apart: the strong one's window must not hide the weak
    one (peaks are taken strongest first, each one's calls set aside)."""
    import numpy as np

    from callradar.campaigns.prompts import find_peaks

    rng = np.random.default_rng(8)
    talks = [
        13.1 + rng.normal(0, 0.12, 60).clip(-0.3, 0.3),
        13.7 + rng.normal(0, 0.12, 110).clip(-0.3, 0.3),
        12.1 + rng.normal(0, 0.12, 60).clip(-0.3, 0.3),
        rng.uniform(1.0, 15.0, 150),  # hung up during some prompt
    ]
    peaks = find_peaks(np.round(np.concatenate(talks), 1))
    assert len(peaks) == 3
    assert np.allclose(peaks, [12.1, 13.1, 13.7], atol=0.15)


def test_two_prompts_four_tenths_apart_settle_where_their_calls_are() -> None:
    """Peeled strongest first, the first window takes the calls between two prompts
    0.4 s apart, pulling its centre towards the second and pushing the second away;
    settled, each centre is its own calls' mean, and each client's calls go to its own."""
    import numpy as np

    from callradar.campaigns.prompts import assign, find_peaks

    rng = np.random.default_rng(1)
    c4 = np.round(11.4 + rng.normal(0, 0.12, 100).clip(-0.3, 0.3), 1)
    c5 = np.round(11.8 + rng.normal(0, 0.12, 90).clip(-0.3, 0.3), 1)
    rest = np.round(rng.uniform(1.0, 11.5, 120), 1)  # hung up during the prompts
    peaks = find_peaks(np.concatenate([c4, c5, rest]))
    assert np.allclose(peaks, [11.4, 11.8], atol=0.04), peaks
    # a line of each client with a few silent listeners lands on its own prompt
    assert assign([[11.3, 11.5], [11.7, 11.9]], peaks) == [0, 1]


def _dial(number: str, callees: list[str], day: int, hour: int, prompt: float) -> list[Any]:
    return [
        (number, c, f"2024-07-0{day} {hour + j // 60}:{j % 60:02d}:00+08", j % 3 == 0,
         prompt if j % 3 == 0 else 0.0)
        for j, c in enumerate(callees)
    ]  # fmt: skip


def test_a_redial_follows_the_list_and_a_crossing_sweep_does_not(store: Store) -> None:
    """Mobile X dials 60 citizens in order; two days later Y re-dials the first 30 of
    them in that order (one campaign). Z, another vendor's SIM with a prompt of the same
    length, sweeps the same stretch of the city and meets every other one of X's
    citizens between citizens of its own list: half its callees are X's too, but its
    calls interleave, so it is not a re-dial."""
    x, y, z = "+8613912340001", "+8615823450002", "+8618734560003"
    mine = [f"+86138610{i:05d}" for i in range(0, 120, 2)]
    others = [f"+86138610{i:05d}" for i in range(1, 120, 4)]
    crossing = [c for pair in zip(mine[::2], others, strict=True) for c in pair]
    rows = _dial(x, mine, 1, 9, 12.0) + _dial(y, mine[:30], 3, 9, 12.0)
    rows += _dial(z, crossing, 2, 14, 12.05)
    _farm_numbers(store, rows, [x, y, z])
    link_campaigns(store)
    found = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
    assert found[x] == found[y]
    assert found[z] != found[x]


def test_two_farm_mobiles_continuing_one_numeric_sweep_are_one_campaign(store: Store) -> None:
    """A SIM farm has no range, but a sweep in numeric order handed from one mobile to
    the next (the second starts just past where the first stopped), with one prompt,
    is one campaign's; a mobile continuing it with another prompt is not."""
    a, b, c = "+8613912340011", "+8615823450012", "+8618734560013"
    citizens = [f"+86138620{i:05d}" for i in range(0, 600, 3)]
    rows = _dial(a, citizens[:60], 1, 9, 12.0) + _dial(b, citizens[60:120], 1, 14, 12.0)
    rows += _dial(c, citizens[120:180], 1, 18, 16.0)
    _farm_numbers(store, rows, [a, b, c])
    link_campaigns(store)
    found = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
    linked = dict(store.sql("SELECT number, linked_by FROM campaign_numbers").fetchall())
    assert found[a] == found[b] and "sweep" in linked[b]
    assert found[c] != found[b]


def test_a_hand_over_between_two_ranges_on_one_trunk_joins_nothing(store: Store) -> None:
    """One landline starts dialling as another retires, playing a prompt of the same
    length, on one reseller trunk: a reseller's trunk carries many vendors, so without
    a shared range this is chance (measured on wide_spread: such joins put two vendors'
    clients in one campaign)."""
    import random

    rnd = random.Random(3)
    rows, numbers = [], []
    for k, (number, hour) in enumerate((("+862160001234", 9), ("+862170005678", 10))):
        numbers.append((number, "XY"[k]))
        for j in range(60):
            answered = j % 3 == 0
            talk = 12.0 + rnd.gauss(0, 0.05) if answered else 0.0
            start = f"2024-07-01 {hour}:{j:02d}:00+08"
            callee = f"+86138{4 + k}00{rnd.randrange(10**5):05d}"
            rows.append((f"h{k}-{j}", start, number, callee, answered, round(talk, 2)))
    _store_suspects(store, rows, numbers)
    link_campaigns(store)
    found = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
    assert found[numbers[0][0]] != found[numbers[1][0]]


def test_two_farm_mobiles_handing_over_on_one_trunk_join_nothing(store: Store) -> None:
    """A SIM-farm mobile starts dialling as another retires, playing a prompt of the same
    length, on one trunk: dozens of farms' campaigns share a trunk and their prompt
    lengths collide, so this alone is chance (measured on sim_farm, seed 42: such a join
    put two vendors' clients in one campaign)."""
    import random

    rnd = random.Random(3)
    rows = []
    farm = ["+8613912345678", "+8615823456789"]
    for k, number in enumerate(farm):
        for j in range(60):
            answered = j % 3 == 0
            talk = 12.0 + rnd.gauss(0, 0.05) if answered else 0.0
            callee = f"+86138{4 + k}00{rnd.randrange(10**5):05d}"
            rows.append((number, callee, f"2024-07-01 {9 + k}:{j:02d}:00+08", answered,
                         round(talk, 2)))  # fmt: skip
    _farm_numbers(store, rows, farm, scored="2024-07-01")
    link_campaigns(store)
    found = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
    assert found[farm[0]] != found[farm[1]]


def test_one_call_at_a_prompt_peak_counts_only_beside_the_peaks_lines(store: Store) -> None:
    """A line with a single answered call at a range's prompt peak: beside the lines
    playing that prompt (a dialer's run) it is one of them; far from them, the call is
    more likely another prompt cut short, and the line is not linked by the peak."""
    import random

    rnd = random.Random(8)
    rows, numbers = [], []
    plan = [
        ("+862160001000", 9, None),  # three lines playing a 12.0 s prompt
        ("+862160001001", 10, None),
        ("+862160001002", 11, None),
        ("+862160001006", 12, [12.02, 3.3, 25.0]),  # one call at the peak, beside them
        ("+862160001050", 13, [11.98, 4.4, 31.0]),  # the same, 48 numbers away
    ]
    for k, (number, hour, talks) in enumerate(plan):
        numbers.append((number, "X"))
        for j in range(60 if talks is None else 12):
            if talks is None:
                answered, talk = j % 2 == 0, 12.0 + rnd.gauss(0, 0.05)
            else:
                answered, talk = j < len(talks), talks[j] if j < len(talks) else 0.0
            start = f"2024-07-01 {hour}:{j:02d}:00+08"
            callee = f"+86138{k}00{rnd.randrange(10**5):05d}"
            rows.append((f"p{k}-{j}", start, number, callee, answered, round(talk * answered, 2)))
    _store_suspects(store, rows, numbers)
    link_campaigns(store)
    found = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
    linked = dict(store.sql("SELECT number, linked_by FROM campaign_numbers").fetchall())
    beside, far = plan[3][0], plan[4][0]
    assert found[beside] == found[plan[0][0]] and "range+prompt" in linked[beside]
    assert found[far] != found[plan[0][0]]


def test_a_quiet_number_among_a_campaigns_lines_joins_it_but_not_at_their_edge(
    tmp_path: Path,
) -> None:
    """With the adjacent-line run rule off, the neighbourhood still places a quiet line
    between a group's lines; a quiet line above them all stays alone."""
    cfg = Config({"campaigns.run_max_gap": 0}, environ={})
    with Store(tmp_path / "n.duckdb", cfg) as store:
        build(store)
        inside, edge = A_NUMBERS[2], A_NUMBERS[5]
        _quiet(store, inside)
        _quiet(store, edge, hour=8)
        link_campaigns(store)
        found = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
        linked = dict(store.sql("SELECT number, linked_by FROM campaign_numbers").fetchall())
        assert linked[inside] == "neighbours" and found[inside] == found[A_NUMBERS[0]]
        assert found[edge] != found[A_NUMBERS[0]]
    off = Config({"campaigns.run_max_gap": 0, "campaigns.neighbourhood": 0}, environ={})
    with Store(tmp_path / "off.duckdb", off) as store:
        build(store)
        _quiet(store, A_NUMBERS[2])
        link_campaigns(store)
        found = dict(store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall())
        assert found[A_NUMBERS[2]] != found[A_NUMBERS[0]]


def _two_runs(store: Store, seed: int) -> tuple[list[str], list[str]]:
    """One vendor's range: client P's run of twelve lines plays a 13.6 s prompt, client
    Q's next twelve a 13.8 s one (one talk-time peak), three silent listeners each."""
    import random

    rnd = random.Random(seed)
    rows, numbers = [], []
    lines = [f"+86216000{1000 + i}" for i in range(24)]
    for k, number in enumerate(lines):
        prompt = 13.6 if k < 12 else 13.8
        numbers.append((number, "P" if k < 12 else "Q"))
        for j in range(12):
            answered = j % 4 == 0
            talk = round(prompt + max(-0.3, min(0.3, rnd.gauss(0, 0.12))), 1) if answered else 0
            start = f"2024-07-01 {8 + k // 2}:{(k % 2) * 30 + j:02d}:00+08"
            callee = f"+86138{k:02d}0{rnd.randrange(10**5):05d}"
            rows.append((f"r{k}-{j}", start, number, callee, answered, talk))
    _store_suspects(store, rows, numbers)
    return lines[:12], lines[12:]


def test_two_clients_a_fifth_of_a_second_apart_are_told_apart_by_their_runs(
    tmp_path: Path,
) -> None:
    """Prompts 0.2 s apart share one peak and the lines' means (three calls each)
    overlap, but they step between the two clients' runs of lines. Over five cities, the
    lines linked into a campaign of the other client: cut into runs, a handful at the
    boundaries; not cut, four times as many."""
    misplaced = {}
    for z in (3.0, 1e9):
        cfg = Config({"campaigns.run_split_z": z}, environ={})
        misplaced[z] = 0
        for seed in range(1, 6):
            with Store(tmp_path / f"z{z}-{seed}.duckdb", cfg) as store:
                p_lines, q_lines = _two_runs(store, seed)
                link_campaigns(store)
                found = dict(
                    store.sql("SELECT number, campaign_id FROM campaign_numbers").fetchall()
                )
            for c in {found[n] for n in p_lines} & {found[n] for n in q_lines}:
                p, q = (sum(found[n] == c for n in ls) for ls in (p_lines, q_lines))
                misplaced[z] += min(p, q)
    assert misplaced[3.0] * 4 <= misplaced[1e9], misplaced
    assert misplaced[3.0] <= 3, misplaced


def test_split_runs_cuts_where_the_prompt_steps_between_runs() -> None:
    from callradar.campaigns.prompts import split_runs

    steps = [13.6, 13.55, 13.65, 13.6, 13.8, 13.85, 13.75, 13.8]
    assert split_runs(steps, [3] * 8, sigma=0.12) == [0, 0, 0, 0, 1, 1, 1, 1]
    # one prompt throughout, or too few calls for the step to stand out: one run
    assert split_runs([13.6, 13.55, 13.65, 13.6, 13.62, 13.58], [3] * 6, 0.12) == [0] * 6
    assert split_runs(steps, [1] * 8, sigma=0.12) == [0] * 8
    assert split_runs([], [], 0.12) == [] and split_runs([13.0], [1], 0.12) == [0]


def test_a_line_whose_few_calls_sit_apart_is_no_campaign_of_its_own() -> None:
    """One client's lines at 14.2 s, and one line whose three calls average 14.07 s:
    0.16 s from the rest, past the 0.15 s tolerance, but only two standard errors of
    three calls. Given the calls' spread it stays with the others; two clients 0.2 s
    apart, each resting on many calls, stay apart."""
    from callradar.campaigns.prompts import split_peak

    estimates = [14.2, 14.233, 14.067, 14.2, 14.233, 14.3, 14.217]
    weights = [4, 3, 3, 4, 3, 3, 6]
    assert split_peak(estimates, weights, 0.15)[2] != split_peak(estimates, weights, 0.15)[0]
    assert len(set(split_peak(estimates, weights, 0.15, sigma=0.125))) == 1
    two = split_peak([13.6, 13.62, 13.8, 13.79], [30, 30, 30, 30], 0.15, sigma=0.125)
    assert two[0] == two[1] != two[2] == two[3]


def test_a_campaign_prompt_needs_several_calls_ending_there(store: Store) -> None:
    # a lone farm line with five answered calls, no two alike: one of them is a fifth of
    # its answered calls (campaigns.min_prompt_share) but no recorded prompt
    rows: list[tuple[Any, ...]] = []
    for number, talks in (
        ("+8615820613726", [1.0, 2.0, 6.2, 14.3, 26.6]),
        ("+8613912345678", [1.0, 12.0, 12.1, 12.0, 40.0]),
    ):
        for j in range(10):
            answered = j < len(talks)
            rows.append((number, f"+86138600{number[-3:]}{j:02d}", f"2024-07-01 10:{j:02d}:00+08",
                         answered, talks[j] if answered else 0.0))  # fmt: skip
    _farm_numbers(store, rows, ["+8615820613726", "+8613912345678"])
    link_campaigns(store)
    prompt = dict(
        store.sql(
            "SELECT number, prompt_seconds FROM campaigns JOIN campaign_numbers USING (campaign_id)"
        ).fetchall()
    )
    assert prompt == {"+8615820613726": None, "+8613912345678": 12.0}
