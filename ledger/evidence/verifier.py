"""Offline verification of an evidence bundle (docs/evidence.md). No database: the zip,
and optionally the log key the verifier trusts.

Two kinds of failure, two exit codes of ``ledger verify-bundle``:
- ``UnreadableBundle`` (exit 2, ``container``): not a zip this verifier reads
  safely, or a manifest that is not of the format's shape;
- ``BundleError`` (exit 1): a bundle whose content does not verify. Each names
  the file, what was expected and what was found.

Checks, in order: the manifest lists exactly the files in the zip with their
SHA-256; the checkpoint is signed by the log key; every tlog-proof is against
that checkpoint and includes its entry; every entry is signed by the key
registered for its authority at that seq (v1: over the entry, v2: over its
statement; the key entries are themselves in the bundle, proven), v1 entries
come before v2 ones and a statement's signed_at is within the skew of its
recorded_at (docs/contracts.md §2.7); disclosures recompute their subject reference; the custody
entry records this bundle's content, case and requester.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ledger.domain.vault import reference
from ledger.errors import LedgerError
from ledger.evidence.container import Limits, Manifest, UnreadableBundle, read_manifest, read_members, sha256_hex
from ledger.evidence.container import strict_json as _strict_json
from ledger.evidence.layout import content_digest
from ledger.log.checkpoint import Checkpoint, open_checkpoint
from ledger.log.entry import FORMAT_V2, Entry, from_canonical
from ledger.log.entry_types import get as entry_type
from ledger.log.merkle_verify import verify_consistency
from ledger.log.statement import order_problem, skew_problem
from ledger.log.tlog_proof import parse as parse_proof
from ledger.log.tlog_proof import verify as verify_proof
from ledger.signing.key_registry import KeyRegistry
from ledger.signing.keys import ED25519_TYPE, VerifierKey, parse_vkey

__all__ = ["BundleError", "BundleReport", "Limits", "UnreadableBundle", "verify_bundle"]


class BundleError(LedgerError):
    """The bundle does not verify (exit 1)."""

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


_ENTRY = re.compile(r"entries/(0|[1-9][0-9]*)\.json")
_PROOF = re.compile(r"proofs/(0|[1-9][0-9]*)\.tlog-proof")
_SALT = re.compile(r"[0-9a-f]{32}")  # docs/contracts.md §2.4: a 16-byte salt
_HEX64 = re.compile(r"[0-9a-f]{64}")
# What a malformed file that passed its hash can still raise deep in a check. Each
# check names its file; this net only turns an unforeseen one into a finding.
_MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError, OverflowError)
DEFAULT_LIMITS = Limits()


def verify_bundle(data: bytes, trusted: VerifierKey | None = None, against: bytes | None = None, *,
                  limits: Limits = DEFAULT_LIMITS) -> BundleReport:
    """Verify a bundle's bytes; raise ``UnreadableBundle`` or ``BundleError``, never anything else."""
    files = read_members(data, limits)
    m = read_manifest(files)
    older = read_members(against, limits, label="(older) bundle") if against is not None else None
    try:
        return _verify(files, m, trusted, older)
    except (BundleError, UnreadableBundle):
        raise
    except LedgerError as e:
        raise BundleError("bundle", "content this verifier can check", f"{type(e).__name__}: {e}") from e
    except _MALFORMED as e:
        raise BundleError("bundle", "content this verifier can check", f"{type(e).__name__}: {e}") from e


def _verify(files: dict[str, bytes], m: Manifest, trusted: VerifierKey | None,
            older: dict[str, bytes] | None) -> BundleReport:
    _check_listing(files, m)
    # The log key: the one the verifier trusts, else the bundle's (then say so).
    log_key = _log_key(files, m, trusted)
    note = _text(files, "checkpoint.txt")
    cp = _open_checkpoint(note, log_key)
    if (m.origin, m.tree_size) != (cp.origin, cp.size):
        raise BundleError("manifest.json", f"origin {cp.origin} at tree size {cp.size} (checkpoint.txt)",
                          f"origin {m.origin} at tree size {m.tree_size}")
    # Proofs before signatures: the key entries the signatures are checked with must be proven first.
    entries = _proven_entries(files, note, cp, log_key)
    _check_signatures(entries, log_key)
    _check_subjects(files, entries)
    custody = _check_custody(files, m, entries)
    if older is not None:
        _check_extends(files, cp, log_key, older)
    return _report(files, m, cp, entries, custody)


