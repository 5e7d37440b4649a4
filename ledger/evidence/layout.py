"""What an evidence bundle is made of, shared by the exporter and the offline
verifier (docs/evidence.md): the format name and version, which entry types
prove key ownership, and the content digest the custody entry commits to. Pure."""

from __future__ import annotations

import hashlib

from ledger.log import canonical

FORMAT = "integrity-ledger/evidence-bundle"
VERSION = 1
KEY_TYPES = ("log.initialized", "key.registered", "key.revoked")

# Bounds (docs/evidence.md): what an export may select, and so what a verifier
# must be ready to read. Anything beyond them is refused as unreadable (zip bombs).
MAX_ENTRIES = 100_000  # entries an export may select (plus their key entries and the custody entry)
MAX_MEMBERS = 2 * MAX_ENTRIES + 10_000  # an entry and a proof each, keys, disclosures, the rest
MAX_BUNDLE_BYTES = 1 << 30  # decompressed, all members together: ~3.5 KiB per entry and proof, reports
MAX_ZIP_BYTES = MAX_BUNDLE_BYTES + (64 << 20)  # the zip itself: stored members plus their headers

# The files a bundle may hold besides entries/, proofs/, keys/ and subjects/.
FIXED_FILES = ("manifest.json", "checkpoint.txt", "consistency.json", "report.html", "report.pdf", "VERIFY.md",
               "verify_bundle.py")


def content_digest(files: dict[str, bytes], paths: list[str]) -> str:
    """SHA-256 of the RFC 8785 JSON {path: sha256 hex} over ``paths``."""
    return hashlib.sha256(canonical.encode({p: hashlib.sha256(files[p]).hexdigest() for p in paths})).hexdigest()
