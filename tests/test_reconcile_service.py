"""The reconciliation job against a real ledger (SQLite and PostgreSQL): the
anchor entry, reports, idempotent re-runs, bitemporal bars, the SQL source,
and precision and recall of 1.0 on the simulated funding system."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, text

from ledger.errors import AnchorMismatch, ValidationError
from ledger.finance import business_day
from ledger.finance import job as reconcile
from ledger.finance.sources import CsvSource, SqlSource
from ledger.finance.transactions import COLUMNS
from ledger.log.verify import verify_log
from ledger.store import log_store
from tests.conftest import PERSON, PERSON_2

LEDGER = str(Path(sys.executable).parent / "ledger")
HEADER = ",".join(COLUMNS)


def write(path: Path, *lines: str) -> CsvSource:
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return CsvSource(path)


def size(domain) -> int:
    with domain.engine.connect() as conn:
        return log_store.size(conn)


@pytest.fixture
def funded(domain, tmp_path):
    """Two persons, each with a grant; the first also with an ordered clawback."""
    p, q = domain.subject(PERSON), domain.subject(PERSON_2)
    g1 = domain.grant(p, amount=100_000_00, ref="NMG-A-1", on="2026-01-02")
    g2 = domain.grant(q, amount=50_000_00, ref="NMG-B-1", on="2026-01-02")
    return {"p": p, "q": q, "g1": g1, "g2": g2, "dir": tmp_path}


NOW = datetime(2026, 2, 1, 9, tzinfo=UTC)  # every as-of date these tests use is over


def run(domain, source, out, as_of=date(2026, 1, 20), now=NOW):
    return reconcile.run(domain.engine, domain.keyring, domain.vault, source, as_of, out, domain.clock, now=now)


def test_a_run_is_anchored_with_its_report_hash(domain, funded):
    src = write(funded["dir"] / "f.csv",
                "T1,payment,,NMG-A-1,cn-rid,150102199001010019,10000000,2026-01-05,草原英才",
                "T2,payment,,nmg-b-1 ,cn-rid,152201198006150025,5000000,2026-01-05,草原英才",
                "T3,payment,,NMG-X-9,cn-rid,152201198006150025,100,2026-01-06,草原英才")
    out = run(domain, src, funded["dir"] / "reports")
    e = out.entry
    assert e.type == "reconciliation.completed" and e.authority.id == "ledger-operator"
    assert e.body["counts"]["unknown_grant"] == 1 and sum(e.body["counts"].values()) == 1
    report = (out.directory / "report.json").read_bytes()
    assert hashlib.sha256(report).hexdigest() == e.body["report_sha256"] == out.report_sha256
    assert json.loads(report)["findings"][0]["txn_id"] == "T3"
    assert e.body["tree_size"] == e.seq and e.body["input_rows"] == 3
    assert "unknown_grant" in (out.directory / "summary.html").read_text()
    assert (out.directory / "findings.csv").read_text().splitlines()[1].startswith("unknown_grant,T3,nmg-x-9")
    verify_log(domain.engine, workers=1)  # the anchor is signed by the log key and verifies


def test_rerunning_a_night_appends_nothing_and_a_changed_input_is_refused(domain, funded):
    path = funded["dir"] / "f.csv"
    src = write(path, "T1,payment,,NMG-A-1,cn-rid,150102199001010019,10000000,2026-01-05,草原英才")
    first = run(domain, src, funded["dir"] / "r")
    report = (first.directory / "report.json").read_bytes()
    domain.grant(funded["q"], amount=1_00, ref="NMG-LATER", on="2026-01-03")  # the ledger moves on
    before = size(domain)
    again = run(domain, src, funded["dir"] / "r")
    assert again.entry.seq == first.entry.seq and size(domain) == before
    assert (again.directory / "report.json").read_bytes() == report  # read at the anchored tree size
    write(path, "T1,payment,,NMG-A-1,cn-rid,150102199001010019,10000000,2026-01-05,草原英才",
          "T9,payment,,NMG-A-1,cn-rid,150102199001010019,1,2026-01-06,草原英才")
    with pytest.raises(AnchorMismatch, match="do not re-anchor"):
        run(domain, CsvSource(path), funded["dir"] / "r")
    assert size(domain) == before


def test_a_refused_rerun_leaves_the_anchored_reports_and_writes_its_own_beside_them(domain, funded):
    """Decision 0014: the anchored directory is never written again, not even
    with the same bytes; a refused run's result goes to ``.refused-<digest8>``."""
    path, out = funded["dir"] / "f.csv", funded["dir"] / "r"
    write(path, "T1,payment,,NMG-A-1,cn-rid,150102199001010019,10000000,2026-01-05,草原英才")
    first = run(domain, CsvSource(path), out)
    files = {p.name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in first.directory.iterdir()}
    run(domain, CsvSource(path), out)  # the same night again: not rewritten
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in first.directory.iterdir()} == files
    write(path, "T1,payment,,NMG-A-1,cn-rid,150102199001010019,10000001,2026-01-05,草原英才")  # one row changed
    with pytest.raises(AnchorMismatch) as refused:
        run(domain, CsvSource(path), out)
    assert {p.name: p.read_bytes() for p in first.directory.iterdir()} == {k: v[0] for k, v in files.items()}
    [beside] = [p for p in out.iterdir() if ".refused-" in p.name]
    data = (beside / "report.json").read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert beside.name == f"reconciliation-2026-01-20.refused-{digest[:8]}" and str(beside) in str(refused.value)
    assert json.loads(data)["input"]["rows"] == 1 and digest != first.report_sha256
    with pytest.raises(AnchorMismatch):  # refused again: the same refused directory, nothing more
        run(domain, CsvSource(path), out)
    assert sorted(p.name for p in out.iterdir()) == sorted([first.directory.name, beside.name])


