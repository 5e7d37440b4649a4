"""The ``ledger`` command: a thin edge. Each command reads settings, makes one
call into the library, and prints the result for people (default) or
machines (``--json``). Exit codes: 0 ok, 1 verification failed, 2 bad input
or configuration."""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ledger.log import checkpoint as checkpoints
from ledger.signing import keystore
from ledger.log.append import append_entries
from ledger.config import Settings
from ledger.log.entry import Authority, Draft
from ledger.errors import InputError, IntegrityError, LedgerError, Problem, ProofError, SignatureError, ValidationError
from ledger.store import log_store
from ledger.store.engine import make_engine
from ledger.store.migrate import upgrade

err = Console(stderr=True)


def now() -> datetime:
    return datetime.now(timezone.utc)


def db_option(f):
    return click.option("--db", "db_url", envvar=None, default=None, metavar="URL",
                        help="Database URL (else LEDGER_DATABASE_URL, else sqlite:///var/ledger.db).")(f)


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")(f)


def edge(f):
    """Translate ledger errors into messages and exit codes."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except (IntegrityError, ProofError, SignatureError) as e:
            _fail(kwargs.get("as_json"), e, 1)
        except LedgerError as e:
            _fail(kwargs.get("as_json"), e, 2)

    return wrapper


def _fail(as_json, e: LedgerError, code: int) -> None:
    if as_json:
        payload = {"ok": False, "error": type(e).__name__, "message": str(e)}
        if isinstance(e, IntegrityError):
            payload.update(seq=e.seq, kind=e.kind, detail=e.detail)
        if isinstance(e, ValidationError):
            payload["problems"] = [{"field": p.field, "rule": p.rule} for p in e.problems]
        click.echo(json.dumps(payload, ensure_ascii=False))
    else:
        err.print(f"[red]error:[/red] {e}", highlight=False, markup=True)
    sys.exit(code)


def settings_for(db_url: str | None) -> Settings:
    return Settings.from_env(database_url=db_url)


def engine_for(db_url: str | None):
    return make_engine(settings_for(db_url).database_url)


def progress_bar(label: str) -> Progress:
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err, transient=True, disable=not err.is_terminal)


@click.group()
@click.version_option(package_name="integrity-ledger")
def main() -> None:
    """Integrity Ledger: append-only, hash-chained, Merkle-proved integrity records."""


# --- database -----------------------------------------------------------------
@main.group()
def db() -> None:
    """Schema management (Alembic)."""


@db.command("upgrade")
@db_option
@click.option("--app-role", default=None, help="PostgreSQL role to grant SELECT/INSERT on the log tables.")
@edge
def db_upgrade(db_url, app_role):
    """Create or upgrade the schema (run as the schema owner)."""
    engine = engine_for(db_url)
    upgrade(engine, app_role=app_role)
    click.echo(f"schema at head on {engine.url.render_as_string(hide_password=True)}")


# --- keys ---------------------------------------------------------------------
@main.group()
def keys() -> None:
    """Ed25519 keys: generate, register in the log, revoke."""


@keys.command("generate")
@click.argument("name")
@click.option("--witness", is_flag=True, help="A witness key (C2SP cosignature/v1, vkey type 0x04).")
@edge
def keys_generate(name, witness):
    """Create key NAME: encrypted private half in LEDGER_KEY_DIR, vkey in keys/NAME.vkey."""
    s = settings_for(None)
    signer = keystore.generate(name, s.key_dir, s.vkey_dir, s.passphrase, witness=witness)
    click.echo(signer.verifier.vkey())


@keys.command("register")
@click.argument("name")
@click.option("--authority", "authority_id", required=True, help="Authority that will sign with the key.")
@click.option("--purpose", default="records")
@click.option("--holder", default=None, help="Who holds the private half.")
@db_option
@json_option
@edge
def keys_register(name, authority_id, purpose, holder, db_url, as_json):
    """Record key.registered for keys/NAME.vkey, signed by the log key."""
    from ledger.log.operator import register_key, require_log_signer

    s = settings_for(db_url)
    vkey = keystore.read_vkey(keystore.vkey_path(s.vkey_dir, name))
    e = register_key(make_engine(s.database_url), require_log_signer(s), vkey.vkey(), authority_id, now,
                     purpose=purpose, holder=holder)
    _print_entry_ack(e, as_json)


@keys.command("revoke")
@click.argument("name")
@click.option("--reason", required=True)
@db_option
@json_option
@edge
def keys_revoke(name, reason, db_url, as_json):
    """Record key.revoked: NAME signs nothing after this entry."""
    from ledger.log.operator import require_log_signer, revoke_key

    s = settings_for(db_url)
    e = revoke_key(make_engine(s.database_url), require_log_signer(s), name, reason, now)
    _print_entry_ack(e, as_json)


# --- writing ------------------------------------------------------------------
@main.command("init")
@db_option
@json_option
@edge
def init(db_url, as_json):
    """Upgrade the schema and append the genesis entry (log.initialized)."""
    from ledger.log.operator import init_log, require_log_signer

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    upgrade(engine)
    _print_entry_ack(init_log(engine, require_log_signer(s), s.origin, now), as_json)


@main.command("record")
@click.argument("source", type=click.File("rb"))
@db_option
@json_option
@edge
def record(source, db_url, as_json):
    """Append the JSON-lines drafts in SOURCE (or -) as one all-or-nothing batch."""
    from ledger.log.operator import load_keyring

    s = settings_for(db_url)
    drafts = parse_drafts(source.read())
    engine = make_engine(s.database_url)
    out = append_entries(engine, drafts, load_keyring(engine, s), now)
    if as_json:
        click.echo(json.dumps([{"seq": e.seq, "leaf_hash": e.leaf_hash.hex(), "request_id": e.request_id} for e in out]))
    else:
        click.echo(f"{len(out)} entries: seq {out[0].seq}-{out[-1].seq}" if out else "nothing to record")


def parse_drafts(data: bytes) -> list[Draft]:
    """JSON lines of {type, authority:{id,region}, actor, subject, refs, request_id, body}."""
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise ValidationError([Problem("input", f"is not UTF-8 (byte {e.start})")]) from e
    drafts = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            auth = obj["authority"]
            drafts.append(Draft(obj["type"], Authority(auth["id"], auth["region"]), obj["actor"],
                                obj.get("subject"), tuple(obj.get("refs", [])), obj["request_id"], obj.get("body", {})))
        except (ValueError, KeyError, TypeError) as e:
            raise ValidationError([Problem(f"line {n}", f"is not a draft entry ({e!r})")]) from e
    return drafts


def _print_entry_ack(e, as_json):
    if as_json:
        click.echo(json.dumps({"seq": e.seq, "type": e.type, "leaf_hash": e.leaf_hash.hex()}))
    else:
        click.echo(f"seq {e.seq} {e.type} leaf {e.leaf_hash.hex()}")


@main.command("demo")
@click.option("--entries", "count", default=1000, show_default=True, help="Demo entries to append.")
@click.option("--seed", default=1, show_default=True)
@db_option
@json_option
@edge
def demo(count, seed, db_url, as_json):
    """Append COUNT realistic-looking entries (deterministic content by --seed)."""
    from ledger.demo.region import build_demo

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    upgrade(engine)
    with progress_bar("demo") as bar:
        task = bar.add_task("append", total=count)
        written = build_demo(engine, s, now, entries=count, seed=seed,
                             progress=lambda n: bar.update(task, advance=min(n, count - bar.tasks[0].completed)))
    with engine.connect() as conn:
        size = log_store.size(conn)
    if as_json:
        click.echo(json.dumps({"written": written, "size": size}))
    else:
        click.echo(f"demo: {written} new entries, log size {size}")


# --- reading ------------------------------------------------------------------
@main.command("entry")
@click.argument("seq", type=int)
@click.option("--raw", is_flag=True, help="Write the exact canonical bytes (for recomputing the leaf hash).")
@db_option
@edge
def entry_cmd(seq, raw, db_url):
    """Show entry SEQ."""
    with engine_for(db_url).connect() as conn:
        data = log_store.get_canonical(conn, seq)
    if data is None:
        raise InputError(f"seq: no entry {seq}")
    if raw:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        click.echo(json.dumps(json.loads(data), ensure_ascii=False, indent=2))


@main.command("verify")
@click.option("--since-checkpoint", is_flag=True, help="Verify only what is new since this verifier's last run.")
@click.option("--trusted-vkey", type=click.Path(exists=True, path_type=Path), default=None,
              help="The log's verifier key; entry 0 must name it.")
@click.option("--state", "state_path", type=click.Path(path_type=Path), default=None,
              help="This verifier's state file (default var/verify-state.json).")
@click.option("--workers", type=int, default=None, help="Signature-checking processes (default: 2).")
@db_option
@json_option
@edge
def verify(since_checkpoint, trusted_vkey, state_path, workers, db_url, as_json):
    """Recompute every hash, link, signature and tree node; name the first bad seq."""
    from ledger.log.verify import VerifierState, verify_log

    s = settings_for(db_url)
    state_path = state_path or s.verify_state_path
    state = VerifierState.load(state_path) if since_checkpoint else None
    trusted = keystore.read_vkey(trusted_vkey) if trusted_vkey else None
    with progress_bar("verify") as bar:
        task = bar.add_task("verify", total=None)
        report, new_state = verify_log(make_engine(s.database_url), trusted_log_key=trusted, state=state, workers=workers,
                                       progress=lambda done, total: bar.update(task, completed=done, total=total))
    new_state.save(state_path)
    result = {"ok": True, "size": report.size, "root": report.root.hex(), "from_seq": report.start,
              "entries_checked": report.size - report.start, "signatures": report.signatures,
              "tree_nodes": report.nodes, "checkpoints": report.checkpoints}
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"OK: {result['entries_checked']} entries (seq {report.start}-{report.size - 1}) verified; "
                   f"{report.signatures} signatures, {report.nodes} tree nodes, {report.checkpoints} checkpoints; "
                   f"size {report.size} root {report.root.hex()}")


@main.command("summary")
@db_option
@json_option
@edge
def summary(db_url, as_json):
    """Size, root, entry types and latest checkpoint."""
    from sqlalchemy import func, select

    from ledger.store.schema import entries

    with engine_for(db_url).connect() as conn:
        size = log_store.size(conn)
        root = checkpoints.tree_root(conn, size).hex() if size else None
        by_type = dict(conn.execute(select(entries.c.type, func.count()).group_by(entries.c.type)).all())
    out = {"size": size, "root": root, "types": by_type}
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"size {size}\nroot {root}")
        for t, n in sorted(by_type.items()):
            click.echo(f"  {t:<24} {n}")


# --- checkpoints --------------------------------------------------------------
@main.command("checkpoint")
@click.option("--show", is_flag=True, help="Print a stored checkpoint note exactly.")
@click.option("--size", type=int, default=None, help="With --show: the checkpoint at this size.")
@db_option
@edge
def checkpoint_cmd(show, size, db_url):
    """Sign the current tree head as a C2SP checkpoint (never a fork, one per size)."""
    from ledger.log.operator import require_log_signer

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    if show:
        with engine.connect() as conn:
            click.echo(checkpoints.stored(conn, size).note, nl=False)
        return
    text, new = checkpoints.publish(engine, require_log_signer(s), s.origin, now)
    if not new:
        err.print("a checkpoint at this size already exists; showing it", highlight=False)
    click.echo(text, nl=False)



# --- proofs -------------------------------------------------------------------
@main.group()
def prove() -> None:
    """Inclusion and consistency proofs (RFC 9162 §2.1.3-2.1.4)."""


@prove.command("inclusion")
@click.argument("seq", type=int)
@click.option("--size", type=int, default=None, help="Tree size (default: latest checkpoint for tlog-proof, else current).")
@click.option("--format", "fmt", type=click.Choice(["json", "tlog-proof"]), default="json", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@db_option
@edge
def prove_inclusion(seq, size, fmt, as_json, db_url):
    """Prove entry SEQ is in the tree of SIZE entries."""
    from ledger.log import prove as proofs

    engine = engine_for(db_url)
    if fmt == "tlog-proof" and not as_json:
        click.echo(proofs.tlog_proof(engine, seq, size), nl=False)
        return
    with engine.connect() as conn:
        click.echo(json.dumps(proofs.inclusion(conn, seq, size).to_json(), indent=1))


@prove.command("consistency")
@click.argument("old", type=int)
@click.argument("new", type=int)
@click.option("--json", "as_json", is_flag=True, help="JSON output (the default and only format).")
@db_option
@edge
def prove_consistency(old, new, as_json, db_url):
    """Prove the tree of OLD entries is a prefix of the tree of NEW entries."""
    from ledger.log import prove as proofs

    with engine_for(db_url).connect() as conn:
        click.echo(json.dumps(proofs.consistency(conn, old, new).to_json(), indent=1))


@main.command("verify-proof")
@click.argument("proof_file", type=click.Path(exists=True, path_type=Path))
@click.option("--vkey", "vkey_file", type=click.Path(exists=True, path_type=Path), required=True,
              help="The log's verifier key file.")
@click.option("--entry", "entry_file", type=click.Path(exists=True, path_type=Path), default=None,
              help="The entry's canonical bytes (from `ledger entry SEQ --raw`).")
@click.option("--witness", "witness_files", type=click.Path(exists=True, path_type=Path), multiple=True,
              help="A witness verifier key (repeatable).")
@click.option("--quorum", type=int, default=0, help="Witness cosignatures required.")
@json_option
@edge
def verify_proof(proof_file, vkey_file, entry_file, witness_files, quorum, as_json):
    """Check a C2SP tlog-proof offline: checkpoint signature and inclusion."""
    from ledger.log import tlog_proof

    p = tlog_proof.parse(proof_file.read_text())
    entry = entry_file.read_bytes() if entry_file else None
    cp = tlog_proof.verify(p, keystore.read_vkey(vkey_file), entry,
                           witnesses=[keystore.read_vkey(w) for w in witness_files], quorum=quorum)
    if as_json:
        click.echo(json.dumps({"ok": True, "index": p.index, "tree_size": cp.size, "root": cp.root.hex(), "origin": cp.origin}))
    else:
        click.echo(f"OK: entry {p.index} is in {cp.origin} at tree size {cp.size} (root {cp.root.hex()})")


# --- witness ------------------------------------------------------------------
@main.group()
def witness() -> None:
    """Run as an independent witness (C2SP cosignature/v1)."""


@witness.command("cosign")
@click.option("--key", "key_name", required=True, help="The witness's key (generated with `ledger keys generate --witness`).")
@click.option("--state", "state_path", type=click.Path(path_type=Path), required=True, help="The witness's own state file.")
@click.option("--log-vkey", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--checkpoint", "cp_file", type=click.Path(exists=True, path_type=Path), default=None,
              help="Signed checkpoint to cosign (default: the latest in --db).")
@click.option("--proof", "proof_file", type=click.Path(exists=True, path_type=Path), default=None,
              help="Consistency proof JSON from the witness's last size (default: computed from --db).")
@click.option("--record/--no-record", default=True, help="Store the cosignature in the ledger database (with --db).")
@db_option
@edge
def witness_cosign(key_name, state_path, log_vkey, cp_file, proof_file, record, db_url):
    """Cosign a checkpoint only if it extends the last one this witness cosigned."""
    from ledger.log import witness as witnesses
    from ledger.log.checkpoint import open_checkpoint, record_cosignature

    s = settings_for(db_url)
    log_key = keystore.read_vkey(log_vkey)
    signer = keystore.load(key_name, s.key_dir, s.passphrase, witness=True)
    engine = make_engine(s.database_url) if (cp_file is None or proof_file is None or record) else None
    if cp_file is None and proof_file is None:  # the usual round: the log's newest checkpoint
        cosigned, _ = witnesses.cosign_latest(engine, state_path, signer, log_key, now, record=record)
        click.echo(cosigned, nl=False)
        return
    if cp_file:
        signed = cp_file.read_text()
    else:
        with engine.connect() as conn:
            signed = checkpoints.stored(conn).note
    state = witnesses.WitnessState.load(state_path)
    if proof_file:
        proof = [bytes.fromhex(h) for h in json.loads(proof_file.read_text())["proof"]]
    elif state:
        from ledger.log import prove as proofs

        size = open_checkpoint(signed, log_key).size
        with engine.connect() as conn:
            proof = proofs.consistency(conn, state.size, size).proof if state.size <= size else []
    else:
        proof = []
    cosigned, line = witnesses.cosign(state_path, signer, log_key, signed, proof, now)
    if record and engine is not None:
        record_cosignature(engine, open_checkpoint(signed, log_key).size, line, now)
    click.echo(cosigned, nl=False)


# --- subjects and the domain --------------------------------------------------
def _date(value: str | None):
    from datetime import date

    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise ValidationError([Problem("on", "must be a date YYYY-MM-DD")]) from e


def _known_at(value: str | None):
    """A tree size (digits) or an RFC 3339 moment."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise ValidationError([Problem("known_at", "must be a tree size or an RFC 3339 time")]) from e


