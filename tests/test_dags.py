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
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
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
    assert [t.task_id for t in dag.topological_sort()] == ["checkpoint", "verify", "extract", "reconcile", "anchor"]
    assert all(t.retries == 2 for t in dag.tasks)


@pytest.fixture
def demo(tmp_path, monkeypatch):
    env = {"LEDGER_KEY_PASSPHRASE": "pw", "LEDGER_KEY_DIR": str(tmp_path / "private"),
           "LEDGER_VKEY_DIR": str(tmp_path / "keys"), "LEDGER_STATE_DIR": str(tmp_path / "state"),
           "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db",
           "AIRFLOW_VAR_LEDGER_FUNDING_SOURCE": str(tmp_path / "funding" / "funding.csv"),
           "AIRFLOW_VAR_LEDGER_REPORT_DIR": str(tmp_path / "reports")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)

    def cli(*args):
        out = subprocess.run([LEDGER, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=600)
        assert out.returncode == 0, out.stderr
        return out.stdout

    cli("demo", "--entries", "800", "--seed", "2")
    cli("demo-funding", "--out", str(tmp_path / "funding"), "--seed", "2")
    return {"dir": tmp_path, "cli": cli, "db": tmp_path / "ledger.db"}


def _run(dag_id: str = "ledger_nightly"):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags")).get_dag(dag_id)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    run = dag.test(logical_date=today)
    return run, {ti.task_id: ti.state for ti in run.get_task_instances()}, today.date()


def _anchors(db: Path) -> list[dict]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT canonical FROM entries WHERE type = 'reconciliation.completed' ORDER BY seq")
        return [json.loads(bytes(r[0])) for r in rows]


def test_nightly_dag_end_to_end(airflow_db, demo):
    run, states, as_of = _run()
    assert states == dict.fromkeys(["checkpoint", "verify", "extract", "reconcile", "anchor"], "success"), states
    assert str(run.state) == "success"
    [anchor] = _anchors(demo["db"])
    folder = demo["dir"] / "reports" / f"reconciliation-{as_of.isoformat()}"
    report = (folder / "report.json").read_bytes()
    assert anchor["body"]["report_sha256"] == hashlib.sha256(report).hexdigest()
    assert anchor["body"]["as_of"] == as_of.isoformat() and anchor["body"]["source"] == "csv:funding.csv"
    assert (folder / "findings.csv").exists() and (folder / "summary.html").exists()
    truth = json.loads((demo["dir"] / "funding" / "ground-truth.json").read_text())["findings"]
    got = {(f["kind"], f["txn_id"], f["grant_ref"]) for f in json.loads(report)["findings"]}
    assert got == {(f["kind"], f["txn_id"], f["grant_ref"]) for f in truth}
    # The same night again: every task succeeds, nothing more is anchored.
    _, states, _ = _run()
    assert set(states.values()) == {"success"} and len(_anchors(demo["db"])) == 1
    demo["cli"]("verify")


def test_a_failed_verification_stops_the_run_before_anchoring(airflow_db, demo):
    with sqlite3.connect(demo["db"]) as conn:  # an insider rewrites history
        conn.execute("DROP TRIGGER IF EXISTS entries_no_update")
        row = conn.execute("SELECT seq, canonical FROM entries WHERE type = 'subsidy.granted' LIMIT 1").fetchone()
        conn.execute("UPDATE entries SET canonical = ? WHERE seq = ?",
                     (bytes(row[1]).replace(b'"amount_fen":', b'"amount_fen":1'), row[0]))
    _, states, _ = _run()
    assert states["checkpoint"] == "success" and states["verify"] == "failed"
    assert {states[t] for t in ("extract", "reconcile", "anchor")} == {"upstream_failed"}
    assert _anchors(demo["db"]) == []


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
