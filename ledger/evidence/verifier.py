"""Offline verification of an evidence bundle (docs/evidence.md): ``ledger verify-bundle``.
No database: the zip, and optionally the log key the verifier trusts.

It runs the very code every bundle ships as ``verify_bundle.py``
(``ledger.evidence.standalone``, standard library and ``cryptography`` only), so the
court's script and the ledger cannot disagree: the same checks in the same order,
the same failure names and exit codes (decision 0017). This module only types the
outcome for the ledger's edges:

- ``UnreadableBundle`` (exit 2; checks ``zip``, ``manifest_format``, ``usage``): not a
  zip this verifier reads safely, or a manifest that is not of the format's shape;
- ``BundleError`` (exit 1): a bundle whose content does not verify, naming the
  check, the file, what was expected and what was found;
- a ``BundleReport`` whose ``authenticated`` is False when no trusted key was given:
  the bundle is consistent with its own log key, which anyone can make (exit 3 at
  the CLI, "consistent, not authenticated").

Checks, in order (``standalone.CHECKS``): the manifest lists exactly the files in the
zip with their SHA-256; the log key (the trusted one, else the bundle's); the
checkpoint's format, signature and origin; every entry's shape and its proof of
inclusion in that checkpoint; every entry signed by the key registered for its
authority at that seq (log-signed types by the log key, stated by the operator); v1
before v2, prev and recorded_at order over consecutive entries, signed_at within the
skew (docs/contracts.md §2.7); disclosures recompute their subject reference; the
custody entry records this bundle's content, case, requester, seqs and subjects.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import LedgerError
from ledger.evidence import standalone
from ledger.evidence.container import Limits, UnreadableBundle
from ledger.signing.keys import VerifierKey

__all__ = ["CHECKS", "BundleError", "BundleReport", "Limits", "Unreadable", "UnreadableBundle", "verify_bundle"]

CHECKS: dict[str, int] = standalone.CHECKS  # failure name -> exit code, shared with the script and the browser


class BundleError(LedgerError):
    """The bundle does not verify (exit 1)."""

    def __init__(self, file: str, expected: str, found: str, check: str = "bundle"):
        self.file, self.expected, self.found, self.check = file, expected, found, check
        super().__init__(f"{file}: expected {expected}; found {found}")


class Unreadable(UnreadableBundle):
    """Not a bundle this verifier can read, or a trusted key it cannot use (exit 2), with the check's name."""

    def __init__(self, file: str, expected: str, found: str, check: str = "zip"):
        self.check = check
        super().__init__(file, expected, found)


@dataclass
class BundleReport:
    case: str
    origin: str
    tree_size: int
    root: str
    entries: int
    subjects: int
    custody_seq: int
    # Files the checks above do not authenticate: the readable renderings and
    # helpers (report.html, report.pdf, VERIFY.md, verify_bundle.py). The manifest
    # that hashes them is unsigned, so a forger can edit them and re-hash it; a
    # reader relies on the entries, and may regenerate the report from them.
    unauthenticated: tuple[str, ...] = ()
    # False: checked against the bundle's own log key only ("consistent, not authenticated").
    authenticated: bool = False


DEFAULT_LIMITS = Limits()


def verify_bundle(data: bytes, trusted: VerifierKey | None = None, against: bytes | None = None, *,
                  limits: Limits = DEFAULT_LIMITS) -> BundleReport:
    """Verify a bundle's bytes; raise ``Unreadable`` or ``BundleError``, never anything else."""
    bounds = (limits.max_members, limits.max_bytes, limits.max_zip_bytes)
    try:
        r = standalone.verify_data(data, trusted.vkey() if trusted else None, against, limits=bounds)
    except standalone.Fail as e:
        raise BundleError(e.file, e.expected, e.found, e.check or "bundle") from e
    except standalone.Unreadable as e:
        raise Unreadable(e.file, e.expected, e.found, e.check or "zip") from e
    return BundleReport(r["case"], r["origin"], r["tree_size"], r["root"], r["entries"], r["subjects"],
                        r["custody_seq"], tuple(r["unauthenticated"]), r["authenticated"])
