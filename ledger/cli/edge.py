"""The command line's shared plumbing: ``--db`` and ``--json`` options,
settings at the edge, the translation of errors into messages and exit codes
(the one table is docs/cli.md), progress bars, and small helpers the commands
share (the clock, dates, subject references, entry acknowledgements).

Every failure leaves through ``fail``: a one-line message on stderr (never a
traceback, never wrapped when stderr is not a terminal), or with ``--json`` one
JSON object on stdout, and an exit code from the table below. ``edge`` wraps
each command; ``LedgerGroup`` (the ``ledger`` group) is the last line, for
usage errors, an interrupt and anything a command let through.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import exc as sa_exc

from ledger.config import Settings
from ledger.errors import (
    ConfigError,
    InputError,
    IntegrityError,
    LedgerError,
    Problem,
    ProofError,
    SignatureError,
    ValidationError,
)
from ledger.store.engine import make_engine

# The exit codes (docs/cli.md). The README's promise: 0 ok, 1 verification
# failed, 2 bad input or configuration. A bug or an interrupt must never look
# like a verdict, so they get codes of their own instead of Python's 1.
EXIT_OK = 0
EXIT_VERIFICATION_FAILED = 1  # the data checked does not verify: a log, a proof, a signature, a bundle
EXIT_BAD_INPUT = 2  # the request, its arguments, the files named, the configuration or the database
EXIT_INTERNAL = 70  # EX_SOFTWARE (sysexits.h): a bug in the ledger; LEDGER_DEBUG=1 shows the traceback
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of stdout went away (`ledger history … | head`)

# Python exits 1 on an uncaught exception: that is "verification failed" here,
# so every exception class a command can raise maps to a code of the table.
_VERIFICATION = (IntegrityError, ProofError, SignatureError)


class _ErrorConsole(Console):
    """stderr for people. Not a terminal (a pipe, a file, a log collector): no
    wrapping at 80 columns, so a hash, a token or a path stays on one line."""

    def print(self, *objects, soft_wrap=None, **kwargs) -> None:  # type: ignore[override]
        super().print(*objects, soft_wrap=(not self.is_terminal) if soft_wrap is None else soft_wrap, **kwargs)


err = _ErrorConsole(stderr=True)


# A seq or tree size: the stores keep them in 64-bit integer columns, and SQLite
# raises OverflowError beyond them; click then answers a usage error (exit 2).
SEQ = click.IntRange(0, 2**63 - 1)


def now() -> datetime:
    return datetime.now(UTC)


def db_option(f):
    return click.option("--db", "db_url", envvar=None, default=None, metavar="URL",
                        help="Database URL (else LEDGER_DATABASE_URL, else sqlite:///var/ledger.db).")(f)


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")(f)


def edge(f):
    """Translate ledger errors (and unusable files or databases) into messages and exit codes."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except LedgerError as e:
            fail(kwargs.get("as_json"), e)
        except BrokenPipeError:
            raise  # nobody reads stdout any more: LedgerGroup exits quietly
        except (OSError, OverflowError, UnicodeDecodeError, sa_exc.SQLAlchemyError) as e:
            translated = translate(e)
            if translated is None:
                raise
            fail(kwargs.get("as_json"), translated)

    return wrapper


def exit_code(e: LedgerError) -> int:
    return EXIT_VERIFICATION_FAILED if isinstance(e, _VERIFICATION) else EXIT_BAD_INPUT


def fail(as_json, e: LedgerError, code: int | None = None) -> None:
    """Report ``e`` (stderr, or one JSON object on stdout with ``--json``) and exit."""
    code = exit_code(e) if code is None else code
    if as_json:
        payload = {"ok": False, "error": type(e).__name__, "message": str(e), "exit_code": code}
        if isinstance(e, IntegrityError):
            payload.update(seq=e.seq, kind=e.kind, detail=e.detail)
        if isinstance(e, ValidationError):
            payload["problems"] = [{"field": p.field, "rule": p.rule} for p in e.problems]
            if e.line is not None:
                payload["line"] = e.line
            elif e.index is not None:
                payload["item"] = e.index
        for name in ("file", "expected", "found"):  # a bundle that is refused names the member
            if hasattr(e, name):
                payload[name] = getattr(e, name)
        echo_json(payload)
    else:
        say_error(str(e))
    sys.exit(code)


