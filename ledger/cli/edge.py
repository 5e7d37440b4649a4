"""The command line's shared plumbing: ``--db`` and ``--json`` options,
settings at the edge, error translation into messages and exit codes (0 ok,
1 verification failed, 2 bad input or configuration), progress bars, and
small helpers the commands share (the clock, dates, subject references,
entry acknowledgements)."""

from __future__ import annotations

import functools
import json
import sys
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ledger.config import Settings
from ledger.errors import IntegrityError, LedgerError, Problem, ProofError, SignatureError, ValidationError
from ledger.store.engine import make_engine

err = Console(stderr=True)


def now() -> datetime:
    return datetime.now(UTC)


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


def parse_date(value: str | None):
    from datetime import date

    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise ValidationError([Problem("on", "must be a date YYYY-MM-DD")]) from e


def subject_ref(s: Settings, engine, identifier: str) -> str:
    from ledger.domain.subjects import resolve

    return resolve(engine, s.vault(), identifier)


def print_entry_ack(e, as_json):
    if as_json:
        click.echo(json.dumps({"seq": e.seq, "type": e.type, "leaf_hash": e.leaf_hash.hex()}))
    else:
        click.echo(f"seq {e.seq} {e.type} leaf {e.leaf_hash.hex()}")


def parse_moment(value: str, field: str, rule: str) -> datetime:
    """An RFC 3339 moment that names its time zone (``Z`` or an offset)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise ValidationError([Problem(field, rule)]) from err
    if moment.tzinfo is None:
        raise ValidationError([Problem(field, "must name its time zone, e.g. 2026-09-30T08:00:00Z or +08:00")])
    return moment
