"""The ``ledger`` command: a thin edge. Each command reads settings, makes one
call into the library, and prints the result for people (default) or
machines (``--json``). One module per command group; importing them registers
their commands on ``main``. Exit codes: 0 ok, 1 verification failed, 2 bad
input or configuration (``ledger.cli.edge``)."""

from ledger.cli import (  # noqa: F401  (registers the commands)
    authorities,
    checkpoints,
    database,
    evidence,
    keys,
    proofs,
    reading,
    reconciliation,
    serve,
    subjects,
    tokens,
    witness,
    writing,
)
from ledger.cli.root import main

__all__ = ["main"]
