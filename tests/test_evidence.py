"""Evidence bundles: a round trip for a subject with every kind of entry, and
each kind of tampering rejected with a message naming the file."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile

import pytest

from ledger.config import Settings
from ledger.evidence import export as evidence
from ledger.evidence.verifier import BundleError, verify_bundle
from ledger.signing.keys import Signer
from ledger.signing.note import sign
from tests.conftest import BASIS, EMPLOYER, ORIGIN, PERSON, PERSON_2
from tests.pdf_text import pdf_text


@pytest.fixture
def story(domain, tmp_path):
    """A person with an honour (revoked), a grant, a clawback with recovery and
    waiver, a sanction amended and ended, another sanction exempted, one voided,
    an employment link and a recorded pre-award check."""
    d = domain
    p, org, other = d.subject(PERSON, "张三"), d.subject(EMPLOYER, "内蒙古某科技有限公司"), d.subject(PERSON_2)
    h = d.honor(p)
    d.record("honor.revoked", p, {"grounds": "弄虚作假", "legal_basis": BASIS, "decision_date": "2026-04-01",
                                  "deciding_body": "自治区人民政府"}, refs=[h.seq])
    g = d.grant(p, amount=100_000_00)
    c = d.record("clawback.ordered", p, {"amount_fen": 40_000_00, "deadline": "2026-09-01", "grounds": "未履约",
                                         "legal_basis": BASIS, "decision_date": "2026-05-01", "deciding_body": "人社局"},
                 refs=[g.seq])
    d.record("clawback.recovered", p, {"amount_fen": 10_000_00, "recovered_on": "2026-06-01"}, refs=[c.seq])
    d.record("clawback.waived", p, {"amount_fen": 1_000_00, "reason": "困难", "decision_date": "2026-06-02",
                                    "deciding_body": "人社局"}, refs=[c.seq])
    s1 = d.sanction(p, start="2026-07-01", until="2027-06-30")
    d.record("sanction.amended", p, {"effective_until": "2027-12-31", "reason": "复核", "decision_date": "2026-08-01",
                                     "deciding_body": "人社局"}, refs=[s1.seq])
    d.record("sanction.ended", p, {"reason": "credit_repair", "ended_on": "2026-10-01", "deciding_body": "人社局"},
             refs=[s1.seq])
    s2 = d.sanction(p, start="2026-11-01", until="2027-01-31")
    d.record("exemption.granted", p, {"project": "科研项目", "finding": "勤勉尽责", "decision_date": "2026-11-05",
                                      "deciding_body": "科技厅"}, refs=[s2.seq])
    s3 = d.sanction(p, start="2026-11-10", until="2027-01-31")
    d.record("entry.corrected", p, {"reason": "录入错误", "deciding_body": "人社局"}, refs=[s3.seq])
    d.record("subject.linked", p, {"organisation": org, "relation": "employee", "valid_from": "2025-01-01"})
    d.record("eligibility.checked", p, {"officer": "审核员", "programme": "草原英才", "award_ref": "AW-1",
                                        "benefit": "subsidy", "region": "150100", "on": "2026-12-01",
                                        "answer": "eligible", "tree_size": 5, "blocking": [], "decision": "proceed"})
    d.grant(other)  # someone else: must not be in the bundle
    settings = Settings(origin=ORIGIN, vkey_dir=tmp_path / "vkeys")
    bundle = evidence.export(d.engine, d.keyring, d.vault, settings, case="(2026)内01行初7号",
                             requested_by="呼和浩特市中级人民法院", subjects=[p], seqs=[], clock=d.clock)
    return {"p": p, "other": other, "bundle": bundle, "settings": settings}


def _content(data: bytes) -> dict:
    """An entry's content members: a v2 entry's statement (docs/contracts.md §2.7), a v1 entry itself."""
    e = json.loads(data)
    return e["statement"] if e["v"] == 2 else e


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def rezip(files: dict[str, bytes], *, rehash: bool = False) -> bytes:
    """Rebuild a bundle; with ``rehash`` the manifest is updated too (a careful forger)."""
    files = dict(files)
    if rehash:
        m = json.loads(files["manifest.json"])
        m["files"] = {n: hashlib.sha256(b).hexdigest() for n, b in files.items() if n != "manifest.json"}
        files["manifest.json"] = json.dumps(m, ensure_ascii=False).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    return buf.getvalue()


def test_round_trip_of_a_subject_with_every_kind_of_entry(story, domain):
    b = story["bundle"]
    report = verify_bundle(b.data, domain.keyring.log.verifier)
    files = unzip(b.data)
    types = {_content(v)["type"] for k, v in files.items() if k.startswith("entries/")}
    assert types >= {"honor.granted", "honor.revoked", "subsidy.granted", "clawback.ordered", "clawback.recovered",
                     "clawback.waived", "sanction.imposed", "sanction.amended", "sanction.ended", "exemption.granted",
                     "entry.corrected", "subject.linked", "eligibility.checked", "log.initialized", "key.registered",
                     "evidence.exported"}
    subjects = {_content(v)["subject"] for k, v in files.items() if k.startswith("entries/")}
    assert story["other"] not in subjects  # only what was asked for
    assert [k for k in files if k.startswith("subjects/")] == [f"subjects/{story['p']}.json"]
    assert report.custody_seq == b.custody.seq and report.case == "(2026)内01行初7号"
    custody = b.custody.body
    assert custody["requested_by"] == "呼和浩特市中级人民法院" and custody["content_sha256"] == b.manifest["content_sha256"]
    html = files["report.html"].decode()
    assert "张三" in html and "列入失信惩戒" in html and "条例第六十六条" in html and "1,000.00 元" in html
    assert b.manifest["tree_size"] == report.tree_size > b.custody.seq


def test_the_pdf_report_carries_the_chinese_text_in_an_embedded_font(story):
    from pypdf import PdfReader

    data = unzip(story["bundle"].data)["report.pdf"]
    pdf = PdfReader(io.BytesIO(data))
    text = re.sub(r"\s+", "", pdf_text(data))
    for phrase in ("诚信记录证据材料", "呼和浩特市中级人民法院", "张三", "列入失信惩戒", "条例第六十六条",
                   "撤销表彰奖励", "证据导出登记", "如何核验"):
        assert phrase in text, phrase
    fonts = [f.get_object() for page in pdf.pages for f in page["/Resources"]["/Font"].values()]
    descendants = [d.get_object() for f in fonts for d in f.get("/DescendantFonts", [])]
    assert descendants and all("/FontFile3" in d["/FontDescriptor"] or "/FontFile2" in d["/FontDescriptor"]
                               for d in descendants)  # embedded, not referenced


def test_the_standalone_script_verifies_with_hashlib_and_cryptography_only(story, domain, tmp_path):
    for name, data in unzip(story["bundle"].data).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    run = subprocess.run([sys.executable, "verify_bundle.py", ".", "--log-vkey", domain.keyring.log.verifier.vkey()],
                         cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("OK:"), run.stdout + run.stderr
    entry = next(tmp_path.glob("entries/*.json"))
    entry.write_bytes(entry.read_bytes()[:-1] + b" }")  # any format: one byte more than the manifest hashed
    bad = subprocess.run([sys.executable, "verify_bundle.py", "."], cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 1 and "hash differs from manifest" in bad.stdout


def _fails(data: bytes, domain, file: str, found: str = "") -> BundleError:
    with pytest.raises(BundleError) as e:
        verify_bundle(data, domain.keyring.log.verifier)
    assert e.value.file == file and found in e.value.found, (e.value.file, e.value.expected, e.value.found)
    return e.value


def test_an_entry_byte_changed(story, domain):
    files = unzip(story["bundle"].data)
    name = next(n for n in files if n.startswith("entries/") and b"subsidy.granted" in files[n])
    files[name] = files[name].replace(b'"amount_fen":10000000', b'"amount_fen":10000001')
    _fails(rezip(files), domain, name, hashlib.sha256(files[name]).hexdigest())
    # A forger who also fixes the manifest is caught by the proof.
    e = _fails(rezip(files, rehash=True), domain, f"proofs/{name.split('/')[1].split('.')[0]}.tlog-proof")
    assert "inclusion" in e.expected


def test_a_proof_swapped_between_entries(story, domain):
    files = unzip(story["bundle"].data)
    a, b = sorted(n for n in files if n.startswith("proofs/"))[3:5]
    files[a], files[b] = files[b], files[a]
    e = _fails(rezip(files, rehash=True), domain, a)
    assert "index" in e.expected


def test_a_file_removed_or_added(story, domain):
    files = unzip(story["bundle"].data)
    gone = dict(files)
    name = next(n for n in files if n.startswith("proofs/"))
    del gone[name]
    _fails(rezip(gone), domain, name, "missing")
    extra = {**files, "entries/999.json": b"{}"}
    _fails(rezip(extra), domain, "entries/999.json", "an extra file")
    # Added and listed: an entry the export never recorded.
    other = dict(files)
    seq = max(int(n.split("/")[1].split(".")[0]) for n in files if n.startswith("entries/"))
    custody = other.pop(f"entries/{seq}.json")
    assert _content(custody)["type"] == "evidence.exported"
    _fails(rezip(other, rehash=True), domain, f"entries/{seq}.json")  # the custody record is required


def test_a_checkpoint_forged_with_another_key(story, domain):
    files = unzip(story["bundle"].data)
    body = files["checkpoint.txt"].decode().split("\n\n")[0] + "\n"
    forger = Signer.from_seed(domain.keyring.log.verifier.name, b"not the log key")
    files["checkpoint.txt"] = sign(body, forger).render().encode()
    e = _fails(rezip(files, rehash=True), domain, "checkpoint.txt")
    assert "signed by test-log" in e.expected


def test_a_replaced_key_file(story, domain):
    files = unzip(story["bundle"].data)
    impostor = Signer.from_seed(domain.keyring.log.verifier.name, b"impostor").verifier.vkey()
    files[f"keys/{domain.keyring.log.verifier.name}.vkey"] = (impostor + "\n").encode()
    e = _fails(rezip(files, rehash=True), domain, f"keys/{domain.keyring.log.verifier.name}.vkey")
    assert "trusted log key" in e.expected
    # Without a trusted key the bundle's own key is used: the checkpoint then fails.
    with pytest.raises(BundleError) as err:
        verify_bundle(rezip(files, rehash=True))
    assert err.value.file == "checkpoint.txt"


def test_a_disclosure_with_the_wrong_salt(story, domain):
    files = unzip(story["bundle"].data)
    name = f"subjects/{story['p']}.json"
    d = json.loads(files[name])
    d["salt"] = "00" * 16
    files[name] = json.dumps(d).encode()
    e = _fails(rezip(files, rehash=True), domain, name)
    assert story["p"] in e.expected


def test_a_later_bundle_extends_an_earlier_one(story, domain):
    old = story["bundle"]
    domain.grant(story["p"], ref="NMG-LATER-1")
    new = evidence.export(domain.engine, domain.keyring, domain.vault, story["settings"], case="(2026)内01行初7号",
                          requested_by="法院", subjects=[story["p"]], seqs=[], clock=domain.clock,
                          consistency_from=old.manifest["tree_size"])
    r = verify_bundle(new.data, domain.keyring.log.verifier, against=old.data)
    assert r.tree_size > old.manifest["tree_size"]
    no_proof = evidence.export(domain.engine, domain.keyring, domain.vault, story["settings"], case="(2026)内01行初8号",
                               requested_by="法院", subjects=[], seqs=[3], clock=domain.clock)
    with pytest.raises(BundleError) as e:
        verify_bundle(no_proof.data, domain.keyring.log.verifier, against=old.data)
    assert e.value.file == "consistency.json"
    files = unzip(new.data)
    c = json.loads(files["consistency.json"])
    c["proof"][0] = "00" * 32
    files["consistency.json"] = json.dumps(c).encode()
    with pytest.raises(BundleError) as e:
        verify_bundle(rezip(files, rehash=True), domain.keyring.log.verifier, against=old.data)
    assert e.value.file == "consistency.json"


def test_verify_md_by_hand_with_sha256sum_and_openssl(story, domain, tmp_path):
    """Run every shell block of VERIFY.md as a person would: one bash session beside
    bundle.zip and trusted.vkey (tests/test_tamper_corpus_manual.py runs it on tampered bundles)."""
    import shutil

    if not (shutil.which("openssl") and shutil.which("sha256sum")):  # pragma: no cover
        pytest.skip("openssl or sha256sum not installed")
    (tmp_path / "bundle.zip").write_bytes(story["bundle"].data)
    (tmp_path / "trusted.vkey").write_text(domain.keyring.log.verifier.vkey() + "\n")
    guide = unzip(story["bundle"].data)["VERIFY.md"].decode()
    script = "set -euo pipefail\n" + "\n".join(re.findall(r"```sh\n(.*?)```", guide, re.S))
    out = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1. files: every file is present and matches manifest.json" in out.stdout
    assert "Signature Verified Successfully" in out.stdout and out.stdout.rstrip().endswith("done: every step held")
    first = sorted((tmp_path / "bundle").glob("entries/*.json"), key=lambda p: int(p.stem))[0]
    leaf = hashlib.sha256(b"\x00" + first.read_bytes()).hexdigest()
    assert f"3. entries/{first.stem}.json: leaf {leaf} is in the tree" in out.stdout


def test_an_edited_report_is_named_as_not_authenticated(story, domain):
    """The renderings sit outside the custody digest: a forger who edits one and
    re-hashes the unsigned manifest passes, and the pass says they are unproven."""
    files = unzip(story["bundle"].data)
    assert verify_bundle(story["bundle"].data, domain.keyring.log.verifier).unauthenticated == (
        "VERIFY.md", "report.html", "report.pdf", "verify_bundle.py")
    files["report.html"] = files["report.html"].replace("列入失信惩戒".encode(), "无不良记录".encode())
    report = verify_bundle(rezip(files, rehash=True), domain.keyring.log.verifier)
    assert "report.html" in report.unauthenticated and not any(
        n.startswith(("entries/", "keys/", "subjects/")) or n == "checkpoint.txt" for n in report.unauthenticated)


def test_a_consistency_size_beyond_the_tree_writes_nothing(story, domain):
    """The library refuses it before the custody entry, whoever calls (CLI, API, a script)."""
    from ledger.errors import ValidationError
    from ledger.store import log_store

    with domain.engine.connect() as conn:
        size = log_store.size(conn)
    with pytest.raises(ValidationError) as e:
        evidence.export(domain.engine, domain.keyring, domain.vault, story["settings"], case="(2026)内01行初9号",
                        requested_by="法院", subjects=[story["p"]], seqs=[], clock=domain.clock,
                        consistency_from=size + 5)
    assert [p.field for p in e.value.problems] == ["consistency_from"]
    with domain.engine.connect() as conn:
        assert log_store.size(conn) == size