def _check_listing(files: dict[str, bytes], m: Manifest) -> None:
    """manifest.json lists exactly the files in the zip, with their SHA-256."""
    listed = set(m.files)
    present = set(files) - {"manifest.json"}
    for name in sorted(listed - present):
        raise BundleError(name, "present (listed in manifest.json)", "missing")
    for name in sorted(present - listed):
        raise BundleError(name, "not present (not listed in manifest.json)", "an extra file")
    for name in sorted(set(m.content) - present):
        raise BundleError(name, "present (in the content the custody entry covers)", "missing")
    for name, want in sorted(m.files.items()):
        got = sha256_hex(files[name])
        if got != want:
            raise BundleError(name, f"SHA-256 {want} (manifest.json)", got)


def _text(files: dict[str, bytes], name: str) -> str:
    if name not in files:
        raise BundleError(name, "present", "missing")
    try:
        return files[name].decode("utf-8")
    except UnicodeDecodeError as e:
        raise BundleError(name, "UTF-8 text", str(e)) from e


def _log_key(files: dict[str, bytes], m: Manifest, trusted: VerifierKey | None) -> VerifierKey:
    name = f"keys/{m.log_key}.vkey"
    try:
        bundled = parse_vkey(_text(files, name))
    except LedgerError as e:
        if isinstance(e, BundleError):
            raise
        raise BundleError(name, "a C2SP verifier key", str(e)) from e
    if bundled.name != m.log_key or bundled.sig_type != ED25519_TYPE:
        raise BundleError(name, f"the Ed25519 note key {m.log_key}", bundled.vkey())
    if trusted and bundled.vkey() != trusted.vkey():
        raise BundleError(name, f"the trusted log key {trusted.vkey()}", bundled.vkey())
    return trusted or bundled


def _open_checkpoint(note: str, log_key: VerifierKey) -> Checkpoint:
    try:
        return open_checkpoint(note, log_key)
    except LedgerError as e:
        raise BundleError("checkpoint.txt", f"a checkpoint signed by {log_key.name}", str(e)) from e


def _proven_entries(files: dict[str, bytes], note: str, cp: Checkpoint, log_key: VerifierKey) -> dict[int, Entry]:
    """Every entry in the bundle, by seq, each with its proof of inclusion in the checkpoint."""
    entries = {}
    for name in sorted(n for n in files if n.startswith("entries/")):
        if not _ENTRY.fullmatch(name):
            raise BundleError(name, "entries/<seq>.json", name)
        e = _proven_entry(files, name, note, cp, log_key)
        entries[e.seq] = e
    for name in sorted(n for n in files if n.startswith("proofs/")):
        match = _PROOF.fullmatch(name)
        if not match:
            raise BundleError(name, "proofs/<seq>.tlog-proof", name)
        if int(match.group(1)) not in entries:
            raise BundleError(f"entries/{match.group(1)}.json", f"present (its proof {name} is)", "missing")
    return entries


def _proven_entry(files: dict[str, bytes], name: str, note: str, cp: Checkpoint, log_key: VerifierKey) -> Entry:
    try:
        e = from_canonical(files[name])
    except (LedgerError, *_MALFORMED) as err:
        raise BundleError(name, "an entry's canonical bytes", str(err)) from err
    problem = _entry_shape(json.loads(files[name]))  # canonical JSON by now: a second, plain parse
    if problem:
        raise BundleError(name, "an entry (docs/contracts.md §2.1, §2.7)", problem)
    if name != f"entries/{e.seq}.json":
        raise BundleError(name, f"entries/{e.seq}.json for seq {e.seq}", name)
    proof_name = f"proofs/{e.seq}.tlog-proof"
    try:
        p = parse_proof(_text(files, proof_name))
    except BundleError:
        raise BundleError(proof_name, f"the proof of entry {e.seq}", "missing or not UTF-8") from None
    except LedgerError as err:
        raise BundleError(proof_name, "a C2SP tlog-proof", str(err)) from err
    if p.checkpoint != note:
        raise BundleError(proof_name, "a proof against checkpoint.txt", "a proof against another checkpoint")
    if p.index != e.seq:
        raise BundleError(proof_name, f"index {e.seq}", f"index {p.index}")
    try:
        verify_proof(p, log_key, files[name])
    except LedgerError as err:
        raise BundleError(proof_name, f"inclusion of {name} at tree size {cp.size}", str(err)) from err
    return e


