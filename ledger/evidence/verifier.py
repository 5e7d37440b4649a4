"""Offline verification of an evidence bundle (docs/evidence.md). No database: the zip,
and optionally the log key the verifier trusts.

Each failure names the file, what was expected and what was found
(``BundleError``). Checks, in order: the manifest lists exactly the files in
the zip with their SHA-256; the checkpoint is signed by the log key; every
tlog-proof is against that checkpoint and includes its entry; every entry is
signed by the key registered for its authority at that seq (the key entries
are themselves in the bundle, proven); disclosures recompute their subject
reference; the custody entry records this bundle's content.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from ledger.domain.vault import reference
from ledger.errors import LedgerError
from ledger.evidence.layout import FORMAT, content_digest
from ledger.log.checkpoint import Checkpoint, open_checkpoint
from ledger.log.entry import Entry, from_canonical
from ledger.log.entry_types import get as entry_type
from ledger.log.merkle_verify import verify_consistency
from ledger.log.tlog_proof import parse as parse_proof
from ledger.log.tlog_proof import verify as verify_proof
from ledger.signing.key_registry import KeyRegistry
from ledger.signing.keys import VerifierKey, parse_vkey


class BundleError(LedgerError):
    def __init__(self, file: str, expected: str, found: str):
        self.file, self.expected, self.found = file, expected, found
        super().__init__(f"{file}: expected {expected}; found {found}")


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


def _read(data: bytes) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return {n: z.read(n) for n in z.namelist() if not n.endswith("/")}
    except zipfile.BadZipFile as e:
        raise BundleError("bundle", "a zip file", str(e)) from e


def _json(files: dict[str, bytes], name: str) -> Any:
    try:
        return json.loads(files[name])
    except (ValueError, UnicodeDecodeError) as e:
        raise BundleError(name, "JSON", str(e)) from e


def verify_bundle(data: bytes, trusted: VerifierKey | None = None, against: bytes | None = None) -> BundleReport:
    files = _read(data)
    m = _check_manifest(files)
    # The log key: the one the verifier trusts, else the bundle's (then say so).
    log_key = _log_key(files, m, trusted)
    note = files["checkpoint.txt"].decode()
    cp = _open_checkpoint(note, log_key)
    # Proofs before signatures: the key entries the signatures are checked with must be proven first.
    entries = _proven_entries(files, note, cp, log_key)
    _check_signatures(entries, log_key)
    _check_subjects(files, entries)
    custody = _check_custody(files, m, entries)
    if against is not None:
        _check_extends(files, cp, log_key, against)
    return _report(files, m, cp, entries, custody)


def _check_manifest(files: dict[str, bytes]) -> dict[str, Any]:
    """manifest.json is of this format and lists exactly the files in the zip, with their SHA-256."""
    if "manifest.json" not in files:
        raise BundleError("manifest.json", "present", "missing")
    m = _json(files, "manifest.json")
    if m.get("format") != FORMAT:
        raise BundleError("manifest.json", f"format {FORMAT}", repr(m.get("format")))
    listed = set(m["files"])
    present = set(files) - {"manifest.json"}
    for name in sorted(listed - present):
        raise BundleError(name, "present (listed in manifest.json)", "missing")
    for name in sorted(present - listed):
        raise BundleError(name, "not present (not listed in manifest.json)", "an extra file")
    for name, want in sorted(m["files"].items()):
        got = hashlib.sha256(files[name]).hexdigest()
        if got != want:
            raise BundleError(name, f"SHA-256 {want} (manifest.json)", got)
    return m


def _log_key(files: dict[str, bytes], m: dict[str, Any], trusted: VerifierKey | None) -> VerifierKey:
    bundled = parse_vkey(files[f"keys/{m['log_key']}.vkey"].decode().strip())
    log_key = trusted or bundled
    if trusted and bundled.vkey() != trusted.vkey():
        raise BundleError(f"keys/{m['log_key']}.vkey", f"the trusted log key {trusted.vkey()}", bundled.vkey())
    return log_key


def _open_checkpoint(note: str, log_key: VerifierKey) -> Checkpoint:
    try:
        return open_checkpoint(note, log_key)
    except LedgerError as e:
        raise BundleError("checkpoint.txt", f"a checkpoint signed by {log_key.name}", str(e)) from e


def _proven_entries(files: dict[str, bytes], note: str, cp: Checkpoint, log_key: VerifierKey) -> dict[int, Entry]:
    """Every entry in the bundle, by seq, each with its proof of inclusion in the checkpoint."""
    entries = {}
    for name in sorted(n for n in files if n.startswith("entries/")):
        e = _proven_entry(files, name, note, cp, log_key)
        entries[e.seq] = e
    return entries


def _proven_entry(files: dict[str, bytes], name: str, note: str, cp: Checkpoint, log_key: VerifierKey) -> Entry:
    try:
        e = from_canonical(files[name])
    except LedgerError as err:
        raise BundleError(name, "an entry's canonical bytes", str(err)) from err
    if name != f"entries/{e.seq}.json":
        raise BundleError(name, f"entries/{e.seq}.json for seq {e.seq}", name)
    proof_name = f"proofs/{e.seq}.tlog-proof"
    if proof_name not in files:
        raise BundleError(proof_name, f"the proof of entry {e.seq}", "missing")
    p = parse_proof(files[proof_name].decode())
    if p.checkpoint != note:
        raise BundleError(proof_name, "a proof against checkpoint.txt", "a proof against another checkpoint")
    if p.index != e.seq:
        raise BundleError(proof_name, f"index {e.seq}", f"index {p.index}")
    try:
        verify_proof(p, log_key, files[name])
    except LedgerError as err:
        raise BundleError(proof_name, f"inclusion of {name} at tree size {cp.size}", str(err)) from err
    return e


def _check_signatures(entries: dict[int, Entry], log_key: VerifierKey) -> None:
    """Replay the bundle's key entries in seq order (they are proven): every entry
    is signed by the key registered for its authority at its seq."""
    registry = KeyRegistry()
    for seq, e in sorted(entries.items()):
        log_signed = entry_type(e.type).signed_by == "log"
        try:
            if e.type == "log.initialized" and parse_vkey(e.body["log_key"]).vkey() != log_key.vkey():
                raise BundleError(f"entries/{seq}.json", f"the log key {log_key.name}", e.body["log_key"])
            key = registry.signing_key(e, log_signed)
            key.verify(e.signature, e.signing_bytes)
        except BundleError:
            raise
        except LedgerError as err:
            raise BundleError(f"entries/{seq}.json", "a valid signature by the key registered for its authority",
                              str(err)) from err
        registry.apply(e)


def _check_subjects(files: dict[str, bytes], entries: dict[int, Entry]) -> None:
    """Each disclosure recomputes its subject reference, and some entry is about it."""
    for name in sorted(n for n in files if n.startswith("subjects/")):
        d = _json(files, name)
        ref = reference(bytes.fromhex(d["salt"]), d["scheme"], d["id"])
        if ref != d["ref"] or name != f"subjects/{d['ref']}.json":
            raise BundleError(name, f"SHA-256(salt || scheme:id) = {d['ref']}", ref)
        if not any(e.subject == ref for e in entries.values()):
            raise BundleError(name, "a subject named by an entry in the bundle", "no entry about it")


def _check_custody(files: dict[str, bytes], m: dict[str, Any], entries: dict[int, Entry]) -> Entry:
    """The custody entry (evidence.exported) records this bundle's content: its digest,
    its entries and subjects, and no entry beyond those."""
    custody = entries.get(m["custody_seq"])
    if custody is None or custody.type != "evidence.exported":
        raise BundleError(f"entries/{m['custody_seq']}.json", "the evidence.exported entry", "missing or another type")
    digest = content_digest(files, m["content"])
    if custody.body["content_sha256"] != digest or custody.body["case"] != m["case"]:
        raise BundleError(f"entries/{custody.seq}.json", f"content_sha256 {digest} for case {m['case']}",
                          f"{custody.body['content_sha256']} for case {custody.body['case']}")
    expected = {f"entries/{s}.json" for s in custody.body["seqs"]} | {f"subjects/{r}.json" for r in custody.body["subjects"]}
    content_entries = {n for n in m["content"] if n.startswith(("entries/", "subjects/"))}
    if content_entries != expected:
        raise BundleError("manifest.json", f"content {sorted(expected)} as recorded by the export",
                          str(sorted(content_entries)))
    if set(entries) - set(custody.body["seqs"]) - {custody.seq}:
        raise BundleError("entries/", "only the entries the export recorded",
                          str(sorted(set(entries) - set(custody.body["seqs"]) - {custody.seq})))
    return custody


def _report(files: dict[str, bytes], m: dict[str, Any], cp: Checkpoint, entries: dict[int, Entry],
            custody: Entry) -> BundleReport:
    proven = set(m["content"]) | {"manifest.json", "checkpoint.txt"}
    loose = tuple(sorted(n for n in files if n not in proven and not n.startswith(("entries/", "proofs/"))))
    return BundleReport(m["case"], cp.origin, cp.size, cp.root.hex(), len(entries),
                        sum(1 for n in files if n.startswith("subjects/")), custody.seq, loose)


def _check_extends(files: dict[str, bytes], cp: Checkpoint, log_key: VerifierKey, older: bytes) -> None:
    """The newer bundle's checkpoint extends the older one's (RFC 9162 §2.1.4)."""
    old_files = _read(older)
    try:
        old = open_checkpoint(old_files["checkpoint.txt"].decode(), log_key)
    except (KeyError, LedgerError) as e:
        raise BundleError("(older) checkpoint.txt", f"a checkpoint signed by {log_key.name}", str(e)) from e
    if old.origin != cp.origin:
        raise BundleError("checkpoint.txt", f"origin {old.origin}", cp.origin)
    if old.size == cp.size:
        if old.root != cp.root:
            raise BundleError("checkpoint.txt", f"root {old.root.hex()} at size {old.size}", cp.root.hex())
        return
    if "consistency.json" not in files:
        raise BundleError("consistency.json", f"a consistency proof from size {old.size}", "missing")
    c = _json(files, "consistency.json")
    if c["old_size"] != old.size or c["new_size"] != cp.size:
        raise BundleError("consistency.json", f"sizes {old.size} -> {cp.size}", f"{c['old_size']} -> {c['new_size']}")
    try:
        verify_consistency(old.size, cp.size, old.root, cp.root, [bytes.fromhex(h) for h in c["proof"]])
    except LedgerError as e:
        raise BundleError("consistency.json", f"the tree at {cp.size} extends the tree at {old.size}", str(e)) from e
