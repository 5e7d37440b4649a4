"""Hourly: an independent witness cosigns the ledger's newest checkpoint, only if
it extends the last one this witness cosigned (C2SP cosignature/v1). One call
into ``ledger.finance.tasks.witness_cosign``.

Run by the witness's operator, not the log's: its key and state file are its own.
Variables: ``ledger_witness_key`` (key name in LEDGER_KEY_DIR, generated with
``ledger keys generate NAME --witness``), ``ledger_witness_state`` (its state file).
A fork (a checkpoint inconsistent with the last cosigned) fails the task at
once, without retries, and leaves a fork-evidence file beside the state; a
failure is sent through the notifier the Variable ``ledger_notifier`` names
(dags/ledger_notifiers.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import Variable, dag, task
from airflow.sdk.exceptions import AirflowFailException
from ledger_notifiers import OnFailure

from ledger.config import Settings
from ledger.errors import ForkDetected
from ledger.finance import tasks as nightly


@dag(dag_id="ledger_witness", schedule="@hourly", start_date=datetime(2026, 1, 1), catchup=False,
     default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "on_failure_callback": [OnFailure()]},
     max_active_runs=1,
     tags=["integrity-ledger"], doc_md=__doc__)
def ledger_witness():
    @task
    def cosign() -> dict:
        try:
            return nightly.witness_cosign(Settings.from_env(), Variable.get("ledger_witness_key"),
                                          Path(Variable.get("ledger_witness_state")))
        except ForkDetected as e:
            raise AirflowFailException(f"fork detected: {e}") from e

    cosign()


ledger_witness()