def _entry_shape(obj: dict[str, Any]) -> str | None:
    """Why the members, as JSON, are not of their types (docs/contracts.md §2.1; v2: §2.7), or None.
    (``from_canonical`` checks the member names; ``refs`` it would take from any iterable.)"""
    text: tuple[str, ...]
    if obj["v"] == FORMAT_V2 and type(obj["v"]) is int:
        content, text = obj["statement"], ("prev", "recorded_at")
        stated = [content[k] for k in ("type", "actor", "request_id", "signed_at", "key")]
        bad = [] if type(content["v"]) is int and content["v"] == FORMAT_V2 else ["statement.v"]
    else:
        content, text = obj, ("prev", "type", "recorded_at", "actor", "request_id", "signer")
        stated = []
        bad = [] if type(obj["v"]) is int and obj["v"] == 1 else ["v"]
    auth = content["authority"]
    if not all(isinstance(v, str) for v in [*(obj[k] for k in text), *stated, auth["id"], auth["region"]]):
        bad.append("text members")
    if type(obj["seq"]) is not int or obj["seq"] < 0:
        bad.append("seq")
    if content["subject"] is not None and not isinstance(content["subject"], str):
        bad.append("subject")
    if not isinstance(content["refs"], list) or not all(type(r) is int for r in content["refs"]):
        bad.append("refs")
    if not isinstance(content["body"], dict):
        bad.append("body")
    return f"members of the wrong type: {', '.join(bad)}" if bad else None


def _check_signatures(entries: dict[int, Entry], log_key: VerifierKey) -> None:
    """Replay the bundle's key entries in seq order (they are proven): every entry
    is signed by the key registered for its authority at its seq."""
    registry = KeyRegistry()
    version: int | None = None
    for seq, e in sorted(entries.items()):
        where = f"entries/{seq}.json"
        # docs/contracts.md §2.7: v1 entries, then v2, never the reverse (checked over the
        # entries the bundle holds, which are a proven subset of the log, in seq order).
        problem = order_problem(version, e.v) or (skew_problem(str(e.signed_at), e.recorded_at) if e.v == 2 else None)
        if problem:
            raise BundleError(where, "an entry in the order and time §2.7 allows", problem)
        version = e.v
        try:
            log_signed = entry_type(e.type).signed_by == "log"
            if e.type == "log.initialized" and parse_vkey(e.body["log_key"]).vkey() != log_key.vkey():
                raise BundleError(where, f"the log key {log_key.name}", str(e.body["log_key"]))
            key = registry.signing_key(e, log_signed)
            key.verify(e.signature, e.signing_bytes)
        except BundleError:
            raise
        except (LedgerError, *_MALFORMED) as err:
            raise BundleError(where, "a valid signature by the key registered for its authority",
                              str(err)) from err
        try:
            registry.apply(e)
        except (LedgerError, *_MALFORMED) as err:
            raise BundleError(where, "a key entry that can be replayed", f"{type(err).__name__}: {err}") from err


def _check_subjects(files: dict[str, bytes], entries: dict[int, Entry]) -> None:
    """Each disclosure recomputes its subject reference, and some entry is about it."""
    for name in sorted(n for n in files if n.startswith("subjects/")):
        d = _strict_json(files[name], name, BundleError)
        if not (isinstance(d, dict) and all(isinstance(d.get(k), str) for k in ("ref", "scheme", "id", "salt"))
                and _SALT.fullmatch(d["salt"])):
            raise BundleError(name, "a disclosure {ref, scheme, id, salt (32 hex digits), name}", str(d)[:200])
        try:
            ref = reference(bytes.fromhex(d["salt"]), d["scheme"], d["id"])
        except UnicodeEncodeError as e:
            raise BundleError(name, "scheme and id in Unicode text", str(e)) from e
        if ref != d["ref"] or name != f"subjects/{d['ref']}.json":
            raise BundleError(name, f"SHA-256(salt || scheme:id) = {d['ref']}", ref)
        if not any(e.subject == ref for e in entries.values()):
            raise BundleError(name, "a subject named by an entry in the bundle", "no entry about it")


