"""Nightly: checkpoint, verify, extract the funding transactions, reconcile,
anchor. Each task is one call into ``ledger.finance.tasks``; all are idempotent for
the run's data interval (as-of date = the interval's start date), with retries.

Configuration (Airflow Variables, or AIRFLOW_VAR_* environment variables):
  ledger_funding_source  a CSV path or an SQLAlchemy URL of the funding system
                         (else the Connection ``ledger_funding``: its extra
                         ``sqlalchemy_url``, or its URI)
  ledger_funding_table   with a URL: the table or view (default funding_transactions)
  ledger_report_dir      where reports and snapshots go (default var/reports)
  ledger_unpaid_days     unpaid-grant threshold in days (default 90)
The ledger itself is configured as for the CLI (LEDGER_DATABASE_URL, key
directory and passphrase, vault key): see ledger/config.py.

A failed verification fails ``verify`` at once (no retries: it is not
transient); ``extract``, ``reconcile`` and
``anchor`` then do not run (upstream_failed), so nothing is anchored for a log
that does not verify, and the task log names the first bad seq.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from airflow.sdk import Connection, Variable, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from ledger.config import Settings
from ledger.errors import IntegrityError, ValidationError
from ledger.finance import tasks as nightly

DEFAULTS = {"retries": 2, "retry_delay": timedelta(minutes=5)}


def _as_of() -> date:
    return get_current_context()["data_interval_start"].date()


def _report_dir() -> Path:
    return Path(Variable.get("ledger_report_dir", default="var/reports"))


def _funding() -> tuple[str, str | None]:
    spec = Variable.get("ledger_funding_source", default=None)
    if not spec:
        conn = Connection.get("ledger_funding")
        spec = (conn.extra_dejson or {}).get("sqlalchemy_url") or conn.get_uri()
    return spec, Variable.get("ledger_funding_table", default=None)


@dag(dag_id="ledger_nightly", schedule="@daily", start_date=datetime(2026, 1, 1), catchup=False,
     default_args=DEFAULTS, max_active_runs=1, tags=["integrity-ledger"],
     doc_md=__doc__)
def ledger_nightly():
    @task
    def checkpoint() -> dict:
        return nightly.publish_checkpoint(Settings.from_env())

    @task
    def verify(cp: dict) -> dict:
        try:
            return nightly.verify_incremental(Settings.from_env())
        except IntegrityError as e:
            # Not transient: retrying cannot fix a log that does not verify.
            raise AirflowFailException(f"ledger verification failed at seq {e.seq}: {e}") from e

    @task
    def extract(verified: dict) -> dict:
        spec, table = _funding()
        try:
            return nightly.extract(spec, table, _as_of(), _report_dir())
        except ValidationError as e:
            # A file in the wrong encoding, a missing column: retrying reads the same
            # bytes. Fail at once, with the fix in the message (docs/reconciliation.md).
            raise AirflowFailException(f"funding input refused: {e}") from e

    @task
    def reconcile(snapshot: dict) -> dict:
        days = int(Variable.get("ledger_unpaid_days", default="90"))
        try:
            return nightly.reconcile_snapshot(Settings.from_env(), snapshot["path"], _as_of(), _report_dir(), days)
        except ValidationError as e:
            raise AirflowFailException(f"funding input refused: {e}") from e

    @task
    def anchor(produced: dict) -> dict:
        return nightly.anchor_report(Settings.from_env(), produced["directory"])

    anchor(reconcile(extract(verify(checkpoint()))))


ledger_nightly()
