"""The night's wall time on the CeleryExecutor against `airflow dags test`
(docs/deployment.md, decision 0021).

    PYTHONPATH=. .venv/bin/python bench/night.py [--runs N] [--entries N] [--json OUT]

Each run builds a fresh demo ledger on PostgreSQL (a new schema, as the tests do;
LEDGER_TEST_PG_OWNER_URL / LEDGER_TEST_PG_APP_URL as `make test` exports them),
recorded on the last finished night, and its simulated funding extract, then:

- celery: the stack of tests/test_celery_night.py (Redis, api-server, scheduler,
  dag-processor, one celery worker; each its own process, AIRFLOW_HOME and working
  directory; metadata on PostgreSQL). Timed: the DAG run, ``end_date -
  start_date`` of its dag_run row (the scheduler's queueing, Celery's delivery,
  the worker's task processes and their calls to the Task Execution API), and
  within it the first task's start to the last task's end; starting the stack
  is not part of either.
- dags_test: `airflow dags test ledger_nightly <end of the night>` in one process
  (metadata on SQLite, as `make reconcile`). Timed: the command's whole wall time
  (interpreter, DAG parse, the five tasks), and the first task's start to the
  last task's end.

Both runs anchor the same night's report, scored by `ledger score-findings`
(a run whose findings differ from the ground truth is an error, not a figure).
Prints medians of the runs and two ratios: the Celery dag run over the `dags test`
command (what an operator waits for, each way), and task span over task span.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger.finance import business_day  # noqa: E402
from tests.conftest import open_store  # noqa: E402
from tests.test_celery_night import (  # noqa: E402
    BIN,
    Stack,
    _dag_runs,
    _demo,
    _ledger_env,
    _select,
    _wait,
    celery_night,
)


def _score(report: Path, truth: Path) -> None:
    out = subprocess.run([str(BIN / "ledger"), "score-findings", str(report), str(truth)], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode != 0:
        raise SystemExit(f"findings differ from the ground truth:\n{out.stdout}{out.stderr}")


def run_celery(owner: str, entries: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="night-celery-") as tmp:
        root = Path(tmp)
        with open_store("postgresql", root) as store, celery_night(root, owner, store.url, entries) as (stack, night, art):
            _wait("the DAG to be parsed", lambda: _select(stack.meta_url, "SELECT 1 FROM dag WHERE dag_id = 'ledger_nightly'"),
                  stack)
            stack.run("cli", str(BIN / "airflow"), "dags", "unpause", "ledger_nightly")
            _wait("the run", lambda: [r for r in _dag_runs(stack.meta_url) if r["state"] in ("success", "failed")], stack)
            [row] = _select(stack.meta_url, "SELECT state, EXTRACT(EPOCH FROM end_date - start_date) AS run_s FROM dag_run "
                                            "WHERE dag_id = 'ledger_nightly'")
            [tis] = _select(stack.meta_url, "SELECT EXTRACT(EPOCH FROM max(end_date) - min(start_date)) AS s "
                                            "FROM task_instance WHERE dag_id = 'ledger_nightly'")
            if row["state"] != "success":
                raise SystemExit(f"the Celery run failed: see {root}")
            _score(art / f"reconciliation-{night.isoformat()}" / "report.json", root / "funding" / "ground-truth.json")
            return float(row["run_s"]), float(tis["s"])


def run_dags_test(owner: str, entries: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="night-dags-test-") as tmp:
        root = Path(tmp)
        with open_store("postgresql", root) as store:
            base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "LEDGER_"))}
            base_env.update({"PATH": f"{BIN}:{base_env.get('PATH', '')}", "PYTHONPATH": str(ROOT)})
            stack = Stack(root, "", base_env, "")
            night = business_day.last_finished(datetime.now(business_day.ZONE))
            _demo(stack, root, store.url, night, entries)
            home = root / "airflow-home"
            env = {**base_env, **_ledger_env(root / "operator", store.url), "AIRFLOW_HOME": str(home),
                   "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
                   "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
                   "AIRFLOW_VAR_LEDGER_FUNDING_SOURCE": str(root / "funding" / "funding.csv"),
                   "AIRFLOW_VAR_LEDGER_ARTEFACT_BASE": (root / "artefacts").as_uri()}
            subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
            t0 = time.perf_counter()
            out = subprocess.run([str(BIN / "airflow"), "dags", "test", "ledger_nightly",
                                  business_day.end_of(night).isoformat()], env=env, capture_output=True, text=True)
            command = time.perf_counter() - t0
            if out.returncode != 0:
                raise SystemExit(f"airflow dags test failed:\n{out.stdout[-3000:]}{out.stderr[-3000:]}")
            with sqlite3.connect(home / "airflow.db") as conn:
                # First task's start to last task's end (dag_run.start_date is not the run's start under dags test).
                [(tis,)] = conn.execute("SELECT (julianday(max(end_date)) - julianday(min(start_date))) * 86400 "
                                        "FROM task_instance").fetchall()
            _score(root / "artefacts" / f"reconciliation-{night.isoformat()}" / "report.json",
                   root / "funding" / "ground-truth.json")
            return float(tis), command


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--entries", type=int, default=800, help="demo entries in the ledger (default 800)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    owner = os.environ.get("LEDGER_TEST_PG_OWNER_URL")
    if not (owner and os.environ.get("LEDGER_TEST_PG_APP_URL")):
        raise SystemExit("set LEDGER_TEST_PG_OWNER_URL and LEDGER_TEST_PG_APP_URL (make postgres; see the Makefile)")
    # SIGTERM ends the run through the stack's `finally` (every process group stopped).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    runs: dict[str, list[float]] = {"celery_run_s": [], "celery_tasks_s": [], "dags_test_tasks_s": [],
                                    "dags_test_command_s": []}
    for i in range(args.runs):  # alternating, so a slow spell of the machine hits both
        run, tasks = run_celery(owner, args.entries)
        runs["celery_run_s"].append(run)
        runs["celery_tasks_s"].append(tasks)
        tasks, command = run_dags_test(owner, args.entries)
        runs["dags_test_tasks_s"].append(tasks)
        runs["dags_test_command_s"].append(command)
        print(f"run {i + 1}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in runs.items()), flush=True)
    result: dict = {"runs": args.runs, "entries": args.entries, **{k: statistics.median(v) for k, v in runs.items()}}
    result["ratio"] = result["celery_run_s"] / result["dags_test_command_s"]
    result["ratio_tasks"] = result["celery_tasks_s"] / result["dags_test_tasks_s"]
    print(f"median of {args.runs}: the night on Celery {result['celery_run_s']:.1f} s (dag run; first task start to "
          f"last task end {result['celery_tasks_s']:.1f} s), with `airflow dags test` {result['dags_test_command_s']:.1f} s "
          f"(the command; tasks {result['dags_test_tasks_s']:.1f} s); ratio {result['ratio']:.2f} "
          f"(tasks only {result['ratio_tasks']:.2f})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
