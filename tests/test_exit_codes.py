"""Every command of the ``ledger`` group against the one exit-code table of
docs/cli.md: 0 ok, 1 verification failed, 2 bad input or configuration, 70 an
internal error (a bug), 130 interrupted, 141 stdout closed.

The commands are enumerated from the click group itself, so a new command
without its failure modes in ``CASES`` fails ``test_every_command_has_failure_cases``.
Each case runs as written and, for a command with ``--json``, once more with
``--json``: the code must match, stderr must hold no traceback, the log must
not grow, and under ``--json`` stdout must be one JSON error object. A few
cases run the installed script end to end.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ledger.cli import main
from ledger.cli.edge import EXIT_BROKEN_PIPE, EXIT_INTERNAL, EXIT_INTERRUPTED, _ErrorConsole, err
from ledger.store import log_store
from ledger.store.engine import make_engine

ROOT = Path(__file__).resolve().parent.parent
LEDGER = str(Path(sys.executable).parent / "ledger")
PERSON = "cn-rid:150102199001010019"
NO_PASSPHRASE = {"LEDGER_KEY_PASSPHRASE": None, "LEDGER_KEY_PASSPHRASE_FILE": "{w}/no-such-passphrase-file"}


@dataclass(frozen=True)
class Case:
    """One failure mode: ``args`` after the command's path; ``{w}`` is the world's directory."""

    args: tuple[str, ...]
    code: int
    says: str = ""  # part of the message
    env: dict[str, str | None] = field(default_factory=dict)
    xfail: str = ""  # a known violation of the table, in a file this test does not own
    json_xfail: str = ""  # the same, for the --json variant only


def case(*args: str, code: int = 2, says: str = "", env=None, xfail: str = "", json_xfail: str = "") -> Case:
    return Case(args, code, says, env or {}, xfail, json_xfail)


OUT = ("--out", "{w}/out.zip")
KEYS = "{w}/keys"
CASES: dict[str, list[Case]] = {
    "authorities list": [case("--db", "sqlite:///{w}/junk", says="not a database")],
    "authorities register": [case("x", "--region", "150100"),
                             case("x", "--name", "", "--region", "999999", says="body.")],
    "checkpoint": [case("--show", "--size", "99999", says="no checkpoint"),
                   case(env=NO_PASSPHRASE, says="LEDGER_KEY_PASSPHRASE_FILE")],
    "db upgrade": [case("--db", "sqlite:////proc/no/such/dir/x.db", says="/proc/no")],
    "demo": [case("--entries", "-1"), case("--entries", "1", env=NO_PASSPHRASE, says="no such file")],
    "demo-funding": [case("--as-of", "2026-13-01", says="date")],
    "entry": [case("99999", says="no entry"), case("x"), case("99999999999999999999999")],
    "export": [case("--case", "c", "--requested-by", "r", "--seq", "3", "--consistency-from", "99999", *OUT,
                    says="consistency_from"),
               case("--case", "c", "--requested-by", "r", "--subject", "bogus", *OUT, says="id"),
               case("--requested-by", "r", "--seq", "3", *OUT)],
    "history": [case("bogus", says="id")],
    "init": [case(env=NO_PASSPHRASE, says="LEDGER_KEY_PASSPHRASE_FILE"),
             case("--db", "sqlite:////proc/no/such/dir/x.db", says="/proc/no")],
    "keys generate": [case("dev-log", says="already exists"), case("../escape", says="plain file name"),
                      case("a b", says="key name")],
    "keys register": [case("nosuch", "--authority", "hrss-150100", says="nosuch.vkey")],
    "keys revoke": [case("nosuch", "--reason", "r", says="not registered"), case("nosuch")],
    "keys rewrap": [case(env=NO_PASSPHRASE, says="LEDGER_KEY_PASSPHRASE_FILE")],
    "prove consistency": [case("5", "99999", says="beyond the tree"), case("10", "5", says="more than the new size"),
                          case("5")],
    "prove inclusion": [case("99999", says="beyond the tree"), case("3", "--size", "99999", says="beyond the tree"),
                        case("abc"), case("99999", "--format", "tlog-proof", says="99999")],
    "reconcile": [case("--funding", "{w}/missing.csv", "--as-of", "2026-06-01", says="missing.csv"),
                  case("--funding", "{w}/notjson.txt", "--as-of", "2026-06-01", says="columns")],
    "record": [case("{w}/missing.jsonl"), case("{w}/repeated.jsonl", says="repeated"),
               case("{w}/junk", says="not UTF-8"), case("{w}/unknown-type.jsonl", says="unknown entry type")],
    "reindex": [case("--db", "sqlite:///{w}/junk", says="not a database")],
    "sign": [case("{w}/missing.jsonl"), case("{w}/repeated.jsonl", "--key", "dev-hrss-150100", says="repeated"),
             case("{w}/unknown-type.jsonl", "--key", "dev-hrss-150100", says="unknown entry type"),
             case("{w}/note.jsonl", "--key", "nosuch", says="nosuch"),
             case("{w}/note.jsonl", "--key", "../x", says="plain file name"),
             case("{w}/note.jsonl", "--key", "dev-hrss-150100", env=NO_PASSPHRASE, says="LEDGER_KEY_PASSPHRASE_FILE")],
    "score-findings": [
        case("{w}/report.json", "{w}/truth.json", code=1, says=""),
        case("{w}/empty.json", "{w}/empty.json", says="findings")],
    "serve": [case("--port", "x"), case(env=NO_PASSPHRASE, says="LEDGER_KEY_PASSPHRASE_FILE")],
    "status": [case("bogus", says="id"), case(PERSON, "--on", "2026-13-01", says="date")],
    "subject add": [case("bogus", "--name", "x", says="id")],
    "subject erase": [case(PERSON, "--reason", "x", says="no subject")],
    "summary": [case("--db", "sqlite:///{w}/junk", says="not a database"),
                case("--db", "nosuchdialect://x", says="database URL"),
                case("--db", "sqlite:///{w}/empty.db", says="schema is missing")],
    "tokens issue": [case("--role", "bogus"), case("--role", "auditor", "--expires", "99999999999d")],
    "tokens list": [case("--db", "sqlite:///{w}/junk", says="not a database")],
    "tokens revoke": [case("nope", says="no token")],
    "vault rotate": [case("--db", "sqlite:///{w}/junk", says="not a database")],
    "vault status": [case("--db", "sqlite:///{w}/junk", says="not a database")],
    "verify": [case("--db", "sqlite:///{w}/tampered.db", code=1, says="seq 2"),
               case("--trusted-vkey", f"{KEYS}/w1.vkey", code=1), case("--workers", "0")],
    "verify-bundle": [case("{w}/bad.zip", code=1, says="VERIFY.md"), case("{w}/junk", says="zip"),
                      case("{w}/missing.zip")],
    "verify-proof": [case("{w}/e3.tlog-proof", "--vkey", f"{KEYS}/dev-log.vkey", "--entry", "{w}/e3-bad.json",
                          code=1, says="differs"),
                     case("{w}/e3.tlog-proof", "--vkey", f"{KEYS}/w1.vkey", code=1),
                     case("{w}/notjson.txt", "--vkey", f"{KEYS}/dev-log.vkey", says="tlog-proof")],
    "witness cosign": [case("--key", "../x", "--state", "{w}/ws.json", "--log-vkey", f"{KEYS}/dev-log.vkey",
                            says="plain file name"),
                       case("--key", "w1", "--state", "{w}/ws.json", "--log-vkey", f"{KEYS}/dev-log.vkey",
                            "--checkpoint", "{w}/cp.txt", "--proof", "{w}/notjson.txt", "--no-record",
                            says="consistency proof"),
                       case("--state", "{w}/ws.json", "--log-vkey", f"{KEYS}/dev-log.vkey")],
}


def command_paths(group: click.Group = main, prefix: str = "") -> dict[str, click.Command]:
    """Every leaf command of the ``ledger`` group, by its path (``prove inclusion``)."""
    found: dict[str, click.Command] = {}
    for name, cmd in group.commands.items():
        path = f"{prefix} {name}".strip()
        if isinstance(cmd, click.Group):
            found.update(command_paths(cmd, path))
        else:
            found[path] = cmd
    return found


COMMANDS = command_paths()


def takes_json(cmd: click.Command) -> bool:
    return any(isinstance(p, click.Option) and "--json" in p.opts for p in cmd.params)


def variants() -> list:
    out = []
    for path, cases in CASES.items():
        if path not in COMMANDS:  # a case for a command not (yet) registered
            continue
        for c in cases:
            for as_json in ((False, True) if takes_json(COMMANDS[path]) else (False,)):
                reason = c.xfail or (c.json_xfail if as_json else "")
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                name = f"{path} {' '.join(c.args)}{' env' if c.env else ''}{' --json' if as_json else ''}"
                out.append(pytest.param(path, c, as_json, id=name.replace("{w}/", ""), marks=marks))
    return out


@dataclass
class World:
    dir: Path
    env: dict[str, str | None]

    def run(self, *args: str, env: dict | None = None, stdin: bytes | None = None):
        merged = {**self.env, **{k: (v.format(w=self.dir) if v else v) for k, v in (env or {}).items()}}
        return CliRunner().invoke(main, list(args), env=merged, input=stdin)

    def ok(self, *args: str) -> str:
        r = self.run(*args)
        assert r.exit_code == 0, r.output + r.stderr
        return r.stdout

    def size(self) -> int:
        engine = make_engine(f"sqlite:///{self.dir}/ledger.db")
        try:
            with engine.connect() as conn:
                return log_store.size(conn)
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = tmp_path_factory.mktemp("exit-codes")
    env: dict[str, str | None] = {
        "LEDGER_KEY_PASSPHRASE": "exit codes", "LEDGER_KEY_PASSPHRASE_FILE": None, "LEDGER_KEY_DIR": str(w / "private"),
        "LEDGER_VKEY_DIR": str(w / "keys"), "LEDGER_STATE_DIR": str(w / "state"),
        "LEDGER_VAULT_KEY_FILE": str(w / "state" / "vault.key"), "LEDGER_DATABASE_URL": f"sqlite:///{w}/ledger.db",
        "LEDGER_DEBUG": None, "COLUMNS": "40"}
    world = World(w, env)
    world.ok("demo", "--entries", "5", "--seed", "2")
    world.ok("checkpoint")
    world.ok("keys", "generate", "w1", "--witness")
    (w / "junk").write_bytes(bytes(range(255, -1, -1)) * 4)
    (w / "notjson.txt").write_text("nope\n")
    (w / "empty.json").write_text("{}")
    (w / "empty.db").write_bytes(b"")
    note = {"type": "note.recorded", "authority": {"id": "hrss-150100", "region": "150100"}, "actor": "a",
            "request_id": "exit-codes-1", "body": {"text": "x"}}
    (w / "repeated.jsonl").write_text(json.dumps(note)[:-2] + ', "text": "y"}}\n')
    (w / "unknown-type.jsonl").write_text(json.dumps({**note, "type": "no.such"}) + "\n")
    (w / "note.jsonl").write_text(json.dumps(note) + "\n")
    (w / "e3.json").write_bytes(world.run("entry", "3", "--raw").stdout_bytes)
    (w / "e3-bad.json").write_bytes((w / "e3.json").read_bytes().replace(b'"v":2', b'"v":3'))
    (w / "e3.tlog-proof").write_text(world.ok("prove", "inclusion", "3", "--format", "tlog-proof"))
    (w / "cp.txt").write_text(world.ok("checkpoint", "--show"))
    world.ok("export", "--case", "(2026)内01行初9号", "--requested-by", "督查室", "--seq", "3", "--out", str(w / "good.zip"))
    with zipfile.ZipFile(w / "good.zip") as src, zipfile.ZipFile(w / "bad.zip", "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name) + (b" " if name == "VERIFY.md" else b""))
    finding = {"kind": "overpaid", "txn_id": "T1", "grant_ref": "G1"}
    (w / "report.json").write_text(json.dumps({"findings": [finding]}))
    (w / "truth.json").write_text(json.dumps({"findings": []}))
    _tampered_copy(w / "ledger.db", w / "tampered.db")
    return world


def _tampered_copy(source: Path, target: Path) -> None:
    """A copy of the log with one byte of entry 2 changed (triggers dropped first)."""
    import sqlalchemy as sa

    from tests.test_tamper import drop_triggers

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:  # WAL mode: a file copy may miss pages
        src.backup(dst)
    engine = make_engine(f"sqlite:///{target}")

    class Store:  # the shape drop_triggers expects
        dialect, owner = "sqlite", engine

    drop_triggers(Store)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE entries SET canonical = replace(canonical, :was, :now) WHERE seq = 2"),
                     {"was": '"v":2', "now": '"v":3'})  # a format version no reader knows
    engine.dispose()


def test_every_command_has_failure_cases():
    missing = sorted(set(COMMANDS) - set(CASES))
    assert not missing, f"commands without exit-code cases (add them to CASES, docs/cli.md): {missing}"
    assert all(any(c.code != 0 for c in CASES[p]) for p in COMMANDS)


@pytest.mark.parametrize("path,c,as_json", variants())
def test_failure_modes_follow_the_table(world, path, c, as_json):
    before = world.size()
    args = [*path.split(), *(a.format(w=world.dir) for a in c.args), *(["--json"] if as_json else [])]
    r = world.run(*args, env=c.env)
    assert r.exit_code == c.code, f"{args}: {r.output}{r.stderr}"
    assert "Traceback" not in r.output + r.stderr and "internal error" not in r.output + r.stderr
    assert world.size() == before, "a failing command wrote to the log"
    if as_json:
        error = json.loads(r.stdout)  # one object, nothing else on stdout
        assert isinstance(error, dict) and error["ok"] is False and error["exit_code"] == c.code, error
        message = error.get("message", "")
    else:
        message = r.stderr
        assert message.count("\n") <= 4, message  # one line (click's usage errors: usage, hint, error)
    assert c.says in message, message


# --- the last line of translation: bugs, interrupts, closed pipes --------------------------------

@pytest.mark.parametrize("raised,code,says", [
    (ZeroDivisionError("division by zero"), EXIT_INTERNAL, "internal error (a bug; please report it): ZeroDivisionError"),
    (KeyboardInterrupt(), EXIT_INTERRUPTED, "interrupted"),
    (BrokenPipeError(32, "Broken pipe"), EXIT_BROKEN_PIPE, ""),
])
def test_a_bug_an_interrupt_and_a_closed_pipe_have_codes_of_their_own(world, monkeypatch, raised, code, says):
    """Never Python's traceback and exit 1, which a script would read as 'verification failed'."""
    from ledger.log import prove

    def broken(*args, **kwargs):
        raise raised

    monkeypatch.setattr(prove, "inclusion", broken)
    for as_json in (False, True):
        r = world.run("prove", "inclusion", "3", *(["--json"] if as_json else []))
        assert r.exit_code == code and "Traceback" not in r.stderr, r.output + r.stderr
        if as_json and code != EXIT_BROKEN_PIPE:  # a closed stdout can carry no JSON
            assert says in json.loads(r.stdout)["message"] and json.loads(r.stdout)["exit_code"] == code
        else:
            assert says in r.stderr
    if code == EXIT_INTERNAL:
        debug = world.run("prove", "inclusion", "3", env={"LEDGER_DEBUG": "1"})
        assert isinstance(debug.exception, ZeroDivisionError)  # LEDGER_DEBUG=1: the traceback, for a bug report


