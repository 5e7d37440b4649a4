"""bench/run.py turns the scripts' JSON into docs/benchmarks.md: each target is
judged from the measured figure, a missing script is reported as not measured,
and no marker is left behind. (The scripts' timings are never asserted.)"""

from __future__ import annotations

import json
import re

import pytest

from bench import run


def _append(eps: float, nosig_ratio: float) -> dict:
    bulk = {"ledger_eps": eps, "ledger_nosig_eps": eps * 1.3, "plain_eps": 50_000.0, "schema_eps": 30_000.0,
            "ledger_us_per_row": 1e6 / eps, "ledger_nosig_us_per_row": 20.0 * nosig_ratio, "plain_us_per_row": 20.0,
            "schema_us_per_row": 33.3, "ratio": 2.5 * nosig_ratio, "ratio_nosig": nosig_ratio,
            "ratio_schema": 3.0, "ratio_nosig_schema": 2.4, "sign_us_per_entry": 48.0}
    lat = {"ledger_p50_ms": 2.0, "ledger_p99_ms": 3.0, "plain_p50_ms": 0.3, "plain_p99_ms": 0.5,
           "ledger_rate": 450.0, "plain_rate": 2700.0}
    prof = {"batch": 5000, "categories": {"signing": {"share": 0.2}, "  of which idempotency lookup": {"share": 0.02}}}
    return {"params": {"bulk_entries": 20000, "batch": 1000, "runs": 5, "single_calls": 300,
                       "concurrent_writers": 8, "concurrent_per_writer": 50, "profile_batch": 5000},
            "environment": {"servers": {"sqlite": "SQLite 3.40.1", "postgresql": "15.18"}},
            "engines": {"sqlite": {"bulk": bulk, "single": lat, "concurrent": lat, "profile": prof}}}


def _abuse(attack_p99_ratio: float) -> dict:
    """bench/abuse.py's JSON, cut down to what the report reads (two runs)."""
    def cell(p50: float, p99: float, checks: int, cpu: float, **more) -> dict:
        return {"p50_ms": p50, "p99_ms": p99, "checks": checks, "server_cpu_share": cpu, **more}

    def window(checks: int, max_ms: float) -> dict:
        return {"checker": {"checks": checks, "max_ms": max_ms}}

    run = {m: {"idle": window(125, 20.0), "attack": window(1 if m == "off" else 124, 12_345.0 if m == "off" else 25.0),
               "costliest": window(22 if m == "off" else 120, 610.0 if m == "off" else 97.0)} for m in ("on", "off")}
    return {"params": {"entries": 6000, "runs": 2, "seconds": 5.0, "abusers": 4, "warmup": 20, "checks_per_s": 25,
                       "abuser_role": "auditor"},
            "ledger": {"entries": 6000, "seed": 1, "tree_size": 6032, "build_s": 70.0, "cached": False},
            "queries": {"limit": 50_000, "attack": 1_803_016, "costliest": 40_102},
            "limits": {"on": {"max_cost": 50_000, "cost_per_second": 25_000, "cost_burst": 100_000,
                              "max_in_flight": 2}},
            "runs": [run, run],
            "summary": {
                "on": {"idle": cell(9.1, 15.3, 125, 0.19),
                       "attack": cell(9.5, 15.3 * attack_p99_ratio, 124, 0.21, ratio_p50=1.04,
                                      ratio_p99=attack_p99_ratio, abuser_outcomes={"cost_exceeded": 10,
                                                                                   "rate_limited": 61},
                                      abuser_mib_per_run=0.01),
                       "costliest": cell(9.9, 80.8, 120, 0.32, ratio_p50=1.08, ratio_p99=5.33,
                                         abuser_outcomes={"answered": 14, "rate_limited": 48},
                                         abuser_mib_per_run=0.2)},
                "off": {"idle": cell(9.7, 19.3, 124, 0.19),
                        "attack": cell(10_152.1, 10_152.1, 1, 0.89, ratio_p50=1052.83, ratio_p99=562.7,
                                       abuser_outcomes={"answered": 8}, abuser_mib_per_run=80.4),
                        "costliest": cell(235.2, 464.7, 22, 0.99, ratio_p50=24.67, ratio_p99=24.87,
                                          abuser_outcomes={"answered": 87}, abuser_mib_per_run=1.2)}}}