def _subject_ref(s: Settings, engine, identifier: str) -> str:
    from ledger.domain.subjects import resolve

    return resolve(engine, s.vault(), identifier)


@main.group()
def subject() -> None:
    """The subject vault: add, erase."""


@subject.command("add")
@click.argument("identifier")
@click.option("--name", required=True, help="Name as in the decision (kept encrypted in the vault).")
@db_option
@json_option
@edge
def subject_add(identifier, name, db_url, as_json):
    """Add IDENTIFIER (cn-rid:…, cn-uscc:…, passport:CCC/…) and print its subject reference."""
    from ledger.domain.subjects import add_subject

    s = settings_for(db_url)
    ref, new = add_subject(make_engine(s.database_url), s.vault(create=True), identifier, name, now)
    click.echo(json.dumps({"subject": ref, "new": new}) if as_json else ref)


@subject.command("erase")
@click.argument("identifier")
@click.option("--reason", required=True)
@click.option("--legal-basis", default="个人信息保护法第四十七条", show_default=True)
@click.option("--actor", default="data-protection-officer", show_default=True)
@db_option
@json_option
@edge
def subject_erase(identifier, reason, legal_basis, actor, db_url, as_json):
    """Append subject.erased, then destroy the subject's salt and keys (PIPL Art. 47)."""
    from ledger.log.operator import OPERATOR, load_keyring
    from ledger.domain.subjects import erase_subject

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    ref = _subject_ref(s, engine, identifier)
    e = erase_subject(engine, load_keyring(engine, s), ref, reason, legal_basis, actor, OPERATOR, now)
    _print_entry_ack(e, as_json)


