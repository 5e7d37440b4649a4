"""The set-based pass (decision 0025): a plain CSV read as columns, its plain
payments booked set-based, must give the findings, byte for byte, that the
row-by-row loop gives; and any file that is not plain must not be read as
columns at all (the loop, which handles hostile input, reads it)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.finance.csv_table import plain_table
from ledger.finance.reconciliation import Book, ClawbackFact, GrantFact, reconcile
from ledger.finance.sources import CsvSource
from ledger.finance.transactions import COLUMNS, MAX_FEN

ALICE, BOB, CAROL, GONE = "a" * 64, "b" * 64, "c" * 64, "d" * 64
IDS = {("cn-rid", "150102199001010019"): ALICE, ("cn-rid", "15010219900101001X"): ALICE,
       ("cn-rid", "152201198006150025"): BOB, ("passport", "DEU/E0001"): CAROL}
AS_OF = date(2026, 11, 30)
GRANTS = (
    GrantFact(10, ALICE, "nmg-2026-001", 100_000_00, date(2026, 3, 1), "150100", "草原英才"),
    GrantFact(11, BOB, "nmg-2026-002", 50_000_00, date(2026, 3, 1), "150200", "草原英才"),
    GrantFact(12, CAROL, "nmg-2026-003", 70_000_00, date(2026, 3, 1), "150100", "鸿雁行动",
              voided_on=date(2026, 6, 1), voided_seq=40),
    GrantFact(13, GONE, "nmg-2026-004", 10_000_00, date(2026, 3, 1), "150100", "草原英才"),
    GrantFact(14, BOB, "nmg-2026-005", 1_00, date(2025, 1, 1), "150200", "草原英才"),
    GrantFact(15, CAROL, "nmg-2026-006", 30_000_00, date(2026, 3, 1), "150300", "草原英才"),
)
CLAWBACKS = [ClawbackFact(50, (11,), 20_000_00, 1_000_00, date(2026, 9, 1), date(2026, 5, 1))]


def book() -> Book:
    return Book(100, {g.grant_ref: g for g in GRANTS}, list(CLAWBACKS), frozenset({CAROL}), erased={GONE: 60})


def barred(subject, region, programme, on):
    return (70,) if subject == CAROL and region == "150300" and on >= date(2026, 4, 1) else ()


def findings(path: Path, columnar: bool) -> tuple[list[dict], str]:
    source = CsvSource(path)
    table = plain_table(source) if columnar else None
    if columnar:
        assert table is not None, "a plain file must be read as columns"
    r = reconcile(source.rows, book(), AS_OF, payee_ref=lambda s, n: IDS.get((s, n)), barred=barred,
                  unpaid_days=90, table=table)
    return [f.to_json() for f in r.findings], r.fingerprint


def write(path: Path, rows: list[list[str]], header=COLUMNS, lineterminator="\r\n") -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator=lineterminator)
        w.writerow(header)
        w.writerows(rows)
    return path


# Cells that a plain file can hold (no quote, comma, CR or LF). A row is drawn clean
# (what the set-based pass books: few txn_ids, so that repeats and re-bookings are
# common), then maybe one cell is swapped for one of the ways a row can miss it (outer
# spaces, case, non-ASCII, controls, bad amounts and dates, unknown refs, other kinds).
CLEAN = [["T1", "T2", "T3", "T1-b", "T2-b"], ["payment"], [""],
         ["NMG-2026-001", "nmg-2026-002", "NMG-2026-003", "nmg-2026-004", "nmg-2026-006"],
         ["cn-rid", "passport"], ["150102199001010019", "15010219900101001x", "152201198006150025", "DEU/E0001"],
         ["100", "5000000", "6000000"], ["2026-03-05", "2026-05-02", "2026-07-01", "2026-12-01"], ["草原英才"]]
TRICKY = [[" T4", "T5 ", "Ｔ6", "T\x1f7", "", "T8\u202e", "T9", "T1\u00a0"],
          ["Payment", "recovery", "reversal", "refund", " payment"],
          ["T1", "T2", "NOPE", "T\x1f"],
          [" nmg-2026-001", "NMG-2026-ＸＸＸ", "nope", "", "nmg-2026-00１", "nmg-2026-005"],
          ["CN-RID", " cn-rid", "other"],
          [" DEU/E0001", "999", "", "15010219900101001X"],
          [" 100", "0", "-5", "1e5", "12.50", str(MAX_FEN), str(MAX_FEN + 1), "99999999999999", "０１", "7", "9999999999999", "4294967295"],
          ["2026-02-30", "20260305", " 2026-03-06", "2026-3-5", "0000-01-01"],
          ["", "x\u2028y", " 鸿雁行动 ", "a\x85", "b\x1f"]]


def _row(clean: list[int], swap: int, which: int) -> list[str]:
    cells = [values[i % len(values)] for values, i in zip(CLEAN, clean)]
    if swap < len(cells):
        cells[swap] = TRICKY[swap][which % len(TRICKY[swap])]
    return cells


row = st.builds(_row, st.lists(st.integers(0, 9), min_size=9, max_size=9), st.integers(0, 14), st.integers(0, 11))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(row, min_size=1, max_size=40))
def test_the_set_based_pass_gives_the_loops_findings_byte_for_byte(tmp_path, rows):
    path = write(tmp_path / "funding.csv", rows)
    assert findings(path, columnar=True) == findings(path, columnar=False)


def test_every_plain_kind_of_finding_comes_out_the_same():
    """One of each finding the set-based pass books itself, checked against the rules, not only the loop."""
    rows = [
        ["T1", "payment", "", "NMG-2026-001", "cn-rid", "150102199001010019", "6000000", "2026-03-05", "草原英才"],
        ["T1-b", "payment", "", "nmg-2026-001", "cn-rid", "15010219900101001X", "6000000", "2026-03-05", "草原英才"],
        ["T2", "payment", "", "nmg-2026-001", "cn-rid", "150102199001010019", "5000000", "2026-03-06", "x"],
        ["T3", "payment", "", "nmg-2026-002", "cn-rid", "999", "100", "2026-03-06", "x"],
        ["T4", "payment", "", "nmg-2026-003", "passport", "DEU/E0001", "100", "2026-07-01", "x"],
        ["T5", "payment", "", "nmg-2026-004", "cn-rid", "888", "100", "2026-03-06", "x"],
        ["T6", "payment", "", "nmg-2026-006", "passport", "DEU/E0001", "100", "2026-05-01", "x"],
        ["T7", "payment", "", "nmg-2026-002", "cn-rid", "152201198006150025", "100", "2026-12-01", "x"],
    ]
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = write(Path(d) / "funding.csv", rows)
        columnar, fingerprint = findings(path, columnar=True)
        assert (columnar, fingerprint) == findings(path, columnar=False)
    got = {(f["kind"], f["txn_id"], f["grant_ref"]) for f in columnar}
    assert got == {
        ("duplicate_payment", "T1-b", "nmg-2026-001"),  # the same payee, typed otherwise: the larger id
        ("overpaid", None, "nmg-2026-001"),  # 60,000 + 50,000 yuan on a 100,000 grant
        ("payee_mismatch", "T3", "nmg-2026-002"),
        ("paid_after_revocation", "T4", "nmg-2026-003"),
        ("payee_erased", "T5", "nmg-2026-004"),
        ("paid_while_barred", "T6", "nmg-2026-006"),
        ("unpaid_grant", None, "nmg-2026-005"), ("clawback_overdue", None, "nmg-2026-002"),
    }  # T7 is booked after the as-of date: nothing


def test_a_plain_file_is_read_as_the_rows_the_source_yields(tmp_path):
    header = ["extra", *reversed(COLUMNS)]
    rows = [["e1", *reversed(["T1", "payment", "", "NMG-1", "cn-rid", "150102199001010019", "5", "2026-03-05",
                              "草原英才"])],
            ["", *[""] * len(COLUMNS)], ["e3", *"abcdefghi"]]
    for ending in ("\r\n", "\n"):
        path = write(tmp_path / f"f{len(ending)}.csv", rows, header=header, lineterminator=ending)
        table = plain_table(CsvSource(path))
        assert table is not None
        assert list(table.collect().select(COLUMNS).iter_rows()) == list(CsvSource(path).rows())
        stripped = tmp_path / "no-last-line-end.csv"
        stripped.write_bytes(path.read_bytes().rstrip(b"\r\n"))
        table = plain_table(CsvSource(stripped))
        assert table is not None
        assert list(table.collect().select(COLUMNS).iter_rows()) == list(CsvSource(stripped).rows())


GOOD = "T1,payment,,NMG-1,cn-rid,1501,5,2026-03-05,prog"


@pytest.mark.parametrize("body", [
    "\ufeff" + ",".join(COLUMNS) + "\n" + GOOD + "\n",  # a byte-order mark
    ",".join(COLUMNS) + "\n" + GOOD.replace("T1", '"T1"') + "\n",  # a quote
    ",".join(COLUMNS) + "\n" + GOOD + "\r" + GOOD + "\n",  # a CR alone ends a record for csv.reader
    ",".join(COLUMNS) + "\n" + GOOD + "\n\n" + GOOD + "\n",  # a blank line
    ",".join(COLUMNS) + "\n" + GOOD + ",extra\n" + GOOD.rsplit(",", 1)[0] + "\n",  # one long, one short record
    ",".join(COLUMNS) + "\n" + GOOD.replace(",prog", ",pr\x00og") + "\n",  # NUL
    ",".join(COLUMNS) + "\n" + GOOD.replace(",prog", "," + "p" * 100_000) + "\n",  # over MAX_ROW_CHARS
    ",".join(COLUMNS) + "\n",  # no data rows
])
def test_a_file_that_is_not_plain_is_left_to_the_row_loop(tmp_path, body):
    path = tmp_path / "funding.csv"
    path.write_text(body, encoding="utf-8", newline="")
    assert plain_table(CsvSource(path)) is None


def test_a_file_that_is_not_utf8_is_left_to_the_row_loop(tmp_path):
    path = tmp_path / "funding.csv"
    good = (GOOD + "\n").encode() * 2000  # past what CsvSource decodes to read the header
    path.write_bytes((",".join(COLUMNS) + "\n").encode() + good + b"T2" + GOOD.encode()[2:] + b"\xff\n")
    assert plain_table(CsvSource(path)) is None


def test_net_paid_is_exact_at_any_size(tmp_path):
    """The set-based pass sums amounts in 64-bit halves: the sum must still be the exact one."""
    amounts = [MAX_FEN, MAX_FEN - 1, 2**32 - 1, 2**31, 9_999_999_999_999, 1]
    rows = [[f"T{i}", "payment", "", "NMG-2026-001", "cn-rid", "150102199001010019", str(a), f"2026-03-{i + 1:02d}",
             "x"] for i, a in enumerate(amounts)]
    path = write(tmp_path / "funding.csv", rows)
    columnar, _ = findings(path, columnar=True)
    assert (columnar, _) == findings(path, columnar=False)
    [overpaid] = [f for f in columnar if f["kind"] == "overpaid"]
    assert overpaid["amounts"]["paid_fen"] == sum(amounts)
