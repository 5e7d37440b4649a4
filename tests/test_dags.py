"""The nightly DAG on a real Airflow (metadata database in a temporary
AIRFLOW_HOME, ``dag.test()``), against a demo ledger and the simulated funding
system: task states, the anchor entry, the report files; and a ledger that
fails verification stopping the run before anything is anchored."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.airflow_capture import captured

ROOT = Path(__file__).resolve().parent.parent
# As Airflow does where it parses and runs DAGs: the dags folder is on sys.path, so a
# DAG file imports its sibling modules (dags/ledger_notifiers.py).
if str(ROOT / "dags") not in sys.path:
    sys.path.append(str(ROOT / "dags"))
LEDGER = str(Path(sys.executable).parent / "ledger")


@pytest.fixture(scope="module")
def airflow_db():
    from airflow.utils import db

    db.resetdb()
    return True


def test_the_dag_folder_imports_cleanly(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    assert {"ledger_nightly", "ledger_witness"} <= set(bag.dag_ids)
    dag = bag.get_dag("ledger_nightly")
    # Decision 0014: the log is verified before its head is signed.
    assert [t.task_id for t in dag.topological_sort()] == ["verify", "checkpoint", "extract", "reconcile", "anchor"]
    assert all(t.retries == 2 and t.on_failure_callback for t in dag.tasks)


def test_the_night_is_a_finished_day_in_asia_shanghai(airflow_db):
    """Decision 0014: ``@daily`` ran at 00:00 UTC with an empty interval, and the
    DAG reconciled the day that had just begun. The data interval of each run is
    one whole local day, and the run starts when it is over."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import CronDataIntervalTimetable
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    from ledger.finance import business_day

    dag = DagBag(dag_folder=str(ROOT / "dags")).get_dag("ledger_nightly")
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    core = coerce_to_core_timetable(dag.timetable)
    run_after = datetime(2026, 12, 5, 0, 30, tzinfo=business_day.ZONE)  # half past midnight in Shanghai
    interval = core.infer_manual_data_interval(run_after=run_after)
    assert interval == DataInterval(business_day.start_of(date(2026, 12, 4)), business_day.end_of(date(2026, 12, 4)))
    assert business_day.day_of(interval.start) == date(2026, 12, 4)  # the as-of date: yesterday, finished
    last = DataInterval(business_day.start_of(date(2026, 12, 3)), business_day.end_of(date(2026, 12, 3)))
    # catchup=True: with catchup off Airflow skips to the latest finished day
    # before the wall clock, and this test would depend on the date it runs.
    info = core.next_dagrun_info(last_automated_data_interval=last,
                                 restriction=TimeRestriction(dag.start_date, None, catchup=True))
    assert info.data_interval.start == interval.start and info.run_after == interval.end


