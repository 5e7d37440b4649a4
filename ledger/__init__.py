"""Integrity Ledger: an append-only, hash-chained, Merkle-proved record of the
talent programme's honours, subsidies, clawbacks, sanctions and exemptions.

The package is layered: pure modules (``canonical``, ``entry``, ``merkle``,
``merkle_verify``, ``compact_range``, ``keys``, ``note``) import no storage;
``ledger.store`` holds the SQLAlchemy tables and migrations; services
(``append``, ``verify``) sit on top; ``ledger.cli`` is a thin edge.
"""

__version__ = "0.1.0"
