"""Evidence bundles for courts and supervisors (docs/evidence.md): a zip that proves
itself offline with standard tools.

Layout (docs/evidence.md)::

    manifest.json              format, case, requester, time, origin, tree size, SHA-256 of every other file
    checkpoint.txt             the signed (and cosigned) checkpoint every proof is against
    entries/<seq>.json         each entry's exact canonical bytes
    proofs/<seq>.tlog-proof    C2SP tlog-proof per entry (entry bytes in `extra`)
    keys/<name>.vkey           the verifier keys: log, authorities, witnesses
    subjects/<ref>.json        disclosures (scheme, number, salt, name) for the subjects asked about
    report.html, report.pdf    the record in plain Chinese (the PDF embeds a CJK font)
    VERIFY.md, verify_bundle.py  how to check it by hand (sha256sum, openssl, Python)

The key entries (log.initialized, key.registered/revoked) of every signer are
included as entries with proofs, so which key belongs to which authority is
proven from the log itself, not asserted by the bundle.

Chain of custody: before the bundle is released, an ``evidence.exported``
entry (log-signed) records the case, requester, seqs, subjects and the SHA-256
of the content files; the checkpoint is then signed over a tree that includes
it, and the bundle carries its proof too. Every release gets its own custody
entry, even of identical content to the same recipient: the entry's request_id
names the release (``release``), not the content, so only a retry of the same
release returns the entry already recorded (docs/evidence.md, decision 0018).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, or_, select

from ledger.config import Settings
from ledger.domain import vault_store
from ledger.domain.facts import authority_registry
from ledger.domain.vault import Vault
from ledger.errors import NotFound, Problem, ValidationError
from ledger.evidence.layout import FORMAT, KEY_TYPES, MAX_ENTRIES, VERSION, content_digest
from ledger.log import canonical, prove, publish
from ledger.log.append import append_entries
from ledger.log.entry import Draft, Entry, format_time, from_canonical
from ledger.log.operator import OPERATOR
from ledger.log.tlog_proof import TlogProof
from ledger.signing import keystore
from ledger.signing.keyring import Keyring
from ledger.signing.note import parse as parse_note
from ledger.signing.private_files import write_private
from ledger.store import log_store
from ledger.store.schema import entries


@dataclass
class Bundle:
    data: bytes  # the zip
    manifest: dict
    custody: Entry


def _select(conn, subjects: list[str], seqs: list[int], size: int) -> list[Entry]:
    cond = []
    if subjects:
        cond.append(entries.c.subject.in_(subjects))
    if seqs:
        cond.append(entries.c.seq.in_(seqs))
    rows = conn.execute(select(entries.c.canonical).where(or_(*cond), entries.c.seq < size).order_by(entries.c.seq))
    return [from_canonical(bytes(r.canonical)) for r in rows]


def _key_entries(conn, size: int, signers: set[str]) -> list[Entry]:
    """log.initialized and the key entries of every signer in the bundle."""
    out = []
    for r in conn.execute(select(entries.c.canonical).where(entries.c.type.in_(KEY_TYPES), entries.c.seq < size)
                          .order_by(entries.c.seq)):
        e = from_canonical(bytes(r.canonical))
        name = e.body.get("name") or (e.body.get("vkey", "").split("+")[0] if e.type == "key.registered" else None)
        if e.type == "log.initialized" or name in signers:
            out.append(e)
    return out


MAX_RELEASE = 128


def release_request_id(case: str, release: str) -> str:
    """The custody entry's request_id for one release of a case: a digest of both, so
    a long case number still fits the 128-character request_id (entry_types), and
    the same release (a retry) always names the same entry."""
    return "evidence.exported:" + hashlib.sha256(canonical.encode({"case": case, "release": release})).hexdigest()


def _check_request(case: str, requested_by: str, subjects: list[str], seqs: list[int], release: str | None) -> None:
    """Every problem with the request, naming its field; raised before anything is read or written."""
    problems = []
    if not case.strip():
        problems.append(Problem("case", "is required"))
    if not requested_by.strip():
        problems.append(Problem("requested_by", "is required"))
    if release is not None and not (0 < len(release) <= MAX_RELEASE and release.isprintable() and release.strip()):
        problems.append(Problem("release", f"must be 1-{MAX_RELEASE} printable characters"))
    if not subjects and not seqs:
        problems.append(Problem("subject", "name at least one subject or seq"))
    if problems:
        raise ValidationError(problems)


def export(engine: Engine, keyring: Keyring, vault: Vault | None, settings: Settings, *, case: str,
           requested_by: str, subjects: list[str], seqs: list[int], clock: Callable[[], datetime],
           consistency_from: int | None = None, progress: Callable[[str], None] | None = None,
           release: str | None = None) -> Bundle:
    """Export a bundle and record its release in the log first.

    ``release`` names this release (the CLI's --release-id): calling again with the
    same one is a retry and returns the custody entry already recorded (if the
    content, requester and case are the same; else ``RequestConflict``). Without
    it every call is a new release, named by the clock's reading, and appends its
    own custody entry, even for a bundle identical to an earlier one."""
    say = progress or (lambda _: None)
    _check_request(case, requested_by, subjects, seqs, release)
    with engine.connect() as conn:
        # Before anything is written: a configured origin that is not the log's
        # refuses the export (the checkpoint in the bundle would not be signed).
        origin = publish.log_origin(conn, settings.origin)
        size = log_store.size(conn)
        if consistency_from is not None and not 0 <= consistency_from <= size:
            # Judged before anything is written: the custody entry is appended before
            # the proof is built, and must never record a bundle that is not made.
            raise ValidationError([Problem("consistency_from", f"{consistency_from} is beyond the tree (size {size})")])
        chosen = _select(conn, subjects, seqs, size)
        missing = sorted(set(seqs) - {e.seq for e in chosen})
        if missing:
            raise NotFound(f"seq: no entries {missing} in a log of size {size}")
        if not chosen:
            raise NotFound("subject: no entries about these subjects")
        if len(chosen) > MAX_ENTRIES:
            raise ValidationError([Problem("subject", f"selects {len(chosen)} entries, more than {MAX_ENTRIES}")])
        disclosures = {}
        for ref in subjects:
            if vault is None:
                raise NotFound("subject: no vault key on this host: cannot disclose identities")
            d = vault_store.reveal(conn, vault, ref)
            disclosures[ref] = {"ref": d.ref, "scheme": d.scheme, "id": d.id, "salt": d.salt.hex(), "name": d.name}
        keys = _key_entries(conn, size, {e.signer for e in chosen})
        # The report names authorities as registered (authority.registered), not by id.
        names = {a.id: a.name for a in authority_registry(conn, size).records.values()}
    say(f"{len(chosen)} entries, {len(keys)} key entries, {len(disclosures)} disclosures")

    files: dict[str, bytes] = {}
    included = {e.seq: e for e in [*chosen, *keys]}
    for seq, e in sorted(included.items()):
        files[f"entries/{seq}.json"] = e.canonical
    vkeys = {keyring.log.verifier.name: keyring.log.verifier.vkey()}
    for e in keys:
        if e.type == "key.registered":
            name = e.body["vkey"].split("+")[0]
            vkeys[name] = e.body["vkey"]
    for name, text in sorted(vkeys.items()):
        files[f"keys/{name}.vkey"] = (text + "\n").encode()
    for ref, disclosure in sorted(disclosures.items()):
        files[f"subjects/{ref}.json"] = canonical.encode(disclosure)
    content = sorted(files)
    digest = content_digest(files, content)

    # 1. Chain of custody first: the export is in the log before the bundle exists.
    #    One custody entry per release, whoever receives it and however often the
    #    same content went out before: the request_id names the release, not the
    #    content. A crash after this leaves a recorded export and no bundle; a retry
    #    with the same release id returns this entry (idempotent), a run without
    #    one appends a second export record (a new release), which is the truth.
    release_id = release if release is not None else "at " + format_time(clock())
    custody = append_entries(engine, [Draft(
        "evidence.exported", OPERATOR, requested_by, None, (), release_request_id(case, release_id),
        {"case": case, "requested_by": requested_by, "seqs": sorted(included), "subjects": sorted(disclosures),
         "content_sha256": digest})], keyring, clock)[0]
    files[f"entries/{custody.seq}.json"] = custody.canonical
    # 2. A checkpoint over a tree that includes the custody entry (one per size).
    publish.publish(engine, keyring.log, origin, clock)
    with engine.connect() as conn:
        cp_size = publish.stored(conn).size
        note = publish.with_cosignatures(conn, cp_size)
        for seq in [*sorted(included), custody.seq]:
            p = prove.inclusion(conn, seq, cp_size)
            files[f"proofs/{seq}.tlog-proof"] = TlogProof(seq, tuple(p.proof), note, p.entry).render().encode()
        if consistency_from is not None:
            c = prove.consistency(conn, consistency_from, cp_size)
            files["consistency.json"] = canonical.encode(c.to_json())
    files["checkpoint.txt"] = note.encode()
    for line in parse_note(note).signatures:
        path = keystore.vkey_path(settings.vkey_dir, line.name)
        if line.name not in vkeys and path.exists():  # a witness's public key
            files[f"keys/{line.name}.vkey"] = path.read_bytes()
    say("checkpoint and proofs ready")

    from ledger.evidence.pdf import render_pdf
    from ledger.evidence.report import VERIFY_SCRIPT, render_html, verify_md

    summary = {"case": case, "requested_by": requested_by, "exported_at": custody.recorded_at,
               "origin": origin, "tree_size": cp_size, "custody_seq": custody.seq,
               "log_key": keyring.log.verifier.name}
    all_entries = {**included, custody.seq: custody}
    files["report.html"] = render_html(summary, all_entries, disclosures, note, names).encode()
    files["report.pdf"] = render_pdf(summary, all_entries, disclosures, note, names)
    files["VERIFY.md"] = verify_md(summary, sorted(all_entries)).encode()
    files["verify_bundle.py"] = VERIFY_SCRIPT.encode()
    manifest = {"format": FORMAT, "version": VERSION, **summary,
                "content": content, "content_sha256": digest,
                "files": {p: hashlib.sha256(b).hexdigest() for p, b in sorted(files.items())}}
    files["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
    return Bundle(_zip(files), manifest, custody)


def _zip(files: dict[str, bytes]) -> bytes:
    """Deterministic zip: sorted names, fixed timestamps, so equal content gives equal bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, files[name])
    return buf.getvalue()


def write(bundle: Bundle, path: Path) -> None:
    """The bundle at ``path``: 0600 whatever the umask (it discloses names, identity
    numbers and salts), written atomically (docs/keys-and-files.md)."""
    write_private(path, bundle.data)