def test_a_renamed_file_cannot_anchor_a_second_result_for_the_night(domain, funded):
    """Decision 0014: the anchor is keyed by the funding system, not the file's name."""
    write(funded["dir"] / "f.csv", "T1,payment,,NMG-A-1,cn-rid,150102199001010019,10000000,2026-01-05,草原英才")
    first = run(domain, CsvSource(funded["dir"] / "f.csv"), funded["dir"] / "r")
    assert first.entry.body["source"] == "csv"
    other = write(funded["dir"] / "renamed.csv", "T1,payment,,NMG-A-1,cn-rid,150102199001010019,1,2026-01-05,草原英才")
    with pytest.raises(AnchorMismatch):
        run(domain, other, funded["dir"] / "r2")
    same = run(domain, CsvSource(funded["dir"] / "f.csv"), funded["dir"] / "r3")  # copied elsewhere: same anchor
    assert same.entry.seq == first.entry.seq
    named = run(domain, CsvSource(funded["dir"] / "renamed.csv", name="finance-b"), funded["dir"] / "r4")
    assert named.entry.body["source"] == "csv#finance-b" and named.entry.seq != first.entry.seq


def test_a_night_anchored_under_a_file_name_is_not_anchored_again(domain, funded):
    """Anchors written before identities were keyed ``csv:<file name>``; they count
    as the unnamed CSV identity's."""
    legacy = write(funded["dir"] / "old.csv", "T1,payment,,NMG-A-1,cn-rid,150102199001010019,10000000,2026-01-05,草原英才")
    legacy.label = "csv:old.csv"
    first = run(domain, legacy, funded["dir"] / "r")
    assert first.entry.request_id == "reconciliation:2026-01-20:csv:old.csv"
    with pytest.raises(AnchorMismatch):
        run(domain, write(funded["dir"] / "new.csv", "T1,payment,,NMG-A-1,cn-rid,150102199001010019,1,2026-01-05,草原英才"),
            funded["dir"] / "r2")
    before = size(domain)
    with pytest.raises(AnchorMismatch):  # even the same file: its report names another source; never re-anchored
        run(domain, CsvSource(funded["dir"] / "old.csv"), funded["dir"] / "r3")
    assert size(domain) == before


def test_an_unfinished_or_future_day_and_a_day_before_the_log_are_refused(domain, funded):
    """Decision 0014. The day is Asia/Shanghai's: 2026-01-20 ends at 16:00 UTC."""
    src = write(funded["dir"] / "f.csv", "T1,payment,,NMG-A-1,cn-rid,150102199001010019,10000000,2026-01-05,草原英才")
    out = funded["dir"] / "r"
    for now in (datetime(2026, 1, 20, 15, 59, tzinfo=UTC), datetime(2026, 1, 19, tzinfo=UTC)):
        with pytest.raises(ValidationError, match="is not finished"):
            run(domain, src, out, now=now)
    assert not out.exists()
    with pytest.raises(ValidationError, match="before the log's first entry"):
        run(domain, src, out, as_of=date(2025, 12, 31))
    assert not out.exists()
    assert run(domain, src, out, now=datetime(2026, 1, 20, 16, tzinfo=UTC)).entry.type == "reconciliation.completed"


