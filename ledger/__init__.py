"""Integrity Ledger: an append-only, hash-chained, Merkle-proved record of the
talent programme's honours, subsidies, clawbacks, sanctions and exemptions.

The package is layered (docs/decisions/0010-layout-and-layers.md): pure
modules (``ledger.log.canonical``, ``ledger.log.entry``, ``ledger.log.merkle``,
``ledger.log.merkle_verify``, ``ledger.signing.keys``, ``ledger.signing.note``
and the others listed in pyproject.toml's import-linter rules) import no
storage; ``ledger.store`` holds the SQLAlchemy tables and migrations;
services (``ledger.log.append``, ``ledger.log.verify``) sit on top;
``ledger.cli``, ``ledger.api`` and ``ledger.console`` are thin edges.
"""

__version__ = "0.1.0"