# --- no wrapping when not on a terminal ------------------------------------------------------------

def test_messages_are_not_wrapped_when_stderr_is_not_a_terminal(world, capsys):
    name = "k" * 100
    r = world.run("keys", "register", name, "--authority", "hrss-150100")  # COLUMNS=40 in the world's env
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and f"{name}.vkey" in r.stderr, r.stderr
    digest = "3e9c68e722159901c74c4f8d6a1e53d26667621319065b955d1efd41f273ef65" * 2
    err.print(f"checkpoint root {digest} token il_{'x' * 60} signed", highlight=False)  # a success message
    assert capsys.readouterr().err == f"checkpoint root {digest} token il_{'x' * 60} signed\n"


def test_on_a_terminal_messages_still_wrap_at_its_width():
    out = io.StringIO()
    tty = _ErrorConsole(file=out, force_terminal=True, width=40, color_system=None)
    tty.print("word " * 20, highlight=False)
    assert len(out.getvalue().splitlines()) > 1


# --- end to end: the installed script, as a scheduler runs it ---------------------------------------

def script(world: World, *args: str, env: dict | None = None, stdin: bytes | None = None):
    full = {k: v for k, v in {**os.environ, **world.env, **(env or {})}.items() if v is not None}
    full["PYTHONPATH"] = str(ROOT)  # the tree under test, wherever the package was installed from
    return subprocess.run([LEDGER, *args], input=stdin, capture_output=True, env=full, timeout=120)