def test_the_ledger_is_read_at_the_end_of_the_day_in_asia_shanghai(domain, funded):
    """A grant recorded at 17:00 UTC on the 20th is recorded on the 21st in Shanghai."""
    domain.clock.now = datetime(2026, 1, 20, 17, tzinfo=UTC)
    domain.grant(funded["q"], amount=1_00, ref="NMG-LATE", on="2026-01-20")
    src = write(funded["dir"] / "f.csv", "T1,payment,,NMG-LATE,cn-rid,152201198006150025,100,2026-01-20,草原英才")
    out = run(domain, src, funded["dir"] / "r")
    assert [f.kind for f in out.result.findings] == ["unknown_grant"]  # not yet in the ledger that day


# Rows of every kind that could depend on their order: invalid rows with and without a
# txn_id, an oversized record, repeated ids, duplicates, reversals, an orphan.
_SHUFFLED = ["T1,payment,,NMG-A-1,cn-rid,150102199001010019,6000000,2026-01-05,草原英才",
             "T1,payment,,NMG-A-1,cn-rid,150102199001010019,6000001,2026-01-05,草原英才",
             "T2,payment,,NMG-A-1,cn-rid,150102199001010019,6000000,2026-01-05,草原英才",
             "T3,payment,,NMG-B-1,cn-rid,152201198006150025,700,2026-01-06,草原英才",
             "R3,reversal,T3,NMG-B-1,cn-rid,152201198006150025,300,2026-01-07,草原英才",
             "R4,reversal,T3,NMG-X,cn-rid,152201198006150025,1,2026-01-07,草原英才",
             "R5,reversal,NOPE,,,,1,2026-01-07,x",
             ",payment,,NMG-A-1,cn-rid,1,1,2026-01-05,p", ",payment,,NMG-A-1,cn-rid,1,2,2026-01-05,p",
             "B1,payment,,NMG-A-1,cn-rid,1,-5,2026-01-05,p", "B1,payment,,NMG-A-1,cn-rid,1,0,2026-01-05,p",
             "BIG," + "x" * 100_001, "BIG2," + "y" * 100_001]


