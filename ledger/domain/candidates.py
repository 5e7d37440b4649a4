"""An award round's candidate list: a CSV or XLSX file read into candidates and
per-row problems (docs/award-rounds.md). Pure: bytes in, values out; no storage.

Columns (the header row names them, in any order; the Chinese headers of the
template are accepted too): ``identifier``, ``programme``, ``benefit``,
``region``, ``date``. Each data row is checked like the single pre-award
question (``ledger.domain.status.question_problems``):

- ``identifier``: ``scheme:number`` (docs/contracts.md §2.6), or a bare number:
  a resident identity number (18 characters, or 15 digits) or else a unified
  social credit code;
- ``programme``: text (whether it is registered is the ledger's question, asked
  when the round is screened);
- ``benefit``: ``honor``, ``subsidy``, ``talent_project`` (or the Chinese label);
- ``region``: a current GB/T 2260 code (a retired or unknown code is refused);
- ``date``: ``YYYY-MM-DD`` (an XLSX date cell is taken as its date).

Problems are values (row number as the spreadsheet shows it, the header being
row 1; field; rule), never the first one raised: the officer fixes the file
once. The file is bounded before it is parsed (``MAX_UPLOAD_BYTES``,
``MAX_CANDIDATES``; for XLSX also the unpacked size, a zip bomb's tell).
Non-scope: whether a subject is on record, and the answers (``award_round``).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from ledger.domain.identifiers import SCHEMES, parse
from ledger.domain.records import BENEFITS
from ledger.domain.regions import current_name, retired
from ledger.errors import ValidationError
from ledger.finance.csv_cells import escape_row
from ledger.log.body_schema import control_characters, iso_date, region_code

MAX_UPLOAD_BYTES = 2 * 1024 * 1024  # 2 MiB: 2,000 rows of 100 bytes with room to spare
MAX_UNPACKED_BYTES = 32 * 1024 * 1024  # an XLSX's parts, unpacked: bounds a zip bomb before openpyxl opens it
MAX_CANDIDATES = 2000  # a round is dozens or hundreds; the bench measures 1,000
MAX_CELL = 200  # characters in any cell

COLUMNS = ("identifier", "programme", "benefit", "region", "date")
HEADERS_ZH = {"identifier": "身份号码或统一社会信用代码", "programme": "项目", "benefit": "授予类别",
              "region": "授予地区代码", "date": "授予日期"}
BENEFIT_LABELS = {"资助补贴": "subsidy", "表彰奖励": "honor", "人才项目": "talent_project"}
XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Candidate:
    """One valid row of the list."""

    row: int  # the spreadsheet's row number (the header is row 1)
    identifier: str  # ``scheme:number``, normalised
    programme: str
    benefit: str  # honor | subsidy | talent_project
    region: str  # a current GB/T 2260 code
    on: date  # the award date


@dataclass(frozen=True)
class RowProblem:
    """One violated rule in one row (row 0: the file as a whole, or its header)."""

    row: int
    field: str
    rule: str


@dataclass(frozen=True)
class CandidateList:
    candidates: tuple[Candidate, ...]
    problems: tuple[RowProblem, ...]


def read(data: bytes, filename: str = "") -> CandidateList:
    """The list in ``data``: XLSX if it is a zip (or named .xlsx), else UTF-8 CSV."""
    if len(data) > MAX_UPLOAD_BYTES:
        return _fails("file", f"is {len(data)} bytes, more than {MAX_UPLOAD_BYTES}")
    if data[:4] == XLSX_MAGIC or filename.lower().endswith(".xlsx"):
        rows = _xlsx_rows(data)
    else:
        rows = _csv_rows(data)
    if isinstance(rows, RowProblem):
        return CandidateList((), (rows,))
    return rows_to_candidates(rows)


def _fails(field: str, rule: str) -> CandidateList:
    return CandidateList((), (RowProblem(0, field, rule),))


def _csv_rows(data: bytes) -> list[list[str]] | RowProblem:
    try:
        text = data.decode("utf-8-sig")  # Excel writes a BOM in front of UTF-8 CSV
    except UnicodeDecodeError as e:
        return RowProblem(0, "file", f"is not UTF-8 text (byte {e.start}): save it as CSV UTF-8 or XLSX")
    if "\x00" in text:
        return RowProblem(0, "file", "holds NUL characters: not a CSV file")
    try:
        return list(_limited(csv.reader(io.StringIO(text, newline=""))))
    except (csv.Error, _TooMany) as e:
        return RowProblem(0, "file", str(e) or "is not a CSV file")


def _xlsx_rows(data: bytes) -> list[list[str]] | RowProblem:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            unpacked = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, ValueError):
        return RowProblem(0, "file", "is not an XLSX workbook")
    if unpacked > MAX_UNPACKED_BYTES:
        return RowProblem(0, "file", f"unpacks to {unpacked} bytes, more than {MAX_UNPACKED_BYTES}")
    from openpyxl import load_workbook  # type: ignore[import-untyped]  # only when a workbook arrives (it costs ~0.2 s to import)

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = wb.worksheets[0]
            return list(_limited([_cell_text(c) for c in r] for r in sheet.iter_rows(values_only=True)))
        finally:
            wb.close()
    except _TooMany as e:
        return RowProblem(0, "file", str(e))
    except Exception:  # openpyxl raises many kinds on a broken workbook: all mean the same to the officer
        return RowProblem(0, "file", "is not a readable XLSX workbook")


class _TooMany(Exception):
    pass


def _limited(rows: Iterable[list[str]]) -> Iterator[list[str]]:
    """Rows with any content, refusing once there are more than a header and ``MAX_CANDIDATES``."""
    n = 0
    for r in rows:
        n += 1
        if n > MAX_CANDIDATES + 1:
            raise _TooMany(f"has more than {MAX_CANDIDATES} candidates: split the round")
        yield r


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # a region typed as a number
    return str(v)


def rows_to_candidates(rows: Sequence[Sequence[str]]) -> CandidateList:
    """Rows of text (the first is the header) as candidates and problems."""
    rows = [r for r in rows]
    if not rows:
        return _fails("file", "is empty: the first row names the columns " + ", ".join(COLUMNS))
    columns = _columns(rows[0])
    if isinstance(columns, RowProblem):
        return CandidateList((), (columns,))
    out: list[Candidate] = []
    problems: list[RowProblem] = []
    seen: dict[tuple[str, str, str, str, date], int] = {}
    for number, r in enumerate(rows[1:], start=2):
        cells = {name: (r[i].strip() if i < len(r) and r[i] is not None else "") for name, i in columns.items()}
        if not any(cells.values()):
            continue  # a blank line between blocks of candidates
        c = _candidate(number, cells, problems)
        if c is None:
            continue
        key = (c.identifier, c.programme, c.benefit, c.region, c.on)
        if key in seen:
            problems.append(RowProblem(number, "identifier", f"repeats row {seen[key]} (same identifier, programme, "
                                                             "benefit, region and date)"))
            continue
        seen[key] = number
        out.append(c)
    if not out and not problems:
        problems.append(RowProblem(0, "file", "has a header but no candidates"))
    return CandidateList(tuple(out), tuple(problems))


def _columns(header: Sequence[str]) -> dict[str, int] | RowProblem:
    names = {**{c: c for c in COLUMNS}, **{zh: c for c, zh in HEADERS_ZH.items()}}
    found: dict[str, int] = {}
    for i, cell in enumerate(header):
        name = names.get((cell or "").strip().lstrip("\ufeff").lower())
        if name is not None and name not in found:
            found[name] = i
    missing = [c for c in COLUMNS if c not in found]
    if missing:
        return RowProblem(1, ", ".join(missing), "missing column: the header row names " + ", ".join(COLUMNS))
    return found


def _candidate(number: int, cells: dict[str, str], problems: list[RowProblem]) -> Candidate | None:
    before = len(problems)

    def bad(field: str, rule: str) -> None:
        problems.append(RowProblem(number, field, rule))

    for field, text in cells.items():
        if len(text) > MAX_CELL:
            bad(field, f"is longer than {MAX_CELL} characters")
        elif control_characters(text):
            bad(field, "holds control characters")
    if len(problems) > before:
        return None
    identifier = _identifier(cells["identifier"], bad)
    if not cells["programme"]:
        bad("programme", "is empty: name a registered programme")
    benefit = BENEFIT_LABELS.get(cells["benefit"], cells["benefit"].lower())
    if benefit not in BENEFITS:
        bad("benefit", "must be one of " + ", ".join(BENEFITS))
    region = cells["region"]
    rule = region_code(region) or retired(region)
    if rule is None and current_name(region) is None:
        rule = "is not a GB/T 2260 region code"
    if rule:
        bad("region", rule)
    on_rule = iso_date(cells["date"])
    if on_rule:
        bad("date", on_rule)
    if len(problems) > before or identifier is None:
        return None
    return Candidate(number, identifier, cells["programme"], benefit, region, date.fromisoformat(cells["date"]))


def _identifier(text: str, bad: Callable[[str, str], None]) -> str | None:
    if not text:
        bad("identifier", "is empty")
        return None
    if ":" not in text:  # a bare number: a person's first, as officers list people
        scheme = "cn-rid" if len(text) == 15 or (len(text) == 18 and text[:17].isdigit()) else "cn-uscc"
        text = f"{scheme}:{text}"
    elif text.partition(":")[0].strip().lower() not in SCHEMES:
        bad("identifier", "scheme must be one of " + ", ".join(SCHEMES))
        return None
    try:
        return str(parse(text, "identifier"))
    except ValidationError as e:
        for p in e.problems:
            bad("identifier", p.rule)
        return None


# --- the template ----------------------------------------------------------------------

TEMPLATE_ROWS = (("cn-rid:150102199001010019", "草原英才", "subsidy", "150102", "2026-10-01"),
                 ("152201198006150025", "鸿雁行动", "honor", "152201", "2026-10-01"))


def template_csv() -> bytes:
    """The template as UTF-8 CSV with a BOM (so Excel and WPS open it as UTF-8)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")  # RFC 4180
    w.writerow(COLUMNS)
    for r in TEMPLATE_ROWS:
        w.writerow(escape_row(r))
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def template_xlsx() -> bytes:
    """The template as a workbook: the header, two example rows, every cell text."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "candidates"
    ws.append(list(COLUMNS))
    for r in TEMPLATE_ROWS:
        ws.append(list(r))
    for row in ws.iter_rows():
        for cell in row:
            cell.number_format = "@"  # text: a spreadsheet must not turn a number into 1.5E+17
    for col, width in zip("ABCDE", (30, 16, 16, 12, 12)):
        ws.column_dimensions[col].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
