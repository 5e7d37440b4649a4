"""The nightly reconciliation job: read the ledger's side at one tree size,
stream the funding system's transactions, write the reports, anchor the run.

Deterministic per as-of date. The as-of date is a business day in Asia/Shanghai
(``business_day``) and is reconciled only once it is over; the ledger is read at
the size it had at the end of that day (entries' ``recorded_at`` is
non-decreasing along seq); once a run for that date is anchored, re-runs read at
the anchored size. Same multiset of rows, same report, byte for byte; the
anchor's request_id is ``reconciliation:<as_of>:<source identity>``, so a re-run
appends nothing, and a re-run whose result differs is refused
(``AnchorMismatch``) rather than anchored twice.

Anchored artefacts are immutable (decision 0014): once a night is anchored, its
report directory is never rewritten; a refused re-run writes its result beside
it, as ``reconciliation-<as_of>.refused-<first 8 hex of its SHA-256>/``.
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import html
import io
import json
import multiprocessing
import pickle
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from ledger.domain import projection_check, vault_store
from ledger.domain.eligibility import Facts, Query, decide
from ledger.domain.facts import assemble_sanctions
from ledger.domain.identifiers import Identifier, normalise
from ledger.domain.vault import Vault
from ledger.errors import AnchorMismatch, ConfigError, LedgerError, Problem, RequestConflict, ValidationError
from ledger.finance import business_day, csv_cells
from ledger.finance.csv_table import plain_table
from ledger.finance.reconciliation import Book, ClawbackFact, GrantFact, Result, Scan, reconcile, scan
from ledger.finance.sources import CsvSource
from ledger.finance.staged_directory import staged, write_file
from ledger.finance.transactions import Source
from ledger.log import canonical
from ledger.log.append import Clock, append_entries
from ledger.log.entry import Draft, Entry
from ledger.log.operator import OPERATOR
from ledger.signing.keyring import Keyring
from ledger.store import log_store
from ledger.store.schema import clawbacks, entries, exits, grants, money_moves, sanction_versions, subjects

# v2: rows named by content, not position; reversal_mismatch; days in Asia/Shanghai.
REPORT_FORMAT = "integrity-ledger/reconciliation/v2"


@dataclass
class Outcome:
    result: Result
    report: dict
    report_sha256: str
    entry: Entry
    directory: Path


def size_at_end_of(conn, day: date, upper: int) -> int:
    """Entries recorded on or before the business ``day`` (its end in Asia/Shanghai):
    a binary search on seq, O(log n) lookups."""
    cutoff, lo, hi = business_day.recorded_before_end_of(day), 0, upper
    while lo < hi:
        mid = (lo + hi) // 2
        at = conn.execute(select(entries.c.recorded_at).where(entries.c.seq == mid)).scalar_one()
        if at < cutoff:
            lo = mid + 1
        else:
            hi = mid
    return lo


def anchor_request_id(as_of: date, source_label: str) -> str:
    """One anchor per as-of date and funding source (several funding systems may report);
    the label is the source's identity (``sources.identity``), never a file's name."""
    return f"reconciliation:{as_of.isoformat()}:{source_label}"


def anchored(conn, as_of: date, source_label: str) -> Entry | None:
    """The anchor of ``as_of`` for this source, if any. Only ``seq``, ``type`` and
    ``body`` of the entry are used. Anchors written before sources had identities
    were keyed ``csv:<file name>``: for the unnamed CSV identity, the first of those
    for the night counts, so a file of another name cannot anchor the night again."""
    from ledger.log.entry import from_canonical

    def first(request_id):
        return conn.execute(select(entries.c.canonical).where(
            entries.c.authority_id == OPERATOR.id, request_id).order_by(entries.c.seq).limit(1)).first()

    row = first(entries.c.request_id == anchor_request_id(as_of, source_label))
    if row is None and source_label == "csv":
        row = first(entries.c.request_id.like(anchor_request_id(as_of, "csv:") + "%"))
    return from_canonical(bytes(row.canonical)) if row else None


def load_book(conn, size: int, as_of: date) -> Book:
    """Grants and live clawbacks known at ``size`` and decided by ``as_of``: set-based reads."""
    day = as_of.isoformat()
    void = (select(exits.c.target_seq, exits.c.exit_seq, entries.c.recorded_at)
            .join(entries, entries.c.seq == exits.c.exit_seq)
            .where(exits.c.kind == "voided", exits.c.exit_seq < size).subquery())
    gs = {}
    for r in conn.execute(select(grants, void.c.exit_seq, void.c.recorded_at)
                          .outerjoin(void, void.c.target_seq == grants.c.seq)
                          .where(grants.c.seq < size, grants.c.decision_date <= day)):
        gs[r.grant_ref] = GrantFact(r.seq, r.subject, r.grant_ref, r.amount_fen, date.fromisoformat(r.decision_date),
                                    r.region, r.programme,
                                    date.fromisoformat(r.recorded_at[:10]) if r.recorded_at else None, r.exit_seq)
    gone = select(exits.c.target_seq).where(exits.c.exit_seq < size, exits.c.kind.in_(("voided", "exempted")))
    waived = (select(money_moves.c.clawback_seq, func.sum(money_moves.c.amount_fen).label("fen"))
              .where(money_moves.c.kind == "waived", money_moves.c.move_seq < size)
              .group_by(money_moves.c.clawback_seq).subquery())
    cs = [ClawbackFact(r.seq, tuple(json.loads(r.grant_seqs)), r.amount_fen, int(r.fen or 0),
                       date.fromisoformat(r.deadline), date.fromisoformat(r.decision_date))
          for r in conn.execute(select(clawbacks, waived.c.fen).outerjoin(waived, waived.c.clawback_seq == clawbacks.c.seq)
                                .where(clawbacks.c.seq < size, clawbacks.c.decision_date <= day,
                                       clawbacks.c.seq.not_in(gone)).order_by(clawbacks.c.seq))]
    sanctioned = frozenset(conn.execute(select(sanction_versions.c.subject).distinct()
                                        .where(sanction_versions.c.version_seq < size)).scalars())
    return Book(size, gs, cs, sanctioned, erasures(conn))


def erasures(conn, since: int = 0) -> dict[str, int]:
    """Subjects erased (PIPL Art. 47) by ``subject.erased`` entries at ``since`` or later
    -> the entry's seq. Every erasure, not only those before the night's size: the
    vault has lost the identifiers whenever the night is computed (decision 0019)."""
    return {r.subject: r.seq for r in conn.execute(
        select(entries.c.subject, entries.c.seq).where(entries.c.type == "subject.erased", entries.c.seq >= since))}


class Lookups:
    """The two lookups the pure engine needs, loaded set-based once per run: the
    vault's blind index, the sanctioned subjects' sanction rows, and the log's
    size at the end of each day. No per-payment queries."""

    def __init__(self, conn, vault: Vault | None, size: int, sanctioned: frozenset[str] = frozenset(),
                 known_before: str | None = None):
        self.vault, self.size = vault, size
        # The index key of the database's current epoch, read in this connection: a
        # process that loaded its key before a rotation would otherwise match no payee
        # (docs/erasure.md).
        self._keys = vault_store.keys(conn, vault) if vault else None
        # Only the vault records that existed at the night's cut-off (``known_before``,
        # the end of the as-of day): a subject added later appends nothing to the log,
        # and must not change a past night's findings (decision 0019).
        live = select(subjects.c.blind_index, subjects.c.ref).where(subjects.c.blind_index.is_not(None))
        if known_before is not None:
            live = live.where(subjects.c.created_at < known_before)
        self.index = {r.blind_index: r.ref for r in conn.execute(live)} if vault else {}
        self._refs: dict[tuple[str, str], str | None] = {}
        # Entries recorded on or before each business day: the last seq of each UTC
        # hour, folded into days in Asia/Shanghai (a whole-hour offset: every hour lies
        # in one local day). recorded_at is non-decreasing along seq.
        hour = func.substr(entries.c.recorded_at, 1, 13)
        ends: dict[str, int] = {}
        for r in conn.execute(select(hour.label("hour"), func.max(entries.c.seq).label("last"))
                              .where(entries.c.seq < size).group_by(hour).order_by(hour)):
            local = business_day.day_of(datetime.fromisoformat(f"{r.hour}:00:00+00:00")).isoformat()
            ends[local] = max(ends.get(local, 0), r.last + 1)
        self._days = sorted(ends)
        self._ends = [ends[d] for d in self._days]
        self._versions: dict[str, list] = {}
        self._exits: dict[int, list] = {}
        if sanctioned:
            for r in conn.execute(select(sanction_versions).where(sanction_versions.c.version_seq < size)):
                if r.subject in sanctioned:
                    self._versions.setdefault(r.subject, []).append(r)
            for x in conn.execute(select(exits).where(exits.c.exit_seq < size,
                                                      exits.c.kind.in_(("ended", "voided", "exempted")))):
                self._exits.setdefault(x.target_seq, []).append(x)
        self._cache: dict[tuple[str, int], list] = {}

    def payee_ref(self, scheme: str, number: str) -> str | None:
        if self._keys is None:
            return None
        key = (scheme, number)
        if key not in self._refs:
            # Fast path: the identifier as normalised forms are written (no checksum
            # work); validate and normalise (15-digit upgrade, spacing) only on a miss.
            ref = self.index.get(self._keys.blind_index(Identifier(scheme.strip().lower(), number.strip().upper())))
            if ref is None:
                try:
                    ref = self.index.get(self._keys.blind_index(normalise(scheme.strip().lower(), number)))
                except LedgerError:
                    ref = None
            self._refs[key] = ref
        return self._refs[key]

    def size_on(self, on: date) -> int:
        """The log's size at the end of the business day ``on`` (Asia/Shanghai)."""
        i = bisect.bisect_right(self._days, on.isoformat())
        return self._ends[i - 1] if i else 0

    def barred(self, subject: str, region: str, programme: str, on: date) -> tuple[int, ...]:
        """Blocking sanction seqs on ``on``, as the ledger knew it at the end of that day (Art. 66)."""
        known = min(self.size_on(on), self.size)
        key = (subject, known)
        if key not in self._cache:
            versions = self._versions.get(subject, [])
            exit_rows = [x for v in versions for x in self._exits.get(v.sanction_seq, [])]
            self._cache[key] = assemble_sanctions(versions, exit_rows, known)
        d = decide(Query(subject, "subsidy", programme, region, on), Facts(known, tuple(self._cache[key])))
        return tuple(d.blocking_seqs) if d.answer == "barred" else ()


