"""The funding source reader: records equal what ``csv.DictReader`` reads,
and the input fingerprint keeps its definition (anchors of earlier nights
depend on it)."""

from __future__ import annotations

import csv
import hashlib
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.finance.reconciliation import Book, reconcile
from ledger.finance.sources import CsvSource
from ledger.finance.transactions import COLUMNS, parse, record_of

cell = st.sampled_from(["", " x ", "T1", "payment", "reversal", "100", "2026-01-05", "中文", "a,b", 'q"q', "1\n2"])


def _reference_fingerprint(path) -> str:
    """The definition, written out independently: DictReader rows, SHA-256 of the
    COLUMNS values joined by U+001F (None as empty), summed mod 2^256."""
    total, n = 0, 0
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            text = "\x1f".join("" if row.get(c) is None else str(row.get(c)) for c in COLUMNS)
            total = (total + int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")) % (1 << 256)
            n += 1
    return f"{n}:{total:064x}"


@settings(max_examples=60, deadline=None)
@given(header=st.permutations(list(COLUMNS) + ["note"]), rows=st.lists(st.lists(cell, max_size=12), max_size=8))
def test_records_and_fingerprint_equal_the_dictreader_definition(tmp_path_factory, header, rows):
    path = tmp_path_factory.mktemp("csv") / "funding.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)  # short rows, long rows and blank rows included
    with path.open(newline="", encoding="utf-8-sig") as f:
        expected = [record_of(r) for r in csv.DictReader(f)]
    source = CsvSource(path)
    assert list(source.rows()) == expected
    result = reconcile(source.rows, Book(0, {}, []), date(2026, 12, 1), payee_ref=lambda s, n: None,
                       barred=lambda *a: ())
    assert result.fingerprint == _reference_fingerprint(path)


def test_parse_takes_records_from_sql_with_typed_values():
    rec = ("T1", "payment", None, "g-1", "CN-RID", " 1501 ", 12_00, date(2026, 1, 5), "p")
    t = parse(rec, 1)
    assert (t.amount_fen, t.booked_on, t.payee_scheme, t.payee_id, t.reverses) == (1200, date(2026, 1, 5),
                                                                                  "cn-rid", "1501", "")
    bad = parse(("T2", "payment", "", "g", "s", "i", "12.5", "2026-01-05", ""), 7)
    assert (bad.line, bad.field) == (7, "amount_fen")


def test_a_source_is_identified_by_its_system_never_by_a_file_name_or_a_password():
    """Decision 0014: the anchor's key. ``postgres://`` (Airflow's connection
    style) is PostgreSQL through psycopg 3."""
    from ledger.finance.sources import SqlSource, identity

    pg = SqlSource("postgres://finance:s3cret@DB.example:5432/funding", "v_payments")
    assert pg.url == "postgresql+psycopg://finance:s3cret@DB.example:5432/funding"
    assert pg.label == "sql:postgresql://db.example:5432/funding#v_payments"
    assert SqlSource("postgresql://other:pw@db.example:5432/funding", "v_payments").label == pg.label
    assert identity("postgresql+psycopg://x@db.example:5432/funding", "v_payments") == pg.label
    assert identity("/data/a/funding.csv") == identity("/data/b/renamed.csv") == "csv"
    assert identity("/data/a/funding.csv", name="finance-b") == "csv#finance-b"
    long = identity(f"sqlite:///{'d' * 200}.db", "t")
    assert long.startswith("sql:sha256:") and len(long) <= 100
