"""Honeypot lines of the simulator: silent answers in the CDRs, audio the audio stage reads."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from callradar.audio import analyse_files, clear_match_hits, read_meta
from callradar.audio.io import audio_files, load_recording
from callradar.errors import BadRequestError
from callradar.simulate import load_scenario, simulate
from callradar.simulate.honeypot import honeypot_dirs
from callradar.store import Store


def _scenario(tmp_path: Path, share: float) -> Path:
    path = tmp_path / f"hp{share}.toml"
    path.write_text(f'name = "hp"\n[honeypots]\nshare = {share}\n', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("honeypots")
    out = tmp / "sim"
    simulate(_scenario(tmp, 0.02), out, days=2, seed=3, subscribers=3000)
    return out


def _con(sim: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"CREATE VIEW cdr AS SELECT * FROM '{sim}/cdr-*.parquet'")
    con.execute(f"CREATE VIEW truth AS SELECT * FROM '{sim}/truth-*.parquet'")
    con.execute(
        f"CREATE VIEW meta AS SELECT * FROM read_csv('{sim}/honeypot-*/meta.csv', "
        "all_varchar = true, filename = true)"
    )
    return con


def test_every_campaign_call_to_a_honeypot_is_answered_silently_and_recorded(
    city: Path,
) -> None:
    import json

    folders = honeypot_dirs(city)
    assert list(folders) == ["2024-07-01", "2024-07-02"]
    con = _con(city)
    prompt = {
        c["campaign"]: c["prompt_seconds"]
        for c in json.loads((city / "manifest.json").read_text(encoding="utf-8"))["campaigns"]
    }
    con.execute("CREATE TABLE prompt (campaign VARCHAR, seconds DOUBLE)")
    con.executemany("INSERT INTO prompt VALUES (?, ?)", list(prompt.items()))
    # the honeypot lines: every callee a recording names
    rows = con.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE c.answered), count(*) FILTER (
                   WHERE c.end_reason = 'caller_hangup' AND abs(c.talk_seconds - p.seconds) <= 0.31)
        FROM cdr c JOIN truth t USING (call_id) JOIN prompt p ON p.campaign = t.campaign
        WHERE t.is_robocall AND c.callee IN (SELECT callee FROM meta)
        """
    ).fetchall()[0]
    recorded = con.execute("SELECT count(*) FROM meta").fetchall()[0][0]
    assert recorded >= 20
    assert rows == (recorded, recorded, recorded)  # all answered, silent to the prompt's end
    # each recording is one of those calls, at its answer time, and nothing names a campaign
    matched = con.execute(
        """
        SELECT count(*) FROM meta m JOIN cdr c ON c.caller = m.caller AND c.callee = m.callee
         AND abs(epoch(c.start_time) + c.ring_seconds - epoch(m.time::TIMESTAMPTZ)) < 0.01
        """
    ).fetchall()[0][0]
    assert matched == recorded
    meta = (folders["2024-07-01"] / "meta.csv").read_text(encoding="utf-8")
    assert meta.splitlines()[0] == "file,caller,callee,time"
    assert "V1-" not in meta and "campaign" not in meta
    first = sorted(folders["2024-07-01"].glob("*.*"))[0]
    rec = load_recording(first)
    assert rec.duration > 5.0


def test_honeypots_change_only_the_calls_they_answer(tmp_path: Path) -> None:
    simulate(_scenario(tmp_path, 0.0), tmp_path / "none", days=1, seed=3, subscribers=3000)
    simulate(_scenario(tmp_path, 0.02), tmp_path / "some", days=1, seed=3, subscribers=3000)
    assert not honeypot_dirs(tmp_path / "none")
    con = _con(tmp_path / "some")
    con.execute(f"CREATE VIEW plain AS SELECT * FROM '{tmp_path}/none/cdr-*.parquet'")
    differ = con.execute(
        """
        SELECT count(*) FILTER (WHERE c.callee NOT IN (SELECT callee FROM meta)),
               count(*) FILTER (WHERE c.callee IN (SELECT callee FROM meta))
        FROM cdr c JOIN plain p USING (call_id)
        WHERE (c.answered, c.talk_seconds, c.end_reason, c.caller, c.callee, c.start_time)
              IS DISTINCT FROM (p.answered, p.talk_seconds, p.end_reason, p.caller, p.callee,
                                p.start_time)
        """
    ).fetchall()[0]
    assert differ[0] == 0 and differ[1] > 0
    assert (
        con.execute("SELECT count(*) FROM cdr").fetchall()
        == con.execute("SELECT count(*) FROM plain").fetchall()
    )


@pytest.mark.slow
def test_the_audio_stage_hears_one_prompt_per_campaign(city: Path, tmp_path: Path) -> None:
    """Evaluation-side check (truth read here only): the prompt ids linking trusts (a
    recording that founded its id or matched it clearly) never give two campaigns one
    id (that would join them), and nearly every recording gets its campaign's id (a
    recording that fails to match founds a second id: a lost link, not a false one)."""
    with Store(tmp_path / "a.duckdb") as store:
        for folder in honeypot_dirs(city).values():
            analyse_files(audio_files(folder), store=store, meta=read_meta(folder / "meta.csv"))
        store.sql(
            f"CREATE TEMP VIEW t AS SELECT DISTINCT caller, campaign FROM '{city}/truth-*.parquet'"
            " WHERE is_robocall"
        )
        heard, campaigns_per_id, with_main_id = store.sql(
            """
            WITH r AS (SELECT t.campaign, r.prompt_id FROM recordings r JOIN t USING (caller)
                       WHERE r.prompt_id <> ''
                         AND (r.match_score IS NULL OR r.match_score >= ?)),
                 main AS (SELECT campaign, mode(prompt_id) AS pid FROM r GROUP BY campaign)
            SELECT (SELECT count(*) FROM r),
                   (SELECT max(n) FROM (SELECT count(DISTINCT campaign) n FROM r
                                        GROUP BY prompt_id)),
                   (SELECT count(*) FROM r JOIN main USING (campaign) WHERE r.prompt_id = main.pid)
            """,
            [clear_match_hits(store.config)],
        ).fetchall()[0]
        total = store.sql("SELECT count(*) FROM recordings").fetchall()[0][0]
    assert heard >= 0.8 * total
    assert campaigns_per_id == 1
    assert with_main_id >= 0.9 * heard


def test_share_out_of_range_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BadRequestError, match=r"honeypots\.share"):
        load_scenario(_scenario(tmp_path, 0.5))


def test_one_seed_renders_the_same_recordings(city: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    simulate(_scenario(tmp_path, 0.02), again, days=2, seed=3, subscribers=3000)
    for day, folder in honeypot_dirs(city).items():
        mine = {p.name: p.read_bytes() for p in folder.iterdir()}
        theirs = {p.name: p.read_bytes() for p in honeypot_dirs(again)[day].iterdir()}
        assert mine == theirs and len(mine) > 1