def build_report(result: Result, book: Book, source: Source, unpaid_days: int) -> dict:
    return {"format": REPORT_FORMAT, "as_of": result.as_of.isoformat(), "tree_size": book.tree_size,
            "source": source.label, "input": {"rows": result.rows, "fingerprint": result.fingerprint},
            "unpaid_days": unpaid_days, "counts": result.counts,
            "findings": [f.to_json() for f in result.findings]}


def write_reports(directory: Path, report: dict, report_bytes: bytes) -> None:
    """report.json (the anchored bytes), findings.csv, summary.html, as one
    directory: written beside it and renamed into place (``staged_directory``),
    so a crash or a refused write leaves the old complete set or none, never a
    mix. findings.csv is for people: every cell is spreadsheet-safe (``csv_cells``)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["kind", "txn_id", "grant_ref", "subject", "seqs", "amounts", "message"])
    for f in report["findings"]:
        w.writerow(csv_cells.escape_row([f["kind"], f["txn_id"], f["grant_ref"], f["subject"],
                                         " ".join(map(str, f["seqs"])), json.dumps(f["amounts"], sort_keys=True),
                                         f["message"]]))
    try:
        with staged(directory) as stage:
            for name, data in (("report.json", report_bytes), ("findings.csv", buf.getvalue().encode()),
                               ("summary.html", _html(report).encode())):
                write_file(stage / name, data)
    except OSError as e:
        raise ConfigError(f"out: cannot write the reports to {directory}: {e.strerror or e}") from e


def _html(report: dict) -> str:
    e = html.escape
    rows = "".join(f"<tr><td>{e(k)}</td><td>{n}</td></tr>" for k, n in report["counts"].items())
    items = "".join(f"<tr><td>{e(f['kind'])}</td><td>{e(f['txn_id'] or '')}</td><td>{e(f['grant_ref'] or '')}</td>"
                    f"<td>{e(f['message'])}</td></tr>" for f in report["findings"][:500])
    more = len(report["findings"]) - 500
    return (f"<!doctype html><meta charset=utf-8><title>Reconciliation {e(report['as_of'])}</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;border-bottom:1px solid #ddd}</style>"
            f"<h1>Reconciliation as of {e(report['as_of'])}</h1>"
            f"<p>Ledger tree size {report['tree_size']}; source {e(report['source'])}, {report['input']['rows']} rows "
            f"(fingerprint <code>{e(report['input']['fingerprint'])}</code>).</p>"
            f"<h2>Findings by kind</h2><table><tr><th>kind</th><th>count</th></tr>{rows}</table>"
            f"<h2>Findings</h2><table><tr><th>kind</th><th>txn_id</th><th>grant_ref</th><th>what</th></tr>{items}</table>"
            + (f"<p>… and {more} more in findings.csv.</p>" if more > 0 else "")
            + "<p>The full report is report.json; its SHA-256 is anchored in the ledger "
              "(a <code>reconciliation.completed</code> entry).</p>")


@dataclass
class Produced:
    result: Result
    report: dict
    report_sha256: str
    directory: Path


def report_directory(out_dir: Path, as_of: date) -> Path:
    return out_dir / f"reconciliation-{as_of.isoformat()}"


def refused_directory(out_dir: Path, as_of: date, digest: str) -> Path:
    """Where a refused run's result goes: beside the anchored one, never over it."""
    return out_dir / f"reconciliation-{as_of.isoformat()}.refused-{digest[:8]}"