def test_the_report_is_a_function_of_the_multiset_of_rows(domain, funded):
    """Decision 0014 (report format v2): the same rows in any order give byte-identical report.json,
    accepted as the same night (on the old code, row positions were in the report)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    path, out = funded["dir"] / "f.csv", funded["dir"] / "r"
    first = run(domain, write(path, *_SHUFFLED), out)
    reference = (first.directory / "report.json").read_bytes()
    assert {f.kind for f in first.result.findings} >= {"invalid_row", "duplicate_payment", "reversal_mismatch",
                                                       "orphan_reversal"}

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.permutations(_SHUFFLED))
    def same_night(rows):
        again = run(domain, write(path, *rows), out)
        assert again.entry.seq == first.entry.seq and again.report_sha256 == first.report_sha256
        assert (again.directory / "report.json").read_bytes() == reference

    same_night()


def test_paid_while_barred_uses_what_the_ledger_knew_on_the_payment_day(domain, funded):
    p = funded["p"]
    domain.clock.now = datetime(2026, 1, 15, 9, tzinfo=UTC)  # recorded on 15 Jan...
    s = domain.sanction(p, start="2026-01-01", until="2026-12-31", regions=["150100"])  # ...effective from 1 Jan
    src = write(funded["dir"] / "f.csv",
                "T1,payment,,NMG-A-1,cn-rid,150102199001010019,5000000,2026-01-10,草原英才",  # before it was known
                "T2,payment,,NMG-A-1,cn-rid,150102199001010019,5000000,2026-01-16,草原英才",  # after
                "T3,payment,,NMG-B-1,cn-rid,152201198006150025,5000000,2026-01-16,草原英才")
    out = run(domain, src, funded["dir"] / "r")
    barred = [f for f in out.result.findings if f.kind == "paid_while_barred"]
    assert [(f.txn_id, f.seqs) for f in barred] == [("T2", (funded["g1"].seq, s.seq))]


def test_an_sql_table_gives_the_same_findings_as_the_csv(domain, funded, store):
    rows = [("T1", "payment", "", "NMG-A-1", "cn-rid", "150102199001010019", "10000000", "2026-01-05", "草原英才"),
            ("T1", "payment", "", "NMG-A-1", "cn-rid", "150102199001010019", "10000000", "2026-01-05", "草原英才"),
            ("T4", "recovery", "", "NMG-B-1", "cn-rid", "152201198006150025", "100", "2026-01-07", "草原英才")]
    src = write(funded["dir"] / "f.csv", *[",".join(r) for r in rows])
    # The funding system's own database stands in as a table the owner creates.
    url = store.owner.url.render_as_string(hide_password=False)
    engine = create_engine(url)
    table = Table("funding_transactions", MetaData(), *[Column(c, String(100)) for c in COLUMNS])
    table.create(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [dict(zip(COLUMNS, r)) for r in rows])
    by_csv = reconcile.reconcile(src.rows, *_book(domain), **_lookups(domain))
    by_sql = reconcile.reconcile(SqlSource(url).rows, *_book(domain), **_lookups(domain))
    assert [f.to_json() for f in by_sql.findings] == [f.to_json() for f in by_csv.findings]
    assert {f.kind for f in by_sql.findings} == {"duplicate_payment", "unrecorded_recovery", "unpaid_grant"}
    assert by_sql.fingerprint == by_csv.fingerprint
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE funding_transactions"))
    engine.dispose()


def _book(domain, as_of=date(2026, 6, 1)):
    with domain.engine.connect() as conn:
        return reconcile.load_book(conn, size(domain), as_of), as_of


def _lookups(domain):
    conn = domain.engine.connect()
    look = reconcile.Lookups(conn, domain.vault, size(domain))  # loads everything it needs now
    conn.close()
    return {"payee_ref": look.payee_ref, "barred": lambda *a: (), "unpaid_days": 90}


@pytest.mark.slow
def test_the_simulated_funding_system_is_found_exactly(tmp_path):
    """End to end with the commands: demo ledger, simulated funding, reconcile;
    precision and recall 1.0 against the ground truth, every kind injected."""
    env = {**os.environ, "LEDGER_KEY_PASSPHRASE": "pw", "LEDGER_KEY_DIR": str(tmp_path / "k"),
           "LEDGER_VKEY_DIR": str(tmp_path / "v"), "LEDGER_STATE_DIR": str(tmp_path / "s"),
           "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/l.db"}

    def cli(*args):
        out = subprocess.run([LEDGER, *args], capture_output=True, text=True, env=env, timeout=600)
        assert out.returncode == 0, out.stderr
        return out.stdout

    as_of = business_day.last_finished(datetime.now(UTC)).isoformat()  # a finished day, recorded on
    cli("demo", "--entries", "2500", "--seed", "4", "--recorded-on", as_of)
    cli("demo-funding", "--out", str(tmp_path / "f"), "--seed", "4", "--as-of", as_of)
    result = json.loads(cli("reconcile", "--funding", str(tmp_path / "f" / "funding.csv"), "--out",
                            str(tmp_path / "r"), "--json", "--as-of", as_of))
    truth = json.loads((tmp_path / "f" / "ground-truth.json").read_text())["findings"]
    report = json.loads(next((tmp_path / "r").glob("reconciliation-*/report.json")).read_text())
    got = {(f["kind"], f["txn_id"], f["grant_ref"]) for f in report["findings"]}
    want = {(f["kind"], f["txn_id"], f["grant_ref"]) for f in truth}
    assert got == want  # precision and recall 1.0
    injected = {f["kind"] for f in truth if f["injected"]}
    assert injected == set(result["counts"]) , set(result["counts"]) - injected


def test_pass_one_in_a_spawned_process_gives_the_same_report(domain, funded, monkeypatch):
    """A large CSV's pass 1 runs in another process beside load_book; the report
    must be byte-identical to the in-line run (the threshold is lowered here)."""
    from ledger.finance.sources import CsvSource as Csv

    src = write(funded["dir"] / "f.csv",
                "T1,payment,,NMG-A-1,cn-rid,150102199001010019,10000000,2026-01-05,草原英才",
                "T2,payment,,NMG-A-1,cn-rid,150102199001010019,10000000,2026-01-05,草原英才",
                "R1,reversal,T2,NMG-A-1,cn-rid,150102199001010019,10000000,2026-01-06,草原英才",
                "R9,reversal,T404,NMG-A-1,cn-rid,150102199001010019,1,2026-01-06,草原英才")
    started = []
    real_start = reconcile._start_scan

    def spy(source, as_of):
        job = real_start(source, as_of)
        started.append(job)
        return job

    monkeypatch.setattr(reconcile, "_start_scan", spy)
    monkeypatch.setattr(reconcile, "PARALLEL_SCAN_BYTES", 0)
    apart = reconcile.produce(domain.engine, domain.vault, Csv(src.path), date(2026, 1, 20), funded["dir"] / "a",
                              now=NOW)
    monkeypatch.setattr(reconcile, "PARALLEL_SCAN_BYTES", 1 << 40)
    inline = reconcile.produce(domain.engine, domain.vault, Csv(src.path), date(2026, 1, 20), funded["dir"] / "b",
                               now=NOW)
    assert started[0] is not None and started[1] is None  # the first really ran in another process
    assert apart.report_sha256 == inline.report_sha256
    assert {f.kind for f in apart.result.findings} >= {"orphan_reversal"}
    assert "duplicate_payment" not in {f.kind for f in apart.result.findings}  # T2 was reversed
