"""One verification, three routes (docs/evidence.md, "Verdicts"; decision 0017): every
case of the shared tamper corpus (tests/tamper_corpus.py) gets the same exit code and
the same failure name from

- ``ledger verify-bundle --json`` (the CLI, in process);
- the bundled ``verify_bundle.py`` as a court runs it: a separate ``python -I -S``
  process that can import the standard library and ``cryptography`` (with the
  ``cffi`` it needs) and nothing else, not the ledger;
- the console's browser verifier (``ledger/console/static/js/verify/bundle.js``) in
  headless Chromium.

And each gets the verdict the corpus says: a tampered bundle fails by the check that
must catch it, a malformed one is "unreadable" with a JSON object under ``--json``
(never a traceback), and without a trusted key nothing is a plain OK.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger.cli import main
from ledger.evidence import standalone
from ledger.evidence.report import VERIFY_SCRIPT
from tests import tamper_corpus as tc
from tests import test_hostile_bundle as hb
from tests.test_v2_readers import page  # noqa: F401 - the headless Chromium page fixture

world = hb.world  # the real export the corpus mutates (a module-scoped fixture)

Verdict = tuple[int, "str | None"]


@pytest.fixture(scope="module")
def corpus(world) -> dict[str, tc.Case]:
    return tc.corpus(world)


@pytest.fixture(scope="module")
def court(tmp_path_factory) -> tuple[Path, Path]:
    """(python -I -S runner, verify_bundle.py) with only cryptography and cffi beside the standard library."""
    import cryptography

    d = tmp_path_factory.mktemp("court")
    site = d / "site"
    site.mkdir()
    packages = Path(cryptography.__file__).resolve().parent.parent
    for name in ("cryptography", "cffi", "pycparser"):
        if (packages / name).exists():
            (site / name).symlink_to(packages / name)
    for backend in packages.glob("_cffi_backend*"):
        (site / backend.name).symlink_to(backend)
    runner = d / "run.py"
    runner.write_text(f"import runpy, sys\nsys.path.insert(0, {str(site)!r})\nsys.argv = sys.argv[1:]\n"
                      "runpy.run_path(sys.argv[0], run_name='__main__')\n", encoding="utf-8")
    script = d / "verify_bundle.py"
    script.write_text(VERIFY_SCRIPT, encoding="utf-8")
    return runner, script


def run_court(court, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    runner, script = court
    return subprocess.run([sys.executable, "-I", "-S", str(runner), str(script), *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


# --- the three routes --------------------------------------------------------------------------

def cli_verdict(path: Path, vkey: str | None) -> Verdict:
    r = CliRunner().invoke(main, ["verify-bundle", str(path), "--json", *(["--log-vkey", vkey] if vkey else [])])
    assert "Traceback" not in r.output, r.output
    out = json.loads(r.stdout)  # always one JSON object
    assert out["exit_code"] == r.exit_code, out
    return r.exit_code, out["check"]


def script_verdict(court, path: Path, vkey: str | None) -> Verdict:
    r = run_court(court, str(path), "--json", *(["--log-vkey", vkey] if vkey else []))
    assert r.stderr == "", r.stderr  # no traceback, no warning
    out = json.loads(r.stdout)
    assert out["exit_code"] == r.returncode, out
    return r.returncode, out["check"]


BROWSER = """async ({cases, vkey}) => {
    const bundle = await import("/console/static/js/verify/bundle.js");
    const bytes = await import("/console/static/js/verify/bytes.js");
    const note = await import("/console/static/js/verify/note.js");
    const pinned = await note.parseVkey(vkey);
    const out = {};
    for (const [name, [zip, trusted]] of Object.entries(cases)) {
        try {
            const r = await bundle.verifyBundle(bytes.b64decode(zip), trusted ? pinned : null);
            out[name] = [r.pinned ? 0 : 3, null];
        } catch (e) {
            // a crash is not a rejection: it is reported as itself
            out[name] = e instanceof bytes.VerifyError ? [bundle.CHECKS[e.check] ?? -1, e.check] : [-1, `crash: ${e}`];
        }
    }
    return out;
}"""


def browser_verdicts(page, w: hb.World, cases: dict[str, tc.Case]) -> dict[str, Verdict]:  # noqa: F811
    payload = {n: [base64.b64encode(c.data).decode(), c.trusted] for n, c in cases.items()}
    return {n: tuple(v) for n, v in page.evaluate(BROWSER, {"cases": payload, "vkey": w.vkey}).items()}


def test_the_corpus_is_the_shared_one(corpus):
    """Every kind the bundle tests know, the falsifications, malformed zips and manifests, no-key cases."""
    kinds = {name.split(":")[0] for name in corpus}
    assert {"container", "manifest", "content", "passing", "no trusted key", "encoding"} <= kinds, kinds
    assert {c.exit_code for c in corpus.values()} == {0, 1, 2, 3}
    assert len(corpus) >= 90
    assert set(standalone.CHECKS) >= {c.check for c in corpus.values() if c.check}


def test_three_routes_one_verdict(world, corpus, court, page, tmp_path):  # noqa: F811
    browser = browser_verdicts(page, world, corpus)
    got, wrong = {}, {}
    for name, case in corpus.items():
        path = tmp_path / f"{uuid.uuid4().hex}.zip"
        path.write_bytes(case.data)
        vkey = world.vkey if case.trusted else None
        got[name] = (cli_verdict(path, vkey), script_verdict(court, path, vkey), browser[name])
        want = (case.exit_code, case.check)
        if set(got[name]) != {want}:
            wrong[name] = {"want": want, "cli": got[name][0], "script": got[name][1], "browser": got[name][2]}
    assert not wrong, json.dumps(wrong, ensure_ascii=False, indent=1)


# --- the two falsifications a court's route once passed -----------------------------------------

@pytest.mark.parametrize("name", ["a disclosed name changed, manifest re-hashed",
                                  "a sanction entry and its proof removed, manifest edited"])
def test_falsifications_fail_by_the_custody_entry_in_text_mode_too(world, corpus, court, tmp_path, name):
    path = tmp_path / "forged.zip"
    path.write_bytes(corpus[name].data)
    r = run_court(court, str(path), "--log-vkey", world.vkey)
    assert (r.returncode, r.stdout.split(" ")[:2]) == (1, ["FAIL:", "[custody]"]), r.stdout + r.stderr
    cli = CliRunner().invoke(main, ["verify-bundle", str(path), "--log-vkey", world.vkey])
    assert cli.exit_code == 1 and "[custody]" in cli.output, cli.output


# --- no trusted key: never a plain OK -----------------------------------------------------------

def test_without_a_key_the_script_says_consistent_not_authenticated(world, court, tmp_path):
    path = tmp_path / "b.zip"
    path.write_bytes(world.old)
    r = run_court(court, str(path))
    assert r.returncode == standalone.EXIT_NOT_AUTHENTICATED == 3, r.stdout + r.stderr
    assert r.stdout.startswith("CONSISTENT, NOT AUTHENTICATED: ") and "OK" not in r.stdout, r.stdout
    cli = CliRunner().invoke(main, ["verify-bundle", str(path)])
    assert cli.exit_code == 3 and cli.output.startswith("CONSISTENT, NOT AUTHENTICATED: "), cli.output
    out = json.loads(run_court(court, str(path), "--json").stdout)
    assert (out["ok"], out["verdict"]) == (False, "consistent, not authenticated"), out


def test_log_vkey_is_a_key_or_a_file_holding_one(world, court, tmp_path):
    path = tmp_path / "b.zip"
    path.write_bytes(world.old)
    (tmp_path / "log.vkey").write_text(world.vkey + "\n", encoding="utf-8")
    for given in (world.vkey, str(tmp_path / "log.vkey"), "log.vkey"):  # the key, a path, a relative path
        r = run_court(court, str(path), "--log-vkey", given, cwd=tmp_path)
        assert r.returncode == 0 and r.stdout.startswith("OK: "), (given, r.stdout + r.stderr)
    other = "other+00000000+AQ" + "A" * 42 + "="
    for given, check in ((str(tmp_path / "missing.vkey"), "usage"), ("not a key", "usage"),
                         (str(tmp_path), "usage"), (other, "usage")):
        r = run_court(court, str(path), "--log-vkey", given, "--json", cwd=tmp_path)
        out = json.loads(r.stdout)
        assert (r.returncode, out["check"], r.stderr) == (2, check, ""), (given, r.stdout, r.stderr)
        cli = CliRunner().invoke(main, ["verify-bundle", str(path), "--log-vkey", given, "--json"])
        assert (cli.exit_code, json.loads(cli.stdout)["check"]) == (2, check), (given, cli.output)


def test_malformed_input_in_text_mode_names_the_check_never_a_traceback(world, corpus, court, tmp_path):
    for name, case in corpus.items():
        if case.exit_code != 2:
            continue
        path = tmp_path / "m.zip"
        path.write_bytes(case.data)
        r = run_court(court, str(path), *(["--log-vkey", world.vkey] if case.trusted else []))
        assert r.returncode == 2 and r.stderr == "", (name, r.stdout, r.stderr)
        assert r.stdout.startswith(f"UNREADABLE: [{case.check}] "), (name, r.stdout)
    for argv in ([], ["a", "b"], ["--log-vkey"], [str(tmp_path / "m.zip"), "--skew-seconds", "x"]):
        r = run_court(court, *argv, "--json")
        assert (r.returncode, json.loads(r.stdout)["check"], r.stderr) == (2, "usage", ""), (argv, r.stdout)


def test_the_court_process_cannot_import_the_ledger(court, tmp_path):
    """The isolation the routes above rely on: only the standard library and cryptography."""
    probe = tmp_path / "probe.py"
    probe.write_text("import importlib.util, sys\nimport cryptography\n"
                     "print(importlib.util.find_spec('ledger') is None, importlib.util.find_spec('click') is None)\n",
                     encoding="utf-8")
    runner, _ = court
    r = subprocess.run([sys.executable, "-I", "-S", str(runner), str(probe)], capture_output=True, text=True)
    assert r.stdout.split() == ["True", "True"], r.stdout + r.stderr


# --- the format-v2 vectors: the same failure name in Python and in the browser ---------------------

def test_the_v2_vectors_fail_by_the_same_check_in_python_and_the_browser(page):  # noqa: F811
    """tests/data/v2_vectors.json (98 logs, each wrapped in a bundle): ``ledger verify-bundle``
    (the bundled script's code) and the browser name the same check for each."""
    from ledger.evidence.verifier import BundleError, Unreadable, verify_bundle
    from ledger.signing.keys import parse_vkey
    from tests import v2_vectors as vv

    doc = vv.load()
    bundles = {v["name"]: vv.bundle_zip(v) for v in doc["vectors"]}
    python: dict[str, Verdict] = {}
    for name, data in bundles.items():
        try:
            verify_bundle(data, parse_vkey(doc["log_vkey"]))
            python[name] = (0, None)
        except BundleError as e:
            python[name] = (1, e.check)
        except Unreadable as e:
            python[name] = (2, e.check)
    payload = {n: [base64.b64encode(b).decode(), True] for n, b in bundles.items()}
    browser = {n: tuple(v) for n, v in page.evaluate(BROWSER, {"cases": payload, "vkey": doc["log_vkey"]}).items()}
    assert {v["name"]: ("accept" if python[v["name"]][0] == 0 else "reject") for v in doc["vectors"]} == {
        v["name"]: v["want"] for v in doc["vectors"]}
    wrong = {n: (python[n], browser[n]) for n in bundles if python[n] != browser[n]}
    assert not wrong, json.dumps(wrong, indent=1)