def produce(engine: Engine, vault: Vault | None, source: Source, as_of: date, out_dir: Path, *,
            now: datetime, unpaid_days: int = 90, progress: Callable[[str], None] | None = None) -> Produced:
    """Reconcile ``source`` as of ``as_of`` and write the reports (nothing is appended).

    ``as_of`` must be a finished business day at ``now``, and not before the log's
    first entry. A night already anchored is never written over: the same report
    leaves the anchored directory as it is; another report is written beside it
    (``refused_directory``) and refused with ``AnchorMismatch``."""
    check_window(as_of, unpaid_days)
    check_finished(as_of, now)
    say = progress or (lambda _: None)
    with engine.connect() as conn:
        previous = anchored(conn, as_of, source.label)
        current = log_store.size(conn)
        size = previous.body["tree_size"] if previous else size_at_end_of(conn, as_of, current)
        if size == 0:
            raise ValidationError([Problem("as_of", f"{as_of} is before the log's first entry: there is nothing "
                                                    "in the ledger to reconcile against")])
        say(f"reading the ledger at tree size {size}")
        # Facts from the verified log only (decision 0019): the projection rows the
        # night reads must be what the log's first `size` entries make, else
        # ProjectionDrift (nothing written, nothing anchored).
        checked = projection_check.check(conn, size, projection_check.NIGHT_TABLES, beyond=False)
        say(f"{checked} projection rows match the log")
        pass_one = _start_scan(source, as_of)  # on the other core, while the book loads
        book = load_book(conn, size, as_of)
        look = Lookups(conn, vault, size, book.sanctioned, business_day.recorded_before_end_of(as_of))
        say(f"{len(book.grants)} grants, {len(book.clawbacks)} clawbacks; streaming {source.label}")
        table = plain_table(source)  # a plain CSV as columns (decision 0025), read while pass 1 ends
        result = reconcile(source.rows, book, as_of, payee_ref=look.payee_ref, barred=look.barred,
                           unpaid_days=unpaid_days, scanned=_finish_scan(pass_one), table=table)
    report = build_report(result, book, source, unpaid_days)
    report_bytes = canonical.encode(report)
    digest = hashlib.sha256(report_bytes).hexdigest()
    directory = report_directory(out_dir, as_of)
    if previous is not None and previous.body["report_sha256"] != digest:
        # Refused. The anchored reports stay as they are; this run's go beside them,
        # for whoever investigates. A crash while writing leaves no refused directory
        # (staged) and the anchored one untouched.
        refused = refused_directory(out_dir, as_of, digest)
        if not _holds(refused, digest):
            write_reports(refused, report, report_bytes)
        with engine.connect() as conn:
            erased_since = erasures(conn, since=size)
        raise _mismatch(report, previous.seq, previous.body["report_sha256"], digest, refused, erased_since)
    if previous is not None:
        # Anchored and reproduced: the directory on disk is the anchored one. Written only
        # if it is missing (deleted, or a crash between two renames); never replaced.
        if not directory.exists():
            write_reports(directory, report, report_bytes)
        elif not _holds(directory, digest):
            raise ConfigError(f"out: {directory}/report.json is not the anchored report {digest} (seq "
                              f"{previous.seq}); it is left as it is: investigate, and move it aside to restore")
        return Produced(result, report, digest, directory)
    if directory.exists() and not _same_system(_source_of(directory), source.label):
        raise ConfigError(f"out: {directory} holds the reconciliation of {_source_of(directory)}; use another "
                          f"--out (ledger_report_dir) for {source.label}")
    # Not anchored yet: an earlier unanchored run's reports (a crash before the
    # anchor) may be replaced. Reports first; a crash before the anchor leaves
    # reports and no anchor, and the re-run writes them again and anchors them.
    write_reports(directory, report, report_bytes)
    return Produced(result, report, digest, directory)


