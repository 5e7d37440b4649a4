"""Subjects: ``ledger subject add`` and ``ledger subject erase`` (the vault; its key
rotation is ``ledger vault``),
``ledger status`` (standing and eligibility on a date) and ``ledger history``,
with their JSON shapes."""

from __future__ import annotations

import json

import click

from ledger.cli.edge import (
    db_option,
    edge,
    json_option,
    now,
    parse_date,
    parse_moment,
    settings_for,
    subject_ref,
)
from ledger.cli.root import main
from ledger.cli.vault import exports_of
from ledger.errors import Problem, ValidationError
from ledger.store.engine import make_engine


def _known_at(value: str | None):
    """A tree size (digits) or an RFC 3339 moment."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    return parse_moment(value, "known_at", "must be a tree size or an RFC 3339 time")


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
    """Append subject.erased, destroy the subject's vault row, rotate the vault key so no
    copy of the row opens, and delete local evidence bundles that disclose it (PIPL Art. 47;
    docs/erasure.md)."""
    from ledger.domain.subjects import erase, resolve
    from ledger.log.operator import OPERATOR, load_keyring

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    vault = s.vault()
    ref = resolve(engine, vault, identifier)
    r = erase(engine, load_keyring(engine, s), ref, reason, legal_basis, actor, OPERATOR, now,
              vault=vault, export_dir=exports_of(s))
    e, rot = r.entry, r.rotation
    out = {"seq": e.seq, "type": e.type, "leaf_hash": e.leaf_hash.hex(),
           "vault_epoch": rot.to_epoch if rot else None, "subjects_rewrapped": rot.subjects if rot else None,
           "removed_exports": [str(p) for p in r.removed], "custody_seqs": list(r.custody)}
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(f"seq {e.seq} {e.type} leaf {e.leaf_hash.hex()}")
    if rot:
        click.echo(f"vault key rotated to epoch {rot.to_epoch} ({rot.subjects} live subjects re-wrapped); "
                   "earlier copies of the record open nothing")
    for p in r.removed:
        click.echo(f"deleted evidence bundle {p}")
    if r.custody:
        click.echo(f"released before in evidence exports at seq {', '.join(map(str, r.custody))}: "
                   "copies outside this host are not touched (docs/erasure.md)")


@main.command("status")
@click.argument("identifier")
@click.option("--on", "on", default=None, help="Business date (default today).")
@click.option("--known-at", default=None, help="As the ledger knew it: a tree size or an RFC 3339 time.")
@click.option("--benefit", default=None, type=click.Choice(["honor", "subsidy", "talent_project"]),
              help="With --region: the pre-award eligibility answer.")
@click.option("--region", default=None, help="With --benefit: the award's GB/T 2260 region code.")
@click.option("--programme", default=None, help="A registered programme code (default: every programme).")
@db_option
@json_option
@edge
def status_cmd(identifier, on, known_at, benefit, region, programme, db_url, as_json):
    """A subject's sanctions, clawbacks, honours and grants on a date; with --benefit
    and --region, the pre-award answer (for one programme, or every programme)."""
    from ledger.domain import status as st

    if (benefit is None) != (region is None) or (programme is not None and benefit is None):
        raise ValidationError([Problem("benefit" if benefit is None else "region",
                                       "the pre-award answer needs both --benefit and --region")])
    from ledger.domain.subjects import lookup

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    ref = lookup(engine, s.vault(), identifier)  # None: a valid identifier with no record
    day, k = parse_date(on), _known_at(known_at)
    if benefit:
        d = st.eligibility(engine, ref, benefit, programme, region, day, k)
        out = decision_json(d)
        if as_json:
            click.echo(json.dumps(out, ensure_ascii=False))
        else:
            which = f"programme {d.query.programme}" if d.query.programme else "every programme"
            click.echo(f"{d.answer.upper()} for {benefit} in {region} ({which}) on {day}, "
                       f"as of tree size {d.tree_size}"
                       + ("" if d.on_record else ": no record (no subject with this identifier in the ledger)"))
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
    if ref is None:
        click.echo(f"no record: no subject with this identifier in the ledger, as of tree size {res.tree_size}")
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

    return {"answer": d.answer, "tree_size": d.tree_size, "subject": d.query.subject, "on_record": d.on_record, "benefit": d.query.benefit,
            "programme": d.query.programme, "region": d.query.region, "on": d.query.on.isoformat(),
            "blocking": [reason(r) for r in d.blocking], "warnings": [reason(r) for r in d.warnings]}


def status_json(res) -> dict:
    return {
        "subject": res.subject, "on_record": res.subject is not None, "tree_size": res.tree_size,
        "on": res.on.isoformat(),
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
    items = st.history(engine, subject_ref(s, engine, identifier), types=list(types) or None, after=after, limit=limit)
    if as_json:
        click.echo(json.dumps([e.to_json() for e in items], ensure_ascii=False))
        return
    for e in items:
        summary = ", ".join(f"{k}={v}" for k, v in e.body.items() if k in (
            "title", "amount_fen", "grant_ref", "reason", "effective_from", "effective_until", "decision", "answer"))
        click.echo(f"{e.seq:>8}  {e.recorded_at[:19]}  {e.type:<20} {e.authority.id:<18} refs={list(e.refs)} {summary}")
