"""``main``, the ``ledger`` command group; each module of ``ledger.cli`` adds its commands to it.
Its class (``LedgerGroup``) holds the exit-code policy of docs/cli.md for every command."""

from __future__ import annotations

import click

from ledger.cli.edge import LedgerGroup


@click.group(cls=LedgerGroup)
@click.version_option(package_name="integrity-ledger")
def main() -> None:
    """Integrity Ledger: append-only, hash-chained, Merkle-proved integrity records.

    Exit codes: 0 ok, 1 verification failed, 2 bad input or configuration,
    70 internal error (a bug), 130 interrupted, 141 stdout closed (docs/cli.md)."""