def _holds(directory: Path, digest: str) -> bool:
    """Whether ``directory`` has a report.json whose SHA-256 is ``digest``."""
    try:
        return hashlib.sha256((directory / "report.json").read_bytes()).hexdigest() == digest
    except OSError:
        return False


def _source_of(directory: Path) -> str | None:
    """The source a report directory's report.json names, or None if it has none readable."""
    try:
        return canonical.decode((directory / "report.json").read_bytes()).get("source")
    except (OSError, ValueError, AttributeError):
        return None


def _same_system(found: str | None, label: str) -> bool:
    """Whether a report directory's source is ``label`` (or unreadable, or a legacy
    ``csv:<file name>`` for the unnamed CSV identity: see ``anchored``)."""
    return found is None or found == label or (label == "csv" and found.startswith("csv:"))


def check_finished(as_of: date, now: datetime) -> None:
    """A night is reconciled once its business day is over (Asia/Shanghai): before
    that, payments of the day are still being booked and the ledger still moving."""
    if not business_day.is_finished(as_of, now):
        raise ValidationError([Problem("as_of", f"{as_of} is not finished: the day is not finished until "
                                                f"{business_day.end_of(as_of).isoformat()} ({business_day.ZONE_NAME} "
                                                f"midnight); the latest day that can be reconciled now is "
                                                f"{business_day.last_finished(now)}")])


