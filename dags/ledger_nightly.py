"""Nightly: verify the log, checkpoint it, extract the funding transactions,
reconcile, anchor. Each task is one call into ``ledger.finance.tasks``; all are
idempotent for the run's data interval, with retries for what may be transient.

The night (decision 0014): a data-interval timetable, daily at midnight in
Asia/Shanghai. The run for the interval [D 00:00, D+1 00:00) (Asia/Shanghai)
starts when the interval ends, and reconciles the business day D: the local
date of ``data_interval_start``, a day that is over. (``@daily`` would be a
trigger timetable at 00:00 UTC whose interval is empty: it reconciled the day
that had just begun.)

Configuration (Airflow Variables, or AIRFLOW_VAR_* environment variables):
  ledger_funding_source  a CSV path or an SQLAlchemy URL of the funding system
                         (else the Connection ``ledger_funding``: its extra
                         ``sqlalchemy_url``, or its URI; ``postgres://`` is read as
                         PostgreSQL with psycopg)
  ledger_funding_table   with a URL: the table or view (default funding_transactions)
  ledger_funding_name    with a CSV file: which funding system it comes from, when
                         several deliver files (the anchor's key)
  ledger_artefact_base   where reports and snapshots go: an ObjectStoragePath URL, any
                         fsspec store (ledger_storage.py; decision 0021)
  ledger_report_dir      without ledger_artefact_base: a local directory (default var/reports)
  ledger_unpaid_days     unpaid-grant threshold in days (default 90)
  ledger_notifier        a BaseNotifier subclass for failures and findings
                         (default ledger_notifiers.LoggingNotifier)
The ledger itself is configured as for the CLI (LEDGER_DATABASE_URL, key
directory and passphrase, vault key): see ledger/config.py.

Errors that a retry cannot fix fail the task at once (AirflowFailException): a
log that does not verify (``IntegrityError``), projection rows the log does not
make (``ProjectionDrift``, an IntegrityError: decision 0019), an input refused
(``ValidationError``), a night anchored with another result (``AnchorMismatch``).
The later tasks are then upstream_failed: nothing is anchored for a log that
does not verify. Every failure, and every night whose findings need a person,
is sent through the configured notifier.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Connection, CronDataIntervalTimetable, Variable, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException
from ledger_notifiers import OnFailure, send
from ledger_storage import base, in_scratch

from ledger.config import Settings
from ledger.errors import AnchorMismatch, IntegrityError, ValidationError
from ledger.finance import business_day
from ledger.finance import tasks as nightly

NIGHTLY = CronDataIntervalTimetable("0 0 * * *", timezone=business_day.ZONE_NAME)
DEFAULTS = {"retries": 2, "retry_delay": timedelta(minutes=5), "on_failure_callback": [OnFailure()]}
# Not transient: a retry reads the same log, the same input, the same anchor.
FINAL = (IntegrityError, ValidationError, AnchorMismatch)
# Findings that are informational only: no notification for them alone.
# Kinds that alone need no person tonight: an erased subject's payments are
# payee_erased every night after the erasure (decision 0019), known and stable.
INFORMATIONAL = frozenset({"unpaid_grant", "payee_erased"})


def _as_of() -> date:
    return business_day.day_of(get_current_context()["data_interval_start"])


def _stored(result: dict, key: str, scratch: Path) -> dict:
    """The result with the scratch path under ``key`` replaced by the artefact's place in the store."""
    return {**result, key: str(base() / str(Path(result[key]).relative_to(scratch)))}


def _funding() -> tuple[str, str | None, str | None]:
    spec = Variable.get("ledger_funding_source", default=None)
    if not spec:
        conn = Connection.get("ledger_funding")
        spec = (conn.extra_dejson or {}).get("sqlalchemy_url") or conn.get_uri()
    return spec, Variable.get("ledger_funding_table", default=None), Variable.get("ledger_funding_name", default=None)


def _once(call: Callable[[], dict]) -> dict:
    try:
        return call()
    except FINAL as e:
        where = f" at seq {e.seq}" if isinstance(e, IntegrityError) else ""
        raise AirflowFailException(f"{type(e).__name__}{where} (not retried): {e}") from e


@dag(dag_id="ledger_nightly", schedule=NIGHTLY, start_date=datetime(2026, 1, 1), catchup=False,
     default_args=DEFAULTS, max_active_runs=1, tags=["integrity-ledger"], doc_md=__doc__)
def ledger_nightly():
    @task
    def verify() -> dict:
        # The verifier's state is in the ledger's database, so whichever worker runs the next night resumes from it.
        return _once(lambda: nightly.verify_incremental(Settings.from_env()))

    @task
    def checkpoint(verified: dict) -> dict:
        # After verify, and only what it verified: entries appended since are signed by a later night.
        return _once(lambda: nightly.publish_checkpoint(Settings.from_env(), size=verified["size"]))

    @task
    def extract(cp: dict) -> dict:
        spec, table, name = _funding()
        day = _as_of()
        night = [nightly.snapshot_directory(Path(), day).name]

        def step(d: Path) -> dict:
            return _stored(_once(lambda: nightly.extract(Settings.from_env(), spec, table, day, d, name)), "path", d)
        return in_scratch(night, step, lambda r: frozenset(night) if r["reused"] else frozenset())

    @task
    def reconcile(snapshot: dict) -> dict:
        days = int(Variable.get("ledger_unpaid_days", default="90"))
        day = _as_of()
        night = [nightly.snapshot_directory(Path(), day).name, f"reconciliation-{day.isoformat()}"]

        def step(d: Path) -> dict:
            path = str(nightly.snapshot_directory(d, day) / "funding.csv")
            return _stored(_once(lambda: nightly.reconcile_snapshot(Settings.from_env(), path, day, d, days)),
                           "directory", d)
        return in_scratch(night, step)

    @task
    def anchor(produced: dict) -> dict:
        name = produced["directory"].rstrip("/").rsplit("/", 1)[-1]
        anchored = in_scratch([name], lambda d: _once(lambda: nightly.anchor_report(Settings.from_env(), str(d / name))))
        _notify_findings(produced, anchored)
        return anchored

    anchor(reconcile(extract(checkpoint(verify()))))


def _notify_findings(produced: dict, anchored: dict[str, Any]) -> None:
    counts = {k: n for k, n in produced["counts"].items() if n}
    if set(counts) - INFORMATIONAL:
        listed = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
        send(get_current_context(), "findings", f"reconciliation of {anchored['as_of']}: {listed}; report "
                                                f"{produced['directory']} (anchored at seq {anchored['seq']})",
             as_of=anchored["as_of"], counts=counts)


ledger_nightly()