def echo_json(payload) -> None:
    """One JSON line on stdout; text that cannot be UTF-8 (a lone surrogate) is escaped."""
    text = json.dumps(payload, ensure_ascii=False)
    click.echo(text if _is_utf8(text) else json.dumps(payload))


def say_error(message: str, label: str = "error") -> None:
    """``error: message`` on stderr: markup escaped, control characters shown as escapes
    (a message may quote input, which must not drive the terminal)."""
    err.print(f"[red]{label}:[/red] {escape(printable(message))}", highlight=False, markup=True)


def printable(text: str) -> str:
    """``text`` with C0/C1 controls (but newline and tab) and lone surrogates as escapes."""
    text = _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if _is_utf8(text) else text.encode("utf-8", "backslashreplace").decode("utf-8")


_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def translate(e: BaseException) -> LedgerError | None:
    """A ledger error for what is not a bug: a file that cannot be read or written,
    a database that cannot be reached, opened or is missing its schema. None: a bug."""
    if isinstance(e, OverflowError):  # a number from the command line too large for where it goes
        return InputError(f"a number is out of range: {e}")
    if isinstance(e, UnicodeDecodeError):  # bytes from outside (a file, stdin) read as text
        return InputError(f"input is not UTF-8 text (byte {e.start}: {e.reason}); save it as UTF-8")
    if isinstance(e, OSError):
        what = f"{e.filename}: " if e.filename is not None else ""
        reason = e.strerror or type(e).__name__
        return InputError(f"{what}{reason}") if e.filename is not None else ConfigError(reason)
    if isinstance(e, (sa_exc.ArgumentError, sa_exc.NoSuchModuleError)):
        return ConfigError(f"database URL: {_first_line(e)}; check --db or LEDGER_DATABASE_URL")
    if isinstance(e, sa_exc.DBAPIError):
        reason = _first_line(e.orig if e.orig is not None else e)
        if re.search(r"no such table|relation .* does not exist", reason):
            return ConfigError(f"database: {reason}: the schema is missing; run `ledger init` (or `ledger db upgrade`)")
        if isinstance(e, (sa_exc.OperationalError, sa_exc.InterfaceError)) or type(e) is sa_exc.DatabaseError:
            return ConfigError(f"database: {reason}; check --db or LEDGER_DATABASE_URL")
    return None


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


class LedgerGroup(click.Group):
    """The ``ledger`` group, the last line of translation: a usage error answers
    JSON too under ``--json`` (exit 2, click's own code for usage); an interrupt
    exits 130; an exception no command translated is a bug: one line and exit 70
    (never Python's traceback and exit 1, which would read as "verification
    failed"), unless LEDGER_DEBUG=1 asks for the traceback."""

    def make_context(self, info_name, args, parent=None, **extra):
        argv = list(args)
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        except click.ClickException as e:
            _usage_json(e, argv)
            raise
        ctx.meta[_ARGV] = argv
        return ctx

    def invoke(self, ctx):
        try:
            return self._translating(ctx)
        except BrokenPipeError:  # from the command, or from writing its error: nobody reads stdout
            _quiet_stdout()
            sys.exit(EXIT_BROKEN_PIPE)

    def _translating(self, ctx):
        as_json = "--json" in ctx.meta.get(_ARGV, ())
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, BrokenPipeError):
            raise
        except click.ClickException as e:
            _usage_json(e, ctx.meta.get(_ARGV, ()))
            raise
        except KeyboardInterrupt:
            fail(as_json, Interrupted("interrupted: what was committed stays, the transaction under way "
                                       "was rolled back"), EXIT_INTERRUPTED)
        except LedgerError as e:  # a command without @edge
            fail(as_json, e)
        except Exception as e:
            translated = translate(e)
            if translated is not None:
                fail(as_json, translated)
            if os.environ.get("LEDGER_DEBUG"):
                raise
            fail(as_json, InternalError(f"internal error (a bug; please report it): {type(e).__name__}: "
                                    f"{_first_line(e)}; set LEDGER_DEBUG=1 to see the traceback"), EXIT_INTERNAL)


_ARGV = "ledger.argv"


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not
    fail again (the recipe of the Python docs, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test runner's buffer)
        pass


class InternalError(LedgerError):
    """An exception no edge translated: a bug (exit 70)."""


class Interrupted(LedgerError):
    """Ctrl-C (exit 130)."""


def _usage_json(e: click.ClickException, argv) -> None:
    if "--json" in argv:
        echo_json({"ok": False, "error": type(e).__name__, "message": e.format_message(), "exit_code": e.exit_code})


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