def check_window(as_of: date, unpaid_days: int) -> None:
    """The dates the run computes with exist (``date`` ends at 9999-12-31)."""
    if not 0 <= unpaid_days <= 36_600:
        raise ValidationError([Problem("unpaid_days", "must be a number of days from 0 to 36600")])
    if as_of < date.min + timedelta(days=unpaid_days):
        raise ValidationError([Problem("as_of", f"must be at least {unpaid_days} days after {date.min}")])


# Below this a process start (~0.5 s of imports) costs more than pass 1 saves.
PARALLEL_SCAN_BYTES = 8 << 20


def _start_scan(source: Source, as_of: date) -> Future | None:
    """Pass 1 (fingerprint and reversals) of a large CSV in a spawned process, or
    None to run it in line. It reads only the file, so it overlaps loading the
    book (bench/reconcile.py: ~2.5 s of 1M rows x 200k grants)."""
    inner = getattr(source, "source", source)  # under a progress wrapper (cli), the file itself
    try:
        if not isinstance(inner, CsvSource) or inner.path.stat().st_size < PARALLEL_SCAN_BYTES:
            return None
    except OSError:
        return None  # gone since it was opened: pass 1 in line says so as a typed error
    try:
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        job = pool.submit(scan, inner.rows, as_of)
        pool.shutdown(wait=False)  # the worker exits when the job is done
        return job
    except (OSError, RuntimeError, pickle.PicklingError):
        return None  # no process to be had: the pass runs in line


