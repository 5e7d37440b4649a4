"""A notifier for the DAG tests: each notification's ``ledger_event`` appended as
one JSON line to the file LEDGER_TEST_NOTIFICATIONS names (set the Variable
``ledger_notifier`` to ``tests.airflow_capture.Capture``)."""

from __future__ import annotations

import json
import os

from airflow.sdk import BaseNotifier


class Capture(BaseNotifier):
    def notify(self, context) -> None:
        with open(os.environ["LEDGER_TEST_NOTIFICATIONS"], "a", encoding="utf-8") as f:
            f.write(json.dumps(context["ledger_event"], sort_keys=True) + "\n")


def captured(path) -> list[dict]:
    try:
        return [json.loads(line) for line in open(path, encoding="utf-8")]
    except FileNotFoundError:
        return []