def _check_custody(files: dict[str, bytes], m: Manifest, entries: dict[int, Entry]) -> Entry:
    """The custody entry (evidence.exported) records this bundle's content: its digest,
    case and requester, its entries and subjects, and no entry beyond those."""
    custody = entries.get(m.custody_seq)
    where = f"entries/{m.custody_seq}.json"
    if custody is None or custody.type != "evidence.exported":
        raise BundleError(where, "the evidence.exported entry", "missing or another type")
    b = custody.body
    if not (isinstance(b.get("content_sha256"), str) and isinstance(b.get("case"), str)
            and isinstance(b.get("requested_by"), str) and isinstance(b.get("seqs"), list)
            and all(type(s) is int for s in b["seqs"]) and isinstance(b.get("subjects"), list)
            and all(isinstance(s, str) for s in b["subjects"])):
        raise BundleError(where, "an evidence.exported body {case, requested_by, seqs, subjects, content_sha256}",
                          str(b)[:200])
    digest = content_digest(files, list(m.content))
    if b["content_sha256"] != digest or b["case"] != m.case:
        raise BundleError(where, f"content_sha256 {digest} for case {m.case}",
                          f"{b['content_sha256']} for case {b['case']}")
    recorded = {"content_sha256": b["content_sha256"], "requested_by": b["requested_by"],
                "exported_at": custody.recorded_at}
    stated = {"content_sha256": m.content_sha256, "requested_by": m.requested_by, "exported_at": m.exported_at}
    if stated != recorded:
        raise BundleError("manifest.json", f"{recorded} as the custody entry records", str(stated))
    expected = {f"entries/{s}.json" for s in b["seqs"]} | {f"subjects/{r}.json" for r in b["subjects"]}
    content_entries = {n for n in m.content if n.startswith(("entries/", "subjects/"))}
    if content_entries != expected:
        raise BundleError("manifest.json", f"content {sorted(expected)} as recorded by the export",
                          str(sorted(content_entries)))
    beyond = set(entries) - set(b["seqs"]) - {custody.seq}
    if beyond:
        raise BundleError("entries/", "only the entries the export recorded", str(sorted(beyond)))
    return custody


def _report(files: dict[str, bytes], m: Manifest, cp: Checkpoint, entries: dict[int, Entry],
            custody: Entry) -> BundleReport:
    proven = set(m.content) | {"manifest.json", "checkpoint.txt"}
    loose = tuple(sorted(n for n in files if n not in proven and not n.startswith(("entries/", "proofs/"))))
    return BundleReport(m.case, cp.origin, cp.size, cp.root.hex(), len(entries),
                        sum(1 for n in files if n.startswith("subjects/")), custody.seq, loose)


def _check_extends(files: dict[str, bytes], cp: Checkpoint, log_key: VerifierKey, old_files: dict[str, bytes]) -> None:
    """The newer bundle's checkpoint extends the older one's (RFC 9162 §2.1.4)."""
    try:
        old = open_checkpoint(_text(old_files, "checkpoint.txt"), log_key)
    except LedgerError as e:
        raise BundleError("(older) checkpoint.txt", f"a checkpoint signed by {log_key.name}", str(e)) from e
    if old.origin != cp.origin:
        raise BundleError("checkpoint.txt", f"origin {old.origin}", cp.origin)
    if old.size == cp.size:
        if old.root != cp.root:
            raise BundleError("checkpoint.txt", f"root {old.root.hex()} at size {old.size}", cp.root.hex())
        return
    if "consistency.json" not in files:
        raise BundleError("consistency.json", f"a consistency proof from size {old.size}", "missing")
    c = _consistency(files)
    if c["old_size"] != old.size or c["new_size"] != cp.size:
        raise BundleError("consistency.json", f"sizes {old.size} -> {cp.size}", f"{c['old_size']} -> {c['new_size']}")
    try:
        verify_consistency(old.size, cp.size, old.root, cp.root, [bytes.fromhex(h) for h in c["proof"]])
    except LedgerError as e:
        raise BundleError("consistency.json", f"the tree at {cp.size} extends the tree at {old.size}", str(e)) from e


def _consistency(files: dict[str, bytes]) -> dict[str, Any]:
    c = _strict_json(files["consistency.json"], "consistency.json", BundleError)
    if not (isinstance(c, dict) and type(c.get("old_size")) is int and type(c.get("new_size")) is int
            and isinstance(c.get("proof"), list) and all(isinstance(h, str) and _HEX64.fullmatch(h) for h in c["proof"])):
        raise BundleError("consistency.json", "{old_size, new_size, proof: [64 hex digits …]}", str(c)[:200])
    return c

