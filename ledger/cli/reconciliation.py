"""Reconciliation with the funding systems: ``ledger reconcile``; the simulated
funding system, ``ledger demo-funding``, and ``ledger score-findings`` (a
report against its ground truth)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ledger.cli.edge import db_option, echo_json, edge, json_option, now, parse_date, progress_bar, settings_for
from ledger.cli.root import main
from ledger.store.engine import make_engine


class _Counted:
    """A source wrapper that advances a progress bar as rows stream past."""

    def __init__(self, source, bar, task):
        self.source, self.bar, self.task, self.label = source, bar, task, source.label

    def rows(self):
        for i, row in enumerate(self.source.rows(), 1):
            if i % 5000 == 0:
                self.bar.update(self.task, advance=5000)
            yield row


@main.command("reconcile")
@click.option("--funding", "funding", required=True,
              help="A CSV file (UTF-8; docs/contracts.md §2.5) or an SQLAlchemy URL. See docs/reconciliation.md.")
@click.option("--funding-table", default=None, help="With a URL: the table or view (default funding_transactions).")
@click.option("--funding-name", default=None,
              help="With a CSV file: which funding system it comes from, when several deliver files (the anchor's "
                   "key; the file's name is not).")
@click.option("--as-of", "as_of", default=None,
              help="Business day to reconcile, a finished day in Asia/Shanghai (default: yesterday there).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("var/reports"), show_default=True)
@click.option("--unpaid-days", default=90, show_default=True, help="Report grants unpaid after this many days.")
@db_option
@json_option
@edge
def reconcile_cmd(funding, funding_table, funding_name, as_of, out_dir, unpaid_days, db_url, as_json):
    """Reconcile the funding system's payments and recoveries with the ledger; write
    report.json, findings.csv and summary.html; anchor the run in the log."""
    from ledger.finance import business_day
    from ledger.finance import job as reconcile
    from ledger.finance.sources import open_source
    from ledger.log.operator import load_keyring

    s = settings_for(db_url)
    engine = make_engine(s.database_url)
    at = now()  # the one reading of the clock: is the day over (docs/reconciliation.md)
    day = parse_date(as_of) if as_of else business_day.last_finished(at)
    reconcile.check_finished(day, at)
    source = open_source(funding, funding_table, funding_name)
    vault = s.vault() if s.vault_key_file.exists() else None
    with progress_bar("reconcile") as bar:
        task = bar.add_task("rows", total=None)
        out = reconcile.run(engine, load_keyring(engine, s), vault, _Counted(source, bar, task), day, out_dir, now,
                            now=at, unpaid_days=unpaid_days, progress=lambda msg: bar.update(task, description=msg))
    if as_json:
        click.echo(json.dumps({"as_of": day.isoformat(), "anchor_seq": out.entry.seq, "report_sha256": out.report_sha256,
                               "tree_size": out.report["tree_size"], "rows": out.result.rows,
                               "counts": out.result.counts, "directory": str(out.directory)}))
        return
    click.echo(f"reconciled {out.result.rows} rows as of {day} against tree size {out.report['tree_size']}")
    for kind, n in out.result.counts.items():
        if n:
            click.echo(f"  {kind:<22} {n}")
    click.echo(f"anchored at seq {out.entry.seq} (report sha256 {out.report_sha256})\nreports in {out.directory}")


@main.command("demo-funding")
@click.option("--as-of", "as_of", default=None,
              help="Book up to this business day (default: yesterday in Asia/Shanghai, the last finished day).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("var/funding"), show_default=True)
@click.option("--seed", default=1, show_default=True)
@click.option("--per-kind", default=3, show_default=True, help="Injected discrepancies of each kind.")
@click.option("--unpaid-days", default=90, show_default=True)
@db_option
@json_option
@edge
def demo_funding(as_of, out_dir, seed, per_kind, unpaid_days, db_url, as_json):
    """Write a simulated funding system's transactions for the demo ledger (funding.csv),
    with seeded discrepancies of every kind, and the ground truth (ground-truth.json)."""
    from ledger.demo.funding import simulate
    from ledger.finance.business_day import last_finished
    from ledger.finance.sources import write_csv
    from ledger.signing.private_files import private_dir, write_private

    s = settings_for(db_url)
    day = parse_date(as_of) if as_of else last_finished(now())
    sim = simulate(make_engine(s.database_url), s.vault(), day, seed=seed, per_kind=per_kind, unpaid_days=unpaid_days)
    private_dir(out_dir)
    write_csv(out_dir / "funding.csv", sim.txns)
    write_private(out_dir / "ground-truth.json", json.dumps({"as_of": day.isoformat(), "seed": seed,
                                                             "unpaid_days": unpaid_days, "findings": sim.truth},
                                                            ensure_ascii=False, indent=1))
    if as_json:
        click.echo(json.dumps({"rows": len(sim.txns), "expected": len(sim.truth), "directory": str(out_dir)}))
    else:
        click.echo(f"wrote {len(sim.txns)} transactions and {len(sim.truth)} expected findings to {out_dir}")


@main.command("score-findings")
@click.argument("report", type=click.Path(exists=True, path_type=Path))
@click.argument("truth", type=click.Path(exists=True, path_type=Path))
@json_option
@edge
def score_findings(report, truth, as_json):
    """Precision and recall of a reconciliation report against a ground-truth file
    (from demo-funding). Exit 1 unless both are 1.0."""
    from ledger.demo.funding import score

    result = score({"findings": _findings(report, "report")}, _findings(truth, "truth"))
    summary = (f"precision {result['precision']:.3f}  recall {result['recall']:.3f}  "
               f"({result['found']} found, {result['expected']} expected)")
    below = result["precision"] < 1 or result["recall"] < 1
    if as_json:
        # Below 1.0 is a failed check (exit 1): one JSON error object, the score in it.
        echo_json({"ok": False, "error": "ScoreBelowOne", "message": summary, "exit_code": 1, **result}
                  if below else result)
    else:
        click.echo(summary)
        for k, t, g in result["missing"]:
            click.echo(f"  missing     {k} txn={t} grant={g}")
        for k, t, g in result["unexpected"]:
            click.echo(f"  unexpected  {k} txn={t} grant={g}")
    if below:
        sys.exit(1)


def _findings(path: Path, what: str) -> list[dict]:
    """The ``findings`` of a report or ground-truth file, each with text (or null)
    ``kind``, ``txn_id`` and ``grant_ref``; else a ValidationError naming the file."""
    from ledger.errors import Problem, ValidationError

    def refuse(rule: str) -> ValidationError:
        return ValidationError([Problem(what, f"{path}: {rule}")])

    try:
        doc = json.loads(path.read_bytes())
    except (ValueError, OSError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise refuse(f"is not a JSON file ({e})") from e
    findings = doc.get("findings") if isinstance(doc, dict) else None
    if not isinstance(findings, list):
        raise refuse("has no \"findings\" list (a report.json, or demo-funding's ground-truth.json)")
    for i, f in enumerate(findings):
        if not (isinstance(f, dict) and isinstance(f.get("kind"), str)
                and all(f.get(k) is None or isinstance(f.get(k), str) for k in ("txn_id", "grant_ref"))):
            raise refuse(f"finding {i} is not an object with text kind, txn_id and grant_ref")
    return findings
