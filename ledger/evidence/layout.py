"""What an evidence bundle is made of, shared by the exporter and the offline
verifier (docs/evidence.md): the format name and version, which entry types
prove key ownership, and the content digest the custody entry commits to. Pure."""

from __future__ import annotations

import hashlib

from ledger.log import canonical

FORMAT = "integrity-ledger/evidence-bundle"
VERSION = 1
KEY_TYPES = ("log.initialized", "key.registered", "key.revoked")


def content_digest(files: dict[str, bytes], paths: list[str]) -> str:
    """SHA-256 of the RFC 8785 JSON {path: sha256 hex} over ``paths``."""
    return hashlib.sha256(canonical.encode({p: hashlib.sha256(files[p]).hexdigest() for p in paths})).hexdigest()
