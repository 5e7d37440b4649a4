"""The ``ledger`` command: a thin edge. Each command reads settings, makes one
call into the library, and prints the result for people (default) or
machines (``--json``). One module per command group; importing them registers
their commands on ``main``. Exit codes (docs/cli.md): 0 ok, 1 verification
failed, 2 bad input or configuration, 70 a bug, 130 interrupted, 141 output
closed early (``ledger.cli.edge``)."""

from ledger.cli import (  # noqa: F401  (registers the commands)
    authorities,
    checkpoints,
    database,
    evidence,
    keys,
    keys_rewrap,
    proofs,
    reading,
    reconciliation,
    serve,
    signing,
    subjects,
    tokens,
    vault,
    witness,
    writing,
)
from ledger.cli.root import main

__all__ = ["main"]