@main.command("status")
@click.argument("identifier")
@click.option("--on", "on", default=None, help="Business date (default today).")
@click.option("--known-at", default=None, help="As the ledger knew it: a tree size or an RFC 3339 time.")
@click.option("--benefit", default=None, type=click.Choice(["honor", "subsidy", "talent_project"]),
              help="With --region and --programme: the pre-award eligibility answer.")
@click.option("--region", default=None)
@click.option("--programme", default="")
@db_option
@json_option
@edge
def status_cmd(identifier, on, known_at, benefit, region, programme, db_url, as_json):
    """A subject's sanctions, clawbacks, honours and grants on a date (and eligibility)."""
    from ledger.domain import status as st

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    ref = _subject_ref(s, engine, identifier)
    day, k = _date(on), _known_at(known_at)
    if benefit:
        d = st.eligibility(engine, ref, benefit, programme, region or "150000", day, k)
        out = decision_json(d)
        if as_json:
            click.echo(json.dumps(out, ensure_ascii=False))
        else:
            click.echo(f"{d.answer.upper()} for {benefit} in {region} ({programme or 'any programme'}) on {day}, "
                       f"as of tree size {d.tree_size}")
            for r in d.blocking:
                click.echo(f"  blocking  seq {r.seq}: {r.message} {r.legal_basis or ''}")
            for r in d.warnings:
                click.echo(f"  warning   seq {r.seq}: {r.message}")
        return
    res = st.status(engine, ref, day, k)
    out = status_json(res)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(f"subject {ref} on {day}, as of tree size {res.tree_size}")
    for x in out["sanctions"]:
        click.echo(f"  sanction  seq {x['seq']}: {'IN FORCE' if x['in_force'] else 'not in force'} "
                   f"{x['effective_from']}..{x['effective_until'] or 'indefinite'} {x['benefits']} {x['regions']}")
    for x in out["clawbacks"]:
        click.echo(f"  clawback  seq {x['seq']}: outstanding {x['outstanding_fen']} of {x['amount_fen']} fen, due {x['deadline']}")
    for x in out["honors"]:
        click.echo(f"  honour    seq {x['seq']}: {x['title']} ({x['status']})")
    for x in out["grants"]:
        click.echo(f"  grant     seq {x['seq']}: {x['grant_ref']} {x['amount_fen']} fen ({x['status']})")


