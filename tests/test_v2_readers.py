"""The readers of entry format v2 that share no code with the ledger
(docs/contracts.md §2.7), held to the same vectors, byte for byte:

- ``tests/independent_verifier.py`` ``verify_log`` (a whole log and its checkpoint);
- ``verify_bundle.py`` (``ledger/evidence/standalone.py``), on a bundle around each log;
- the console's browser verifier (``ledger/console/static/js/verify/``), in
  headless Chromium, on the same bundles and on each entry's tlog-proof.

The vectors (``tests/data/v2_vectors.json``) are made by ``tests/v2_vectors.py``
from the spec alone and checked current here. Then the ledger's own writer:
a mixed v1/v2 log from its append path verified by the independent verifier,
a v2 evidence bundle verified by the standalone script, and ``ledger
verify-bundle`` on the vectors.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from ledger.evidence import standalone
from tests import independent_verifier as iv
from tests import v2_vectors as vv
from tests.console_support import require_chromium

ROOT = Path(__file__).resolve().parent.parent
VERIFY_JS = ROOT / "ledger" / "console" / "static" / "js" / "verify"
DOC = vv.load()
VECTORS = DOC["vectors"]
BY_NAME = {v["name"]: v for v in VECTORS}


# --- the vectors themselves ----------------------------------------------------------------

def test_the_vectors_file_is_what_the_generator_writes():
    assert vv.PATH.read_text(encoding="utf-8") == vv.render(), "run: python -m tests.v2_vectors"


def test_the_vectors_cover_the_spec():
    names = [v["name"] for v in VECTORS]
    assert len(names) == len(set(names))
    accepted = {v["name"] for v in VECTORS if v["want"] == "accept"}
    assert {"mixed-v1-then-v2", "v1-only", "v2-from-genesis", "signed_at-at-the-skew-bound"} <= accepted
    assert len(VECTORS) - len(accepted) >= 90
    for field in vv.ENTRY_FIELDS:  # every member of the entry missing, and each changed
        assert f"entry-without-{field}" in names
        assert any(n.startswith(f"entry-{field}-") for n in names), field
    for field in vv.STATEMENT_FIELDS:  # every member of the statement missing, and changed after signing
        assert f"statement-without-{field}" in names
        assert any(n.startswith(f"statement-{field}") and "-changed-to-" in n for n in names), field
    for name in ("sig-by-another-key", "sig-without-prefix", "sig-wrong-prefix", "statement-seq-5",
                 "v1-after-v2-at-the-end", "v1-after-v2-in-the-middle", "signed_at-beyond-skew", "key-revoked",
                 "key-unregistered", "key-of-another-authority", "key-before-its-registration"):
        assert name in names
    assert DOC["skew_seconds"] == vv.SKEW.total_seconds() == iv.DEFAULT_SKEW.total_seconds() \
        == standalone.SKEW_SECONDS
    assert DOC["signed_bytes_prefix"].encode() == iv.STATEMENT_PREFIX == standalone.STATEMENT_PREFIX


def test_the_readers_constants_are_the_ledgers():
    """The skew, the prefix and who signs which type, each written down three times
    independently, agree with the ledger's (and with docs/contracts.md §2.7 if it
    states the skew in minutes)."""
    from ledger.log import entry_types
    from ledger.log.statement import SIGNED_AT_SKEW, STATEMENT_PREFIX

    assert SIGNED_AT_SKEW == iv.DEFAULT_SKEW == timedelta(seconds=standalone.SKEW_SECONDS) == vv.SKEW
    assert STATEMENT_PREFIX == iv.STATEMENT_PREFIX == standalone.STATEMENT_PREFIX == vv.PREFIX
    by = {n: entry_types.get(n).signed_by for n in entry_types.names()}
    assert iv.LOG_SIGNED == {n for n, s in by.items() if s == "log"}
    assert iv.AUTHORITY_SIGNED == {n for n, s in by.items() if s == "authority"}
    js = (VERIFY_JS / "bundle.js").read_text(encoding="utf-8")
    assert "export const SKEW_SECONDS = 300;" in js
    for name in by:
        assert f'"{name}"' in js, name
    contract = (ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")
    section = contract[contract.index("## 2.7"):contract.index("## 3 ")]
    for minutes in re.findall(r"(\d+)\s*min", section):
        assert int(minutes) == 5, "docs/contracts.md §2.7 states another skew: update the readers"


def test_the_file_names_each_entry_by_its_leaf_hash():
    for text in DOC["entries"].values():
        assert iv.leaf_hash(text.encode()).hex() in DOC["entries"]
    assert all(iv.leaf_hash(t.encode()).hex() == h for h, t in DOC["entries"].items())


def test_the_honest_logs_are_what_the_spec_says():
    """Read back with plain json and rfc8785: v1 entries then v2, statements signed with the prefix."""
    import rfc8785

    entries = [json.loads(e) for e in BY_NAME["mixed-v1-then-v2"]["entries"]]
    assert [e["v"] for e in entries] == [1] * 4 + [2] * 8
    for e in entries[4:]:
        assert set(e) == {"v", "seq", "prev", "recorded_at", "statement", "sig"}
        assert set(e["statement"]) == set(vv.STATEMENT_FIELDS)
        public = iv.parse_vkey(DOC["keys"][e["statement"]["key"]])[3]
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        Ed25519PublicKey.from_public_bytes(public).verify(
            base64.b64decode(e["sig"]), b"integrity-ledger/statement/v2\n" + rfc8785.dumps(e["statement"]))


# --- reader 1: the independent verifier, a whole log ------------------------------------------

def iv_verdict(v: dict, skew: timedelta = iv.DEFAULT_SKEW) -> str:
    try:
        iv.verify_log_checkpoint(v["entries"], v["checkpoint"], DOC["log_vkey"], skew=skew, origin=DOC["origin"])
    except ValueError:
        return "reject"
    return "accept"


@pytest.mark.parametrize("name", list(BY_NAME))
def test_independent_verifier(name):
    assert iv_verdict(BY_NAME[name]) == BY_NAME[name]["want"]


def test_independent_verifier_reports_the_versions_and_the_root():
    v = BY_NAME["mixed-v1-then-v2"]
    report = iv.verify_log(v["entries"], DOC["log_vkey"])
    assert report.versions == {1: 4, 2: 8}
    assert report.root == iv.parse_checkpoint(iv.split_note(v["checkpoint"])[0])[2]
    with pytest.raises(ValueError, match="seq 0: log key .* is not the trusted key"):
        iv.verify_log(v["entries"], DOC["keys"]["v2vec-x"])
    with pytest.raises(ValueError, match="seq 9: signed_at .* plus the skew of 60 s"):
        iv.verify_log(BY_NAME["signed_at-at-the-skew-bound"]["entries"], skew=timedelta(minutes=1))


def test_the_skew_is_a_parameter():
    late = BY_NAME["signed_at-an-hour-late"]
    assert iv_verdict(late) == "reject"
    assert iv_verdict(late, skew=timedelta(hours=1)) == "accept"
    assert script_verdict(late, "--skew-seconds", "3600") == "accept"


# --- reader 2: verify_bundle.py ---------------------------------------------------------------

def script_verdict(v: dict, *args: str, tmp: Path | None = None) -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bundle.zip"
        path.write_bytes(vv.bundle_zip(v))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = standalone.main([str(path), "--log-vkey", DOC["log_vkey"], *args])
    assert code in (0, 1), out.getvalue()
    return "accept" if code == 0 else "reject"


@pytest.mark.parametrize("name", list(BY_NAME))
def test_standalone_script(name):
    assert script_verdict(BY_NAME[name]) == BY_NAME[name]["want"]


def test_independent_readers_import_nothing_of_the_ledger():
    for path in (ROOT / "tests" / "independent_verifier.py", ROOT / "tests" / "v2_vectors.py",
                 ROOT / "ledger" / "evidence" / "standalone.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        modules += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in modules if m == "ledger" or m.startswith("ledger.")], path
    for js in VERIFY_JS.glob("*.js"):
        imports = re.findall(r"""^\s*import\b[^"']*["']([^"']+)["']""", js.read_text(encoding="utf-8"), re.M)
        assert all(m.startswith("./") and "/" not in m[2:] for m in imports), (js.name, imports)