def _imports(sqlite_p99: float, postgresql_p99: float, failures: int = 0) -> dict:
    def engine(p99: float) -> dict:
        way = {"import_s": 40.0, "rate": 2_500.0, "p50": 0.1, "p99": p99, "max": p99 + 0.1, "failures": failures}
        return {"batch": way | {"p99": 0.05, "max": 30.0}, "chunks": way, "chunk_rate_ratio": 0.6}
    return {"n": 100_000, "runs": 1, "mix": "domain",
            "engines": {"sqlite": engine(sqlite_p99), "postgresql": engine(postgresql_p99)}}


def _data(**over) -> dict[str, dict]:
    proofs = {"proofs": [{"size": s, "inclusion_ms": 0.6, "consistency_ms": 0.7, "pk_lookup_ms": 0.06, "build_s": 1.0,
                          "pymerkle": {"inmemory": {"inclusion_ms": 0.05, "consistency_ms": 0.05,
                                                    "inclusion_ratio": 12.0},
                                       "sqlite": {"inclusion_ms": 6.8, "consistency_ms": 7.0,
                                                  "inclusion_ratio": 0.09}}}
                         for s in (10_000, 1_000_000)]}
    verify = {"full": {"entries": 100_000, "runs": 3, "one_core_eps": 10_000.0, "two_cores_eps": 17_000.0,
                       "read_rows_eps": 400_000.0, "signatures_only_eps": 31_000.0, "speedup": 1.7,
                       "share_of_ceiling": 0.55},
              "incremental": {"base": 1_000_000, "new_entries": 10_000, "runs": 3, "incremental_s": 0.8,
                              "incremental_eps": 12_500.0}}
    status = {"entries": 1_000_000, "subjects": 100_000, "build_s": 30.0, "eligibility_ms": 0.97,
              "eligibility_known_at_ms": 1.1, "status_ms": 1.8, "pk_lookup_ms": 0.1, "eligibility_vs_lookup": 9.7}
    side = {"seq_p50_ms": 4.0, "seq_p99_ms": 8.0, "seq_rps": 200.0, "conc_rps": 190.0, "conc_p50_ms": 40.0,
            "conc_p99_ms": 90.0, "conc_server_cpu_ms_per_req": 4.0, "conc_errors": 0}
    api = {"params": {"sample": 200, "runs": 5, "clients": 8, "seconds": 5.0},
           "ledger": {"entries": 1_000_000, "subjects": 100_000, "build_s": 20.0, "cached": False},
           "sample": {"answers": {"barred": 59, "eligible": 83}},
           "summary": {"api": side, "bare": side | {"seq_p50_ms": 2.5},
                       "ratio": {"p50": 1.6, "p99": 1.7, "seq_rps": 0.6, "conc_rps": 0.6, "conc_p50": 1.7,
                                 "conc_p99": 1.5, "cpu_per_req": 1.7},
                       "in_process": {k: {"p50_ms": 1.0, "p99_ms": 2.0}
                                      for k in ("eligibility", "resolve_eligibility", "pk_lookup")}},
           "targets": {"graphql_cost": {"seq_p50": 1.6, "conc_rps": 1.65, "cpu_per_req": 1.7}}}
    rec = {"params": {"txns": 1_000_000, "grants": 200_000, "runs": 3},
           "ledger": {"wall_s": 15.0, "peak_rss_mib": 624.0, "rows_per_s": 66_000.0},
           "pandas": {"wall_s": 9.0, "peak_rss_mib": 1000.0, "rows_per_s": 110_000.0},
           "ratio": {"time": 1.67, "memory": 0.62}, "findings_equal": True,
           "counts": {"ledger": {"overpaid": 1000}, "pandas": {"overpaid": 1000}, "injected": {"overpaid": 1000}}}
    export = {"entries_about_subject": 1000, "bundle_entries": 1003, "bundle_bytes": 2_000_000, "runs": 5,
              "export_s": 3.0, "verify_s": 0.4, "baseline_read_and_zip_s": 0.04, "export_over_baseline": 75.0}
    d = {"append": _append(11_000.0, 4.8), "proofs": proofs, "verify": verify, "status": status, "api": api,
         "reconcile": rec, "export": export, "abuse": _abuse(1.4), "imports": _imports(0.9, 1.2)}
    d.update(over)
    return d