@pytest.fixture
def demo(tmp_path, monkeypatch):
    from ledger.finance import business_day

    as_of = business_day.last_finished(datetime.now(UTC))  # a finished night; the demo is recorded on it
    env = {"LEDGER_KEY_PASSPHRASE": "pw", "LEDGER_KEY_DIR": str(tmp_path / "private"),
           "LEDGER_VKEY_DIR": str(tmp_path / "keys"), "LEDGER_STATE_DIR": str(tmp_path / "state"),
           "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db",
           "AIRFLOW_VAR_LEDGER_FUNDING_SOURCE": str(tmp_path / "funding" / "funding.csv"),
           "AIRFLOW_VAR_LEDGER_REPORT_DIR": str(tmp_path / "reports"),
           "AIRFLOW_VAR_LEDGER_NOTIFIER": "tests.airflow_capture.Capture",
           "LEDGER_TEST_NOTIFICATIONS": str(tmp_path / "notifications.jsonl")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)

    def cli(*args):
        out = subprocess.run([LEDGER, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=600)
        assert out.returncode == 0, out.stderr
        return out.stdout

    cli("demo", "--entries", "800", "--seed", "2", "--recorded-on", as_of.isoformat())
    cli("demo-funding", "--out", str(tmp_path / "funding"), "--seed", "2", "--as-of", as_of.isoformat())
    return {"dir": tmp_path, "cli": cli, "db": tmp_path / "ledger.db", "as_of": as_of,
            "notes": tmp_path / "notifications.jsonl"}


def _run(dag_id: str = "ledger_nightly"):
    """One run of the DAG for the last finished night (its data interval ends at the
    last midnight in Asia/Shanghai): (the DagRun, task states, the night)."""
    from airflow.dag_processing.dagbag import DagBag

    from ledger.finance import business_day

    dag = DagBag(dag_folder=str(ROOT / "dags")).get_dag(dag_id)
    night = business_day.last_finished(datetime.now(UTC))
    run = dag.test(logical_date=business_day.end_of(night))
    return run, {ti.task_id: ti.state for ti in run.get_task_instances()}, night


def _anchors(db: Path) -> list[dict]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT canonical FROM entries WHERE type = 'reconciliation.completed' ORDER BY seq")
        return [_flat(json.loads(bytes(r[0]))) for r in rows]


def _flat(e: dict) -> dict:
    """A v2 entry's statement members beside its envelope (docs/contracts.md §2.7); v1 as is."""
    return {**e.pop("statement"), **e} if "statement" in e else e


def test_nightly_dag_end_to_end(airflow_db, demo):
    run, states, as_of = _run()
    assert states == dict.fromkeys(["checkpoint", "verify", "extract", "reconcile", "anchor"], "success"), states
    assert str(run.state) == "success" and as_of == demo["as_of"]
    [anchor] = _anchors(demo["db"])
    folder = demo["dir"] / "reports" / f"reconciliation-{as_of.isoformat()}"
    report = (folder / "report.json").read_bytes()
    assert anchor["body"]["report_sha256"] == hashlib.sha256(report).hexdigest()
    assert anchor["body"]["as_of"] == as_of.isoformat() and anchor["body"]["source"] == "csv"
    assert (folder / "findings.csv").exists() and (folder / "summary.html").exists()
    truth = json.loads((demo["dir"] / "funding" / "ground-truth.json").read_text())["findings"]
    got = {(f["kind"], f["txn_id"], f["grant_ref"]) for f in json.loads(report)["findings"]}
    assert got == {(f["kind"], f["txn_id"], f["grant_ref"]) for f in truth}
    # The findings that need a person are sent through the configured notifier (defect 2).
    [note] = captured(demo["notes"])
    assert note["event"] == "findings" and note["task_id"] == "anchor" and note["as_of"] == as_of.isoformat()
    assert note["counts"]["paid_while_barred"] >= 1 and "paid_while_barred" in note["message"]
    # The same night again: every task succeeds, nothing more is anchored.
    _, states, _ = _run()
    assert set(states.values()) == {"success"} and len(_anchors(demo["db"])) == 1
    demo["cli"]("verify")


def test_a_rerun_reuses_the_anchored_snapshot_and_a_changed_one_is_refused_beside_it(airflow_db, demo):
    """Decision 0014 (anchored artefacts are immutable), on the DAG: once a night is anchored, its snapshot and its
    reports are never written again. The live source changing its past is not read
    again for that night; a snapshot changed on disk is refused at once (no retry),
    its result written beside the anchored reports."""
    _, states, as_of = _run()
    assert set(states.values()) == {"success"}
    reports = demo["dir"] / "reports"
    snapshot, folder = reports / f"extract-{as_of}" / "funding.csv", reports / f"reconciliation-{as_of}"
    anchored = {p: p.read_bytes() for p in (snapshot, *folder.iterdir())}
    live = demo["dir"] / "funding" / "funding.csv"
    lines = live.read_text(encoding="utf-8").splitlines(keepends=True)
    live.write_text("".join([lines[0], lines[2], lines[1].replace(",", ",9", 1), *lines[3:]]), encoding="utf-8")
    _, states, _ = _run()
    assert set(states.values()) == {"success"}
    assert {p: p.read_bytes() for p in anchored} == anchored  # nothing re-read, nothing rewritten
    with snapshot.open("a", encoding="utf-8") as f:  # someone edits the anchored input
        f.write("T-LATE,payment,,NMG-NOSUCH,cn-rid,1,100,2024-01-05,p\r\n")
    run, states, _ = _run()
    assert states["reconcile"] == "failed" and states["anchor"] == "upstream_failed"
    [ti] = [t for t in run.get_task_instances() if t.task_id == "reconcile"]
    assert ti.try_number == 1  # AnchorMismatch is final: not retried
    assert {p: p.read_bytes() for p in (*folder.iterdir(),)} == {p: b for p, b in anchored.items() if p != snapshot}
    [beside] = reports.glob(f"reconciliation-{as_of}.refused-*")
    assert (beside / "report.json").exists() and len(_anchors(demo["db"])) == 1
    failures = [n for n in captured(demo["notes"]) if n["event"] == "task_failed"]
    assert [n["task_id"] for n in failures] == ["reconcile"] and "AnchorMismatch" in failures[0]["message"]


def test_a_failed_verification_stops_the_run_before_anchoring(airflow_db, demo):
    with sqlite3.connect(demo["db"]) as conn:  # an insider rewrites history
        conn.execute("DROP TRIGGER IF EXISTS entries_no_update")
        row = conn.execute("SELECT seq, canonical FROM entries WHERE type = 'subsidy.granted' LIMIT 1").fetchone()
        conn.execute("UPDATE entries SET canonical = ? WHERE seq = ?",
                     (bytes(row[1]).replace(b'"amount_fen":', b'"amount_fen":1'), row[0]))
    run, states, _ = _run()
    assert states["verify"] == "failed"
    assert {states[t] for t in ("checkpoint", "extract", "reconcile", "anchor")} == {"upstream_failed"}
    assert _anchors(demo["db"]) == []
    with sqlite3.connect(demo["db"]) as conn:  # verified before checkpointing: no checkpoint of a bad log
        assert conn.execute("SELECT count(*) FROM checkpoints").fetchone() == (0,)
    [failure] = captured(demo["notes"])
    assert failure["event"] == "task_failed" and failure["task_id"] == "verify" and "IntegrityError" in failure["message"]


def test_witness_dag_cosigns_the_newest_checkpoint(airflow_db, demo, monkeypatch):
    demo["cli"]("keys", "generate", "w1", "--witness")
    demo["cli"]("checkpoint")
    monkeypatch.setenv("AIRFLOW_VAR_LEDGER_WITNESS_KEY", "w1")
    monkeypatch.setenv("AIRFLOW_VAR_LEDGER_WITNESS_STATE", str(demo["dir"] / "w1-state.json"))
    _, states, _ = _run("ledger_witness")
    assert states == {"cosign": "success"}
    size = int(demo["cli"]("checkpoint", "--show").splitlines()[1])
    with sqlite3.connect(demo["db"]) as conn:  # the cosignature is stored with the checkpoint
        assert conn.execute("SELECT size, witness FROM cosignatures").fetchall() == [(size, "w1")]
    assert json.loads((demo["dir"] / "w1-state.json").read_text())["size"] == size


def test_a_rewritten_projection_fails_the_night_at_once_and_anchors_nothing(airflow_db, demo):
    """Decision 0019 on the DAG: the log verifies, but a grant's amount was rewritten
    in the projection (the trigger dropped, as with file access): the reconcile task
    fails with ProjectionDrift, not retried, and nothing is anchored."""
    with sqlite3.connect(demo["db"]) as conn:
        conn.execute("DROP TRIGGER IF EXISTS grants_no_update")
        seq = conn.execute("SELECT min(seq) FROM grants").fetchone()[0]
        conn.execute("UPDATE grants SET amount_fen = amount_fen * 10 WHERE seq = ?", (seq,))
    run, states, _ = _run()
    assert states["verify"] == "success" and states["reconcile"] == "failed" and states["anchor"] == "upstream_failed"
    [ti] = [t for t in run.get_task_instances() if t.task_id == "reconcile"]
    assert ti.try_number == 1  # a verification failure: not retried
    assert _anchors(demo["db"]) == []
    [failure] = [n for n in captured(demo["notes"]) if n["event"] == "task_failed"]
    assert "ProjectionDrift" in failure["message"] and f"seq {seq}" in failure["message"]
    assert "table grants" in failure["message"] and "amount_fen" in failure["message"]


def test_the_night_signs_only_the_size_it_verified(demo):
    """Entries appended between the verify task and the checkpoint task are not
    signed by this night: the checkpoint is at the size verify checked."""
    from ledger.config import Settings
    from ledger.finance import tasks as nightly

    verified = nightly.verify_incremental(Settings.from_env())
    demo["cli"]("demo", "--entries", "3")  # another writer, after verification
    head = json.loads(demo["cli"]("summary", "--json"))["size"]
    assert head > verified["size"]
    cp = nightly.publish_checkpoint(Settings.from_env(), size=verified["size"])
    assert cp == {"size": verified["size"], "new": True}
    with sqlite3.connect(demo["db"]) as conn:
        assert conn.execute("SELECT max(size) FROM checkpoints").fetchone() == (verified["size"],)


def test_the_funding_source_through_the_airflow_connection(airflow_db, demo, monkeypatch):
    """With no Variable naming the source, the DAG reads the Connection
    ``ledger_funding`` (its extra ``sqlalchemy_url``; a secrets backend can hold it):
    the funding system's table, here a SQLite file with the demo's rows, gives the
    same findings as the CSV, and the anchor is keyed by the database and table."""
    import csv

    rows = list(csv.reader((demo["dir"] / "funding" / "funding.csv").open(encoding="utf-8", newline="")))
    header, body = rows[0], rows[1:]
    db = demo["dir"] / "funding-system.db"
    with sqlite3.connect(db) as conn:
        conn.execute(f"CREATE TABLE v_payments ({', '.join(f'{c} TEXT' for c in header)})")
        conn.executemany(f"INSERT INTO v_payments VALUES ({', '.join('?' * len(header))})", body)
    monkeypatch.delenv("AIRFLOW_VAR_LEDGER_FUNDING_SOURCE")
    monkeypatch.setenv("AIRFLOW_VAR_LEDGER_FUNDING_TABLE", "v_payments")
    monkeypatch.setenv("AIRFLOW_CONN_LEDGER_FUNDING",
                       json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": f"sqlite:///{db}"}}))
    _, states, as_of = _run()
    assert set(states.values()) == {"success"}, states
    [anchor] = _anchors(demo["db"])
    from ledger.finance.sources import identity

    # The anchor keys the night by the source's identity (host, database, table), hashed.
    assert anchor["body"]["source"] == identity(f"sqlite:///{db}", "v_payments", None)
    assert anchor["body"]["source"].startswith("sql:sha256:")
    report = json.loads((demo["dir"] / "reports" / f"reconciliation-{as_of.isoformat()}" / "report.json").read_bytes())
    truth = json.loads((demo["dir"] / "funding" / "ground-truth.json").read_text())["findings"]
    assert {(f["kind"], f["txn_id"], f["grant_ref"]) for f in report["findings"]} == \
        {(f["kind"], f["txn_id"], f["grant_ref"]) for f in truth}