# --- reader 3: the browser ----------------------------------------------------------------------

ORIGIN_URL = "http://127.0.0.1:9"  # never contacted: every request is answered from the files here


@pytest.fixture(scope="module")
def page():
    """A page on a loopback origin (a secure context: WebCrypto works) whose
    /console/static/ is served from the repository's files, as `ledger serve` does."""
    sync_api = pytest.importorskip("playwright.sync_api")
    require_chromium()
    from tests.console_support import close_browser, launch_browser

    static = ROOT / "ledger" / "console" / "static"

    def serve(route):
        path = route.request.url[len(ORIGIN_URL):].split("?")[0]
        if path.startswith("/console/static/") and (static / path[len("/console/static/"):]).is_file():
            route.fulfill(status=200, content_type="text/javascript",
                          body=(static / path[len("/console/static/"):]).read_bytes())
        elif path == "/blank":
            route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>v2</title>")
        else:
            route.fulfill(status=404, body="")

    with sync_api.sync_playwright() as p:
        context, profile = launch_browser(p)
        tab = context.new_page()
        tab.route(f"{ORIGIN_URL}/**", serve)
        tab.goto(f"{ORIGIN_URL}/blank")
        yield tab
        close_browser(context, profile)


BROWSER_BUNDLES = """async ({cases, vkey}) => {
    const bundle = await import("/console/static/js/verify/bundle.js");
    const bytes = await import("/console/static/js/verify/bytes.js");
    const note = await import("/console/static/js/verify/note.js");
    const pinned = await note.parseVkey(vkey);
    const out = {};
    for (const [name, zip] of Object.entries(cases)) {
        try {
            await bundle.verifyBundle(bytes.b64decode(zip), pinned);
            out[name] = "accept";
        } catch (e) {
            if (!(e instanceof bytes.VerifyError)) throw e;  // a crash is not a rejection
            out[name] = e.check === "webcrypto" ? `no WebCrypto: ${e.detail}` : "reject";
        }
    }
    return out;
}"""