def decision_json(d) -> dict:
    def reason(r):
        return {"kind": r.kind, "seq": r.seq, "message": r.message, "legal_basis": r.legal_basis,
                "period": list(r.period) if r.period else None, "amount_fen": r.amount_fen}

    return {"answer": d.answer, "tree_size": d.tree_size, "subject": d.query.subject, "benefit": d.query.benefit,
            "programme": d.query.programme, "region": d.query.region, "on": d.query.on.isoformat(),
            "blocking": [reason(r) for r in d.blocking], "warnings": [reason(r) for r in d.warnings]}


def status_json(res) -> dict:
    return {
        "subject": res.subject, "tree_size": res.tree_size, "on": res.on.isoformat(),
        "sanctions": [{"seq": x.seq, "in_force": x.in_force(res.on), "severity": x.severity,
                       "effective_from": x.effective_from.isoformat(),
                       "effective_until": x.effective_until.isoformat() if x.effective_until else None,
                       "benefits": list(x.benefits), "regions": list(x.regions), "programmes": list(x.programmes),
                       "legal_basis": x.legal_basis, "deciding_body": x.deciding_body,
                       "ended_on": x.ended_on.isoformat() if x.ended_on else None, "end_reason": x.end_reason,
                       "voided_seq": x.voided_seq, "exempted_seq": x.exempted_seq} for x in res.sanctions],
        "clawbacks": [{"seq": c.seq, "amount_fen": c.amount_fen, "recovered_fen": c.recovered_fen,
                       "waived_fen": c.waived_fen, "outstanding_fen": c.outstanding_fen,
                       "deadline": c.deadline.isoformat()} for c in res.clawbacks],
        "honors": res.honors, "grants": res.grants,
    }