def _write(tmp_path, data: dict) -> None:
    for name, d in data.items():
        if d is not None:
            (tmp_path / f"{name}.json").write_text(json.dumps(d))


class _Verdicts:
    """The targets table: ``v[prefix]`` is the verdict of the one row starting with ``prefix``."""

    def __init__(self, text: str):
        self.rows = []
        for line in text.splitlines():
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) == 5 and cells[3] in ("**met**", "not met", "not measured"):
                self.rows.append((cells[0], cells[3]))

    def __getitem__(self, prefix: str) -> str:
        (verdict,) = [v for target, v in self.rows if target.startswith(prefix)]
        return verdict


def test_each_target_is_judged_from_its_figure(tmp_path):
    _write(tmp_path, _data())
    text = run.render(tmp_path, {}, quick=False)
    v = _Verdicts(text)
    assert v["Bulk append ≥ 10,000 entries/s on SQLite"] == "**met**"
    assert v["… and within 3× of the plain insert per r"] == "not met"  # 4.8x
    assert v["Proof generation < 5 ms at 1,000,000 entri"] == "**met**"
    assert v["Eligibility < 2 ms in-process at 1,000,00"] == "**met**"
    assert v["GraphQL within 3× of a bare Starlette end"] == "**met**"
    assert v["Full verify on both cores ≥ 85% of the sa"] == "not met"  # 55% of the ceiling
    assert v["A write while a 100,000-entry import runs in chunks (SQLite)"] == "**met**"
    assert v["A write while a 100,000-entry import runs in chunks (PostgreSQL)"] == "not met"  # p99 1.2 s
    assert v["Reconciliation of 1,000,000 transactions"] == "**met**"
    assert v["… and faster than the pandas baseline (sa"] == "not met"  # 1.67x pandas
    assert v["Pre-award checks while the reported attac"] == "**met**"  # 1.04x / 1.4x idle
    assert "<!-- bench:" not in text


@pytest.mark.parametrize("name,change,row,verdict", [
    ("append", _append(9_999.0, 2.9), "Bulk append ≥ 10,000 entries/s on SQLite", "not met"),
    ("append", _append(9_999.0, 2.9), "… and within 3× of the plain insert per r", "**met**"),
    ("reconcile", None, "Reconciliation within 60 s and 1 GiB, fast", "not measured"),
    ("abuse", _abuse(2.5), "Pre-award checks while the reported attac", "not met"),
    ("abuse", None, "Pre-award checks while the reported attac", "not measured"),
    ("verify", {**_data()["verify"], "full": {**_data()["verify"]["full"], "share_of_ceiling": 0.86}},
     "Full verify on both cores ≥ 85% of the sa", "**met**"),
    ("imports", _imports(0.9, 0.9), "A write while a 100,000-entry import runs in chunks (PostgreSQL)", "**met**"),
    ("imports", _imports(0.9, 0.9, failures=1), "A write while a 100,000-entry import runs in chunks (SQLite)",
     "not met"),
])
def test_a_changed_or_missing_figure_changes_the_verdict(tmp_path, name, change, row, verdict):
    _write(tmp_path, _data(**{name: change}))
    text = run.render(tmp_path, {name: {"rc": 1, "wall_s": 3.0}} if change is None else {}, quick=False)
    assert _Verdicts(text)[row] == verdict
    if change is None:
        assert re.search(rf"\*\*Not measured\*\*: `.venv/bin/python bench/{name}.py[^`]*` exited with 1", text)