BROWSER_CHECKS = BROWSER_BUNDLES.replace('out[name] = "accept";', "out[name] = null;").replace(
    ': "reject";', ": e.check;")


def script_check(v: dict) -> str | None:
    """The check verify_bundle.py names for a vector's bundle (None: it passes)."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bundle.zip"
        path.write_bytes(vv.bundle_zip(v))
        _, _, result = standalone.run([str(path), "--log-vkey", DOC["log_vkey"]])
    return result["check"]


def test_browser_verifier_on_every_vector(page):
    cases = {v["name"]: base64.b64encode(vv.bundle_zip(v)).decode() for v in VECTORS}
    got = page.evaluate(BROWSER_BUNDLES, {"cases": cases, "vkey": DOC["log_vkey"]})
    wrong = {n: (got[n], BY_NAME[n]["want"]) for n in cases if got[n] != BY_NAME[n]["want"]}
    assert not wrong, wrong


def test_browser_reads_each_v2_entry_from_its_tlog_proof(page):
    v = BY_NAME["mixed-v1-then-v2"]
    proofs = [vv.tlog_proof(v["entries"], i, v["checkpoint"]) for i in range(len(v["entries"]))]
    got = page.evaluate("""async ({proofs, vkey}) => {
        const t = await import("/console/static/js/verify/tlogproof.js");
        const note = await import("/console/static/js/verify/note.js");
        const key = await note.parseVkey(vkey);
        const out = [];
        for (const p of proofs) {
            const r = await t.verifyTlogProof(p, key);
            out.push([r.index, r.entry.v, t.stated(r.entry).type]);
        }
        return out;
    }""", {"proofs": proofs, "vkey": DOC["log_vkey"]})
    assert got == [[i, json.loads(e)["v"], (json.loads(e).get("statement") or json.loads(e))["type"]]
                   for i, e in enumerate(v["entries"])]


def test_browser_skew_is_a_parameter(page):
    """checkOrder takes the skew; the default is the one the vectors use."""
    late = json.loads(BY_NAME["signed_at-an-hour-late"]["entries"][vv.LATE_SEQ])
    got = page.evaluate("""async (e) => {
        const b = await import("/console/static/js/verify/bundle.js");
        const run = async (skew) => {
            try { await b.checkOrder(new Map([[e.seq, e]]), () => null, skew); return "accept"; }
            catch (err) { return "reject"; }
        };
        return [b.SKEW_SECONDS, await run(undefined), await run(3600)];
    }""", late)
    assert got == [300, "reject", "accept"]


# --- random mutants: the three readers agree on each -----------------------------------------------

MUTANTS = 300  # seeded, so a failure names a reproducible case


def test_the_three_readers_agree_on_random_mutants(page):
    import random

    rng = random.Random(27)
    mutants = [vv.random_mutant(rng) for _ in range(MUTANTS)]
    python = {m["name"]: (iv_verdict(m), script_verdict(m)) for m in mutants}
    cases = {m["name"]: base64.b64encode(vv.bundle_zip(m)).decode() for m in mutants}
    browser = page.evaluate(BROWSER_BUNDLES, {"cases": cases, "vkey": DOC["log_vkey"]})
    wrong = {n: (*python[n], browser[n]) for n in python if len({*python[n], browser[n]}) != 1}
    assert not wrong, f"(independent verifier, verify_bundle.py, browser) disagree: {wrong}"
    # … and verify_bundle.py (so ledger verify-bundle) and the browser name the same failing check.
    names = page.evaluate(BROWSER_CHECKS, {"cases": cases, "vkey": DOC["log_vkey"]})
    script = {m["name"]: script_check(m) for m in mutants}
    wrong_names = {n: (script[n], names[n]) for n in script if script[n] != names[n]}
    assert not wrong_names, f"(verify_bundle.py, browser) name different checks: {wrong_names}"
    verdicts = [v[0] for v in python.values()]
    assert verdicts.count("accept") >= 5 and verdicts.count("reject") >= 200, verdicts.count("accept")


# --- the ledger's own writer, read by the independent readers -------------------------------------

def ledger_verdict(v: dict) -> str:
    from ledger.evidence.verifier import BundleError, verify_bundle
    from ledger.signing.keys import parse_vkey

    try:
        r = verify_bundle(vv.bundle_zip(v), parse_vkey(DOC["log_vkey"]))
    except BundleError:
        return "reject"
    assert r.authenticated
    return "accept"


# Once `ledger verify-bundle` passed these though the spec refuses them (prev between
# consecutive entries, recorded_at order, refs below the entry's seq, the log's own v2
# records stated by the operator); it now runs the bundled script's checks (decision 0017).
SPEC_REFUSES = frozenset({
    "entry-prev-" + "0" * 24,
    "entry-recorded_at-2026-02-01T08:03:30.0000", "entry-prev-one-digit-changed", "entry-prev-uppercase",
    "statement-refs-[5]", "statement-refs-[8]", "statement-refs-[-1]", "log-statement-for-another-authority",
})


@pytest.mark.parametrize("name", list(BY_NAME))
def test_ledger_verify_bundle_agrees_on_the_vectors(name):
    assert ledger_verdict(BY_NAME[name]) == BY_NAME[name]["want"]


@pytest.mark.parametrize("name", sorted(SPEC_REFUSES))
def test_ledger_verify_bundle_refuses_what_the_spec_refuses(name):
    assert BY_NAME[name]["want"] == "reject"
    assert ledger_verdict(BY_NAME[name]) == "reject"


def test_a_mixed_log_from_the_ledgers_append_path_verifies_independently(tmp_path):
    from ledger.log.append import append_entries
    from ledger.log.publish import publish
    from ledger.store import log_store
    from tests.conftest import HOHHOT, FixedClock, bootstrap, make_keyring, note, open_store

    with open_store("sqlite", tmp_path) as store:
        ring, clock = make_keyring(), FixedClock()
        bootstrap(store.engine, ring, clock)  # v1, as a log begun before v2
        append_entries(store.engine, [note(f"v2-{i}", HOHHOT) for i in range(5)], ring, clock)
        signed, _ = publish(store.engine, ring.log, "test.example/ledger", clock)
        with store.engine.connect() as conn:
            entries = [log_store.get_canonical(conn, seq) for seq in range(log_store.size(conn))]
    vkey = ring.log.verifier.vkey()
    report = iv.verify_log_checkpoint(entries, signed, vkey, origin="test.example/ledger")
    assert report.versions.get(1) and report.versions.get(2), report.versions
    versions = [json.loads(e)["v"] for e in entries]
    assert versions == sorted(versions)


def test_a_v2_evidence_bundle_from_the_ledger_verifies_with_the_standalone_script(tmp_path):
    from ledger.config import Settings
    from ledger.domain.vault import Vault
    from ledger.evidence import export as evidence
    from tests.conftest import (
        BAOTOU,
        HOHHOT,
        ORIGIN,
        PERSON,
        REGIONAL,
        DomainLedger,
        FixedClock,
        bootstrap,
        make_keyring,
        open_store,
        register_programmes,
    )

    with open_store("sqlite", tmp_path) as store:
        ring, clock = make_keyring(), FixedClock()
        bootstrap(store.engine, ring, clock, (HOHHOT, BAOTOU, REGIONAL))
        register_programmes(store.engine, ring, clock)
        d = DomainLedger(store, ring, clock)
        d.vault = Vault(bytes(range(32)))
        p = d.subject(PERSON, "张三")
        d.honor(p)
        d.sanction(p)
        bundle = evidence.export(d.engine, ring, d.vault, Settings(origin=ORIGIN, vkey_dir=tmp_path / "vkeys"),
                                 case="(2026)v2", requested_by="法院", subjects=[p], seqs=[], clock=clock)
    path = tmp_path / "case.zip"
    path.write_bytes(bundle.data)
    import zipfile

    with zipfile.ZipFile(path) as z:
        versions = {json.loads(z.read(n))["v"] for n in z.namelist() if n.startswith("entries/")}
        shipped = z.read("verify_bundle.py").decode()
    assert 2 in versions, versions
    assert shipped == Path(standalone.__file__).read_text(encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = standalone.main([str(path), "--log-vkey", ring.log.verifier.vkey()])
    assert code == 0, out.getvalue()


def test_verify_md_checks_a_v2_statement_signature_with_openssl(tmp_path):
    """VERIFY.md step 5, run as a person would, on a bundle whose entries are v2 (the
    vectors' honest log): for every entry it cuts the signed bytes (a v2 statement's, a
    v1 entry's) and openssl verifies them with the key the entry names."""
    import shutil
    import subprocess

    from ledger.evidence.report import verify_md

    if not shutil.which("openssl"):  # pragma: no cover
        pytest.skip("openssl not installed")
    v = BY_NAME["mixed-v1-then-v2"]
    folder = tmp_path / "bundle"
    for name, data in vv.bundle_files(v).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    (tmp_path / "check").mkdir()
    summary = {"case": vv.CASE, "requested_by": vv.REQUESTED_BY, "exported_at": "-", "origin": vv.ORIGIN,
               "tree_size": len(v["entries"]), "custody_seq": len(v["entries"]) - 1, "log_key": vv.LOG.name}
    step5 = next(b for b in re.findall(r"```sh\n(.*?)```", verify_md(summary, [0]), re.S) if "signer.pem" in b)
    out = subprocess.run(["bash", "-c", "set -euo pipefail\n" + step5], cwd=folder, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    for seq in (len(v["entries"]) - 1, vv.AUTH_SEQ, vv.LATE_SEQ, 3):  # custody (log key), authorities' v2, a v1
        entry = json.loads(v["entries"][seq])
        signer = entry["statement"]["key"] if entry["v"] == 2 else entry["signer"]
        assert (f"5. entries/{seq}.json: format {entry['v']}, signed by {signer}: Signature Verified Successfully"
                in out.stdout), out.stdout
    (folder / f"entries/{vv.AUTH_SEQ}.json").write_bytes(
        BY_NAME["statement-body.text-changed-to-\"another text\""]["entries"][vv.AUTH_SEQ])
    out = subprocess.run(["bash", "-c", "set -euo pipefail\n" + step5], cwd=folder, capture_output=True, text=True)
    assert out.returncode != 0 and f"5. entries/{vv.AUTH_SEQ}.json" in out.stdout
    key = json.loads(v["entries"][vv.AUTH_SEQ])["statement"]["key"]
    assert f"entries/{vv.AUTH_SEQ}.json: format 2, signed by {key}: Signature Verified Successfully" not in out.stdout