@main.command("history")
@click.argument("identifier")
@click.option("--type", "types", multiple=True, help="Only these entry types (repeatable).")
@click.option("--limit", default=100, show_default=True)
@click.option("--after", default=-1, help="Page: entries with seq greater than this.")
@db_option
@json_option
@edge
def history_cmd(identifier, types, limit, after, db_url, as_json):
    """Every entry about a subject, in order."""
    from ledger.domain import status as st

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    items = st.history(engine, _subject_ref(s, engine, identifier), types=list(types) or None, after=after, limit=limit)
    if as_json:
        click.echo(json.dumps([e.to_json() for e in items], ensure_ascii=False))
        return
    for e in items:
        summary = ", ".join(f"{k}={v}" for k, v in e.body.items() if k in (
            "title", "amount_fen", "grant_ref", "reason", "effective_from", "effective_until", "decision", "answer"))
        click.echo(f"{e.seq:>8}  {e.recorded_at[:19]}  {e.type:<20} {e.authority.id:<18} refs={list(e.refs)} {summary}")


# --- reconciliation with the funding systems ------------------------------------
class _Counted:
    """A source wrapper that advances a progress bar as rows stream past."""

    def __init__(self, source, bar, task):
        self.source, self.bar, self.task, self.label = source, bar, task, source.label

    def rows(self):
        for i, row in enumerate(self.source.rows(), 1):
            if i % 5000 == 0:
                self.bar.update(self.task, advance=5000)
            yield row