def _finish_scan(job: Future | None) -> Scan | None:
    if job is None:
        return None
    try:
        return job.result()
    except (BrokenProcessPool, OSError):
        return None  # the worker died: reconcile() runs pass 1 itself, same result
    except LedgerError:
        return None  # a bad input: pass 1 in line raises it again, here, with its message intact


def anchor(engine: Engine, keyring: Keyring, directory: Path, clock: Clock) -> Entry:
    """Append the ``reconciliation.completed`` entry for the report in ``directory``
    (its SHA-256 recomputed from the file). Idempotent per as-of date and source."""
    data = (directory / "report.json").read_bytes()
    report = canonical.decode(data)
    digest = hashlib.sha256(data).hexdigest()
    as_of = date.fromisoformat(report["as_of"])
    body = {"as_of": report["as_of"], "tree_size": report["tree_size"], "source": report["source"],
            "input_rows": report["input"]["rows"], "input_fingerprint": report["input"]["fingerprint"],
            "unpaid_days": report["unpaid_days"], "counts": report["counts"], "report_sha256": digest}
    draft = Draft("reconciliation.completed", OPERATOR, "reconciler", None, (),
                  anchor_request_id(as_of, report["source"]), body)
    with engine.connect() as conn:
        previous = anchored(conn, as_of, report["source"])
    if previous is not None:
        # Anchored already (a legacy key, or a run that anchored since this one
        # produced): the same report appends nothing; another is refused.
        if previous.body["report_sha256"] == digest:
            return previous
        raise _mismatch(report, previous.seq, previous.body["report_sha256"], digest, directory)
    try:
        return append_entries(engine, [draft], keyring, clock)[0]
    except RequestConflict as e:
        with engine.connect() as conn:
            previous = anchored(conn, as_of, report["source"])
        raise _mismatch(report, e.seq, previous.body["report_sha256"] if previous else "?", digest, directory) from e


def _mismatch(report: dict, seq: int, anchored_sha256: str, digest: str, kept: Path,
              erased_since: dict[str, int] | None = None) -> AnchorMismatch:
    why = "The input or the ledger's side changed: investigate, do not re-anchor."
    if erased_since:
        # Decision 0019: the one documented way a past night stops being reproducible
        # with the same input and log. The anchored report stands.
        seqs = ", ".join(str(s) for s in sorted(erased_since.values())[:5])
        why = (f"{len(erased_since)} subject(s) were erased after this night's tree size {report['tree_size']} "
               f"(subject.erased at seq {seqs}{', …' if len(erased_since) > 5 else ''}): their identifiers are gone "
               "from the vault (PIPL Art. 47), so their payees can no longer be matched as they were; if the input "
               "is unchanged, that is the difference, and the anchored report stands. Do not re-anchor.")
    return AnchorMismatch(
        f"as_of: the reconciliation of {report['source']} for {report['as_of']} was anchored at seq {seq} with "
        f"report {anchored_sha256}; this run's report is {digest} (input {report['input']['fingerprint']}), "
        f"kept in {kept}. {why}")


def run(engine: Engine, keyring: Keyring, vault: Vault | None, source: Source, as_of: date, out_dir: Path,
        clock: Clock, *, now: datetime, unpaid_days: int = 90,
        progress: Callable[[str], None] | None = None) -> Outcome:
    """The whole job: reconcile, write the reports, anchor. ``now`` decides whether
    the as-of day is over; ``clock`` stamps the anchor."""
    p = produce(engine, vault, source, as_of, out_dir, now=now, unpaid_days=unpaid_days, progress=progress)
    return Outcome(p.result, p.report, p.report_sha256, anchor(engine, keyring, p.directory, clock), p.directory)
