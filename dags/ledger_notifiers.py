"""Notifications from the ledger's DAGs, through Airflow's notifier interface
(``airflow.sdk.BaseNotifier``): a task that fails, and a night whose
reconciliation found something a person must look at.

Which notifier: the Airflow Variable ``ledger_notifier``, a dotted path to a
``BaseNotifier`` subclass that takes no arguments (e.g. a site's own class
wrapping the Slack or SMTP provider's notifier); default ``LoggingNotifier``,
which writes to the task log. The choice is read when a notification is sent,
not when the DAG file is parsed (no Variable reads at parse time).

What is sent: the Airflow context, with ``ledger_event`` added: a dict with
``event`` ("task_failed" or "findings"), ``dag_id``, ``task_id``, ``as_of``
(or None), ``message`` and ``counts`` (findings by kind; {} for a failure).
Not a module the ``ledger`` package imports: the core imports no Airflow.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from airflow.sdk import BaseNotifier, Variable

DEFAULT = "ledger_notifiers.LoggingNotifier"
log = logging.getLogger("ledger.notifications")


class LoggingNotifier(BaseNotifier):
    """The default: one line in the task log (level WARNING, so it shows at the
    logging level the project runs Airflow with)."""

    def notify(self, context: Any) -> None:
        e = context["ledger_event"]
        log.warning("ledger %s: %s/%s as of %s: %s", e["event"], e["dag_id"], e["task_id"], e["as_of"], e["message"])


def configured() -> BaseNotifier:
    """The notifier the Variable ``ledger_notifier`` names (else ``LoggingNotifier``)."""
    path = Variable.get("ledger_notifier", default=None) or DEFAULT
    module, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, BaseNotifier)):
        raise TypeError(f"ledger_notifier: {path} is not a BaseNotifier subclass")
    return cls()


def send(context: Any, event: str, message: str, *, as_of: str | None = None,
         counts: dict[str, int] | None = None) -> None:
    """Send one notification through the configured notifier."""
    ti = context.get("ti") or context.get("task_instance")
    context["ledger_event"] = {"event": event, "dag_id": getattr(ti, "dag_id", None),
                               "task_id": getattr(ti, "task_id", None), "as_of": as_of, "message": message,
                               "counts": counts or {}}
    configured()(context)


class OnFailure(BaseNotifier):
    """A task's ``on_failure_callback``: the failure, through the configured notifier."""

    def notify(self, context: Any) -> None:
        from ledger.finance.business_day import day_of

        error = context.get("exception")
        start = context.get("data_interval_start")
        send(context, "task_failed", f"{type(error).__name__}: {error}" if error else "the task failed",
             as_of=day_of(start).isoformat() if start else None)