@main.command("reconcile")
@click.option("--funding", "funding", required=True, help="A CSV file (contract 2.5) or an SQLAlchemy URL.")
@click.option("--funding-table", default=None, help="With a URL: the table or view (default funding_transactions).")
@click.option("--as-of", "as_of", default=None, help="Business date to reconcile (default: today, UTC).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("var/reports"), show_default=True)
@click.option("--unpaid-days", default=90, show_default=True, help="Report grants unpaid after this many days.")
@db_option
@json_option
@edge
def reconcile_cmd(funding, funding_table, as_of, out_dir, unpaid_days, db_url, as_json):
    """Reconcile the funding system's payments and recoveries with the ledger; write
    report.json, findings.csv and summary.html; anchor the run in the log."""
    from ledger.finance import job as reconcile
    from ledger.finance.transactions import open_source
    from ledger.log.operator import load_keyring

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    day = _date(as_of) if as_of else now().date()
    source = open_source(funding, funding_table)
    vault = s.vault() if s.vault_key_file.exists() else None
    with progress_bar("reconcile") as bar:
        task = bar.add_task("rows", total=None)
        out = reconcile.run(engine, load_keyring(engine, s), vault, _Counted(source, bar, task), day, out_dir, now,
                            unpaid_days=unpaid_days, progress=lambda msg: bar.update(task, description=msg))
    if as_json:
        click.echo(json.dumps({"as_of": day.isoformat(), "anchor_seq": out.entry.seq, "report_sha256": out.report_sha256,
                               "tree_size": out.report["tree_size"], "rows": out.result.rows,
                               "counts": out.result.counts, "directory": str(out.directory)}))
        return
    click.echo(f"reconciled {out.result.rows} rows as of {day} against tree size {out.report['tree_size']}")
    for kind, n in out.result.counts.items():
        if n:
            click.echo(f"  {kind:<22} {n}")
    click.echo(f"anchored at seq {out.entry.seq} (report sha256 {out.report_sha256})\nreports in {out.directory}")


@main.command("demo-funding")
@click.option("--as-of", "as_of", default=None, help="Book up to this date (default today, UTC).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("var/funding"), show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option("--per-kind", default=3, show_default=True, help="Injected discrepancies of each kind.")
@click.option("--unpaid-days", default=90, show_default=True)
@db_option
@json_option
@edge
def demo_funding(as_of, out_dir, seed, per_kind, unpaid_days, db_url, as_json):
    """Write a simulated funding system's transactions for the demo ledger (funding.csv),
    with seeded discrepancies of every kind, and the ground truth (ground-truth.json)."""
    from ledger.finance.transactions import write_csv
    from ledger.demo.funding import simulate

    s = settings_for(db_url)
    day = _date(as_of) if as_of else now().date()
    sim = simulate(make_engine(s.database_url), s.vault(), day, seed=seed, per_kind=per_kind, unpaid_days=unpaid_days)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(out_dir / "funding.csv", sim.txns)
    (out_dir / "ground-truth.json").write_text(json.dumps({"as_of": day.isoformat(), "seed": seed,
                                                           "unpaid_days": unpaid_days, "findings": sim.truth},
                                                          ensure_ascii=False, indent=1))
    if as_json:
        click.echo(json.dumps({"rows": len(sim.txns), "expected": len(sim.truth), "directory": str(out_dir)}))
    else:
        click.echo(f"wrote {len(sim.txns)} transactions and {len(sim.truth)} expected findings to {out_dir}")


@main.command("score-findings")
@click.argument("report", type=click.Path(exists=True, path_type=Path))
@click.argument("truth", type=click.Path(exists=True, path_type=Path))
@json_option
@edge
def score_findings(report, truth, as_json):
    """Precision and recall of a reconciliation report against a ground-truth file
    (from demo-funding). Exit 1 unless both are 1.0."""
    from ledger.demo.funding import score

    result = score(json.loads(report.read_text()), json.loads(truth.read_text())["findings"])
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        click.echo(f"precision {result['precision']:.3f}  recall {result['recall']:.3f}  "
                   f"({result['found']} found, {result['expected']} expected)")
        for k, t, g in result["missing"]:
            click.echo(f"  missing     {k} txn={t} grant={g}")
        for k, t, g in result["unexpected"]:
            click.echo(f"  unexpected  {k} txn={t} grant={g}")
    if result["precision"] < 1 or result["recall"] < 1:
        sys.exit(1)


# --- evidence bundles ------------------------------------------------------------
@main.command("export")
@click.option("--case", required=True, help="Case or request number, e.g. (2026)内01行初1号.")
@click.option("--requested-by", required=True, help="Who asked (court, supervisory body).")
@click.option("--subject", "subjects_", multiple=True, help="A subject (scheme:number or reference); repeatable.")
@click.option("--seq", "seqs", multiple=True, type=int, help="An entry; repeatable.")
@click.option("--consistency-from", type=int, default=None,
              help="Include a consistency proof from this tree size (an earlier bundle's).")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="The bundle (.zip).")
@db_option
@json_option
@edge
def export_cmd(case, requested_by, subjects_, seqs, consistency_from, out, db_url, as_json):
    """Export a self-verifying evidence bundle; the export is recorded in the log first."""
    from ledger.evidence import export as evidence
    from ledger.log.operator import load_keyring

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    vault = s.vault() if s.vault_key_file.exists() else None
    refs = [_subject_ref(s, engine, x) for x in subjects_]
    with progress_bar("export") as bar:
        task = bar.add_task("export", total=None)
        b = evidence.export(engine, load_keyring(engine, s), vault, s, case=case, requested_by=requested_by,
                            subjects=refs, seqs=list(seqs), clock=now, consistency_from=consistency_from,
                            progress=lambda msg: bar.update(task, description=msg))
    evidence.write(b, out)
    info = {"bundle": str(out), "entries": sum(1 for f in b.manifest["files"] if f.startswith("entries/")),
            "custody_seq": b.custody.seq, "tree_size": b.manifest["tree_size"],
            "manifest_sha256": hashlib.sha256(json.dumps(b.manifest, sort_keys=True).encode()).hexdigest()}
    click.echo(json.dumps(info) if as_json else
               f"wrote {out}: {info['entries']} entries at tree size {info['tree_size']}; export recorded at seq {b.custody.seq}")


@main.command("verify-bundle")
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@click.option("--trusted-vkey", type=click.Path(exists=True, path_type=Path), default=None,
              help="The log key you trust (else the bundle's own, which proves only internal consistency).")
@click.option("--against", type=click.Path(exists=True, path_type=Path), default=None,
              help="An older bundle: check this one's checkpoint extends it.")
@json_option
@edge
def verify_bundle_cmd(bundle, trusted_vkey, against, as_json):
    """Verify an evidence bundle offline (no database). Exit 0 pass, 1 fail."""
    from ledger.evidence.verifier import BundleError, verify_bundle

    trusted = keystore.read_vkey(trusted_vkey) if trusted_vkey else None
    try:
        r = verify_bundle(bundle.read_bytes(), trusted, against.read_bytes() if against else None)
    except BundleError as e:
        if as_json:
            click.echo(json.dumps({"ok": False, "file": e.file, "expected": e.expected, "found": e.found}, ensure_ascii=False))
        else:
            err.print(f"[red]FAIL[/red] {e.file}\n  expected: {e.expected}\n  found:    {e.found}", highlight=False)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps({"ok": True, **r.__dict__}, ensure_ascii=False))
    else:
        warn = "" if trusted else " (checked against the bundle's own log key: pass --trusted-vkey)"
        click.echo(f"OK: case {r.case}: {r.entries} entries, {r.subjects} disclosures; {r.origin} at tree size "
                   f"{r.tree_size} (root {r.root}); export recorded at seq {r.custody_seq}{warn}")
        if r.unauthenticated:
            click.echo(f"Not authenticated by the log (renderings and helpers; rely on the entries): "
                       f"{', '.join(r.unauthenticated)}")