def test_end_to_end_prove_beyond_the_tree_is_bad_input(world):
    r = script(world, "prove", "inclusion", "99999")
    size = world.size()
    assert r.returncode == 2 and r.stdout == b""
    assert r.stderr.decode() == f"error: seq: 99999 is beyond the tree (size {size})\n"


def test_end_to_end_a_missing_passphrase_file_names_the_variable_and_the_fix(world):
    missing = world.dir / "nowhere" / "passphrase"
    r = script(world, "checkpoint", env={"LEDGER_KEY_PASSPHRASE": None, "LEDGER_KEY_PASSPHRASE_FILE": str(missing)})
    text = r.stderr.decode()
    assert r.returncode == 2 and "Traceback" not in text and text.count("\n") == 1
    assert f"LEDGER_KEY_PASSPHRASE_FILE={missing}: no such file" in text and "unset it" in text
    unreadable = script(world, "summary", "--json", env={"LEDGER_KEY_PASSPHRASE": None,
                                                         "LEDGER_KEY_PASSPHRASE_FILE": str(world.dir)})
    assert unreadable.returncode == 2 and json.loads(unreadable.stdout)["error"] == "ConfigError"


def test_end_to_end_record_reads_json_lines_not_python_lines(world):
    before = world.size()
    note = {"type": "note.recorded", "authority": {"id": "hrss-150100", "region": "150100"}, "actor": "a",
            "request_id": "exit-codes-e2e", "body": {"text": "甲\u2028乙\u2029丙\u0085丁"}}
    r = script(world, "record", "-", "--json", stdin=json.dumps(note, ensure_ascii=False).encode() + b"\r\n")
    assert r.returncode == 0, r.stderr
    assert [e["seq"] for e in json.loads(r.stdout)] == [before]
    assert "甲\u2028乙\u2029丙\u0085丁".encode() in script(world, "entry", str(before), "--raw").stdout


def test_end_to_end_a_hash_in_a_message_stays_on_one_line(world):
    r = script(world, "verify", "--db", f"sqlite:///{world.dir}/tampered.db", env={"COLUMNS": "40"})
    lines = r.stderr.decode().splitlines()
    assert r.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: seq 2: "), lines
