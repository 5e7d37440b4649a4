"""``main``, the ``ledger`` command group; each module of ``ledger.cli`` adds its commands to it."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="integrity-ledger")
def main() -> None:
    """Integrity Ledger: append-only, hash-chained, Merkle-proved integrity records."""