# --- API tokens and the server -------------------------------------------------
@main.group()
def tokens() -> None:
    """Bearer tokens for the GraphQL API (stored hashed; shown once)."""


def _expiry(value: str | None):
    """``30d``, ``12h`` or an RFC 3339 moment."""
    from datetime import timedelta

    if value is None:
        return None
    if value[:-1].isdigit() and value[-1] in "dh":
        n = int(value[:-1])
        return now() + (timedelta(days=n) if value[-1] == "d" else timedelta(hours=n))
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise ValidationError([Problem("expires", "must be like 30d, 12h or an RFC 3339 time")]) from e
    if moment.tzinfo is None:
        raise ValidationError([Problem("expires", "must carry a time zone")])
    return moment


@tokens.command("issue")
@click.option("--role", required=True, type=click.Choice(["recorder", "programme_officer", "auditor", "court", "admin"]))
@click.option("--authority", "authority_id", default=None, help="Authority the token records for (recorder, programme_officer).")
@click.option("--region", default=None, help="Jurisdiction root, a GB/T 2260 code (recorder, programme_officer).")
@click.option("--case", "case_ref", default=None, help="Court: the case number.")
@click.option("--subject", "subjects_", multiple=True, help="Court: a subject of the case (scheme:number or reference; repeatable).")
@click.option("--label", default="", help="Who holds it, for listings.")
@click.option("--expires", default=None, help="30d, 12h or an RFC 3339 time (default: never).")
@db_option
@json_option
@edge
def tokens_issue(role, authority_id, region, case_ref, subjects_, label, expires, db_url, as_json):
    """Issue a token. The token text is printed once and never stored."""
    from ledger.access.tokens import issue

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    refs = [_subject_ref(s, engine, x) for x in subjects_]
    text, info = issue(engine, role, now, authority_id=authority_id, region=region, case_ref=case_ref,
                       subjects=refs, label=label, expires_at=_expiry(expires))
    if as_json:
        click.echo(json.dumps({"token": text, **info.to_json()}, ensure_ascii=False))
    else:
        click.echo(text)
        err.print(f"token {info.token_id} ({role}) issued; expires {info.expires_at or 'never'}. "
                  "It is not stored: keep it now.", highlight=False)


