"""Where the nightly DAG's artefacts live: Airflow's ``ObjectStoragePath`` under a
base the Variable ``ledger_artefact_base`` names (``file:///srv/ledger/reports``,
``s3://bucket/ledger?conn_id=aws_reports``, any fsspec store), else the local
directory ``ledger_report_dir`` (default var/reports) as a ``file://`` base.

Each task works in a scratch directory of its own machine: ``in_scratch`` copies
the directories the step reads from the store, runs the step there, and copies
what it wrote back (ledger.finance.artefacts), also when the step fails (a
refused re-run's result is kept beside the anchored one). No task reads another
task's local disk (decision 0021). Read when a task runs, never at parse time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from airflow.sdk import ObjectStoragePath, Variable

from ledger.finance import artefacts

T = TypeVar("T")


def base() -> ObjectStoragePath:
    url = Variable.get("ledger_artefact_base", default=None)
    if not url:
        url = Path(Variable.get("ledger_report_dir", default="var/reports")).resolve().as_uri()
    return ObjectStoragePath(url)


def in_scratch(names: list[str], step: Callable[[Path], T], anchored: Callable[[T], frozenset[str]] | None = None) -> T:
    """Run ``step(scratch)`` with ``names`` pulled from the store into ``scratch``,
    then push back what it wrote. ``anchored(result)`` names the directories the
    step found anchored: the store must already hold exactly their bytes."""
    store = base()
    with tempfile.TemporaryDirectory(prefix="ledger-night-") as tmp:
        scratch = Path(tmp)
        artefacts.pull(store, names, scratch)
        try:
            result = step(scratch)
        except BaseException:
            # A refused run's result, written beside the anchored one, is evidence: keep it.
            artefacts.push(scratch, store, immutable=frozenset(names))
            raise
        artefacts.push(scratch, store, immutable=anchored(result) if anchored else frozenset())
        return result