def test_the_scripts_own_output_is_kept_beside_the_tables(tmp_path):
    _write(tmp_path, _data())
    (tmp_path / "verify.txt").write_text("full verify table as printed\n")
    text = run.render(tmp_path, {"verify": {"rc": 0, "wall_s": 61.0}}, quick=True)
    assert "full verify table as printed" in text
    assert "Command: `.venv/bin/python bench/verify.py --quick`" in text
    assert "verify 61 s" in text


def test_the_abuse_section_is_built_from_its_json(tmp_path):
    _write(tmp_path, _data())
    text = run.render(tmp_path, {}, quick=False)
    section = text[text.index("## 7. Pre-award checks under abuse"):]
    assert "Command: `.venv/bin/python bench/abuse.py --runs 2 --seconds 5`" in section
    assert ("Demo ledger (`ledger demo --entries 6000 --seed 1`, 6,032 entries, built in 70.0 s); 4 abusive clients "
            "on one auditor token; estimated cost of the attack 1,803,016, of the costliest admitted query 40,102, "
            "limit 50,000") in section
    rows = [line for line in section.splitlines() if line.startswith("| limits on") or line.startswith("| baseline")]
    assert rows == [
        "| limits on | idle | 125 | 9.1 | 15.3 |  |  | 19% |  |  |",
        "| limits on | attack | 124 | 9.5 | 21.4 | **1.04×** | **1.40×** | 21% | 61 `rate_limited`, 10 `cost_exceeded`"
        " | 0.0 |",
        "| limits on | costliest admitted | 120 | 9.9 | 80.8 | **1.08×** | **5.33×** | 32% | 48 `rate_limited`, "
        "14 answered | 0.2 |",
        "| baseline: limits off | idle | 124 | 9.7 | 19.3 |  |  | 19% |  |  |",
        "| baseline: limits off | attack | 1 | 10,152.1 | 10,152.1 | 1,053× | 563× | 89% | 8 answered | 80.4 |",
        "| baseline: limits off | costliest admitted | 22 | 235.2 | 464.7 | 25× | 25× | 99% | 87 answered | 1.2 |"]
    assert ("Per run: baseline: limits off, attack: 1 / 1 checks, the slowest after 12.35 / 12.35 s" in section)
    assert "runs 2 at once, then one every 1.6 s per token" in section
    assert "Cannot render" not in section


@pytest.mark.parametrize("args,skip", [(["--only", "abuse"], {"abuse"}), (["--render"], set())])
def test_the_report_keeps_sections_it_has_no_json_for(tmp_path, monkeypatch, capsys, args, skip):
    """--only and --render refuse to turn docs/benchmarks.md's other sections into 'Not measured'."""
    missing = ", ".join(name for name, *_ in run.SCRIPTS if name not in skip)
    assert missing.startswith("append, ") and ("abuse" in missing) == (not skip)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "benchmarks.md").write_text("the last full report\n")
    monkeypatch.setattr(run, "ROOT", tmp_path)
    monkeypatch.setattr(run, "run_script", lambda *a: pytest.fail("ran a script"))
    monkeypatch.setattr("sys.argv", ["run.py", *args])
    with pytest.raises(SystemExit) as e:
        run.main()
    assert e.value.code == 2
    assert f"holds no JSON for {missing}, so rendering" in capsys.readouterr().err
    assert (tmp_path / "docs" / "benchmarks.md").read_text() == "the last full report\n"