@tokens.command("revoke")
@click.argument("token_id")
@db_option
@json_option
@edge
def tokens_revoke(token_id, db_url, as_json):
    """Revoke a token (by its id, the part after il_) at once."""
    from ledger.access.tokens import revoke

    info = revoke(engine_for(db_url), token_id.removeprefix("il_").split("_")[0], now)
    click.echo(json.dumps(info.to_json(), ensure_ascii=False) if as_json else f"token {info.token_id} revoked at {info.revoked_at}")


@tokens.command("list")
@db_option
@json_option
@edge
def tokens_list(db_url, as_json):
    from ledger.access.tokens import list_tokens

    found = list_tokens(engine_for(db_url))
    if as_json:
        click.echo(json.dumps([t.to_json() for t in found], ensure_ascii=False))
        return
    for t in found:
        state = "revoked" if t.revoked_at else f"expires {t.expires_at or 'never'}"
        click.echo(f"{t.token_id}  {t.role:<18} {t.authority_id or '-':<18} {t.region or '-':<7} {state}  {t.label}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--introspection/--no-introspection", default=None,
              help="Allow schema introspection (default: LEDGER_API_INTROSPECTION, else off).")
@click.option("--demo-tokens", is_flag=True, help="Issue and print a 7-day demo token per role first.")
@db_option
@edge
def serve(host, port, introspection, demo_tokens, db_url):
    """Serve the GraphQL API on uvicorn (POST /graphql, bearer tokens; GET /healthz) and the web console (/console/)."""
    import os

    import uvicorn

    from ledger.api.app import create_app, state_from_settings
    from ledger.api.context import Limits

    if introspection is None:
        introspection = os.environ.get("LEDGER_API_INTROSPECTION", "") in ("1", "true", "yes")
    state = state_from_settings(settings_for(db_url), Limits(introspection=introspection))
    url = f"http://{host}:{port}/graphql"
    if demo_tokens:
        from ledger.demo.region import demo_tokens as issue_demo

        click.echo(f"GraphQL API: {url}   (POST, header 'Authorization: Bearer <token>')")
        issued = issue_demo(state.engine, now)
        for role, scope, text in issued:
            click.echo(f"  {role:<18} {scope}\n    {text}")
        officer = next(t for r, _, t in issued if r == "programme_officer")
        click.echo(f"Pre-award check with curl (README, 'Programme officers'):\n"
                   f"  TOKEN={officer} AUDITOR_TOKEN={next(t for r, _, t in issued if r == 'auditor')} "
                   f"URL={url} bash docs/examples/pre-award.sh")
    mode = "read-write" if state.keyring else "read-only (no LEDGER_KEY_PASSPHRASE: no signing keys)"
    err.print(f"serving {url} — {mode}; vault {'loaded' if state.vault else 'absent'}", highlight=False)
    # The console logs in with any of the tokens above (docs/console.md).
    click.echo(f"Web console: http://{host}:{port}/console/   (log in with a token)")
    uvicorn.run(create_app(state), host=host, port=port, log_level="warning")


@main.command("reindex")
@db_option
@json_option
@edge
def reindex_cmd(db_url, as_json):
    """Rebuild every projection from the log (they are derived; the log is the truth)."""
    from ledger.log.reindex import reindex

    with progress_bar("reindex") as bar:
        task = bar.add_task("reindex", total=None)
        size = reindex(engine_for(db_url), progress=lambda done, total: bar.update(task, completed=done, total=total))
    click.echo(json.dumps({"size": size}) if as_json else f"projections rebuilt from {size} entries")
