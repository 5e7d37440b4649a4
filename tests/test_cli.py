"""The ``ledger`` command as a user runs it: exit codes, --json, raw bytes,
proofs that verify offline, keys at rest."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger.cli import main
from tests.test_tamper import drop_triggers


@pytest.fixture
def env(tmp_path, monkeypatch):
    values = {
        "LEDGER_KEY_PASSPHRASE": "correct horse battery staple",
        "LEDGER_KEY_DIR": str(tmp_path / "private"),
        "LEDGER_VKEY_DIR": str(tmp_path / "keys"),
        "LEDGER_STATE_DIR": str(tmp_path / "state"),
        "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db",
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output + result.stderr
    return result.stdout


def test_demo_verify_entry_and_proofs_round_trip(env, tmp_path):
    out = json.loads(run("demo", "--entries", "120", "--seed", "7", "--json"))
    assert out["written"] >= 120 + 14 and out["size"] == out["written"]  # 14: genesis and 13 key registrations
    again = json.loads(run("demo", "--entries", "120", "--seed", "7", "--json"))
    assert again["written"] == 0 and again["size"] == out["size"]  # same seed: idempotent retries
    report = json.loads(run("verify", "--json"))
    assert report["ok"] and report["size"] == out["size"] and report["signatures"] == out["size"]

    raw = CliRunner().invoke(main, ["entry", "40", "--raw"]).stdout_bytes
    run("checkpoint")
    proof_text = run("prove", "inclusion", "40", "--format", "tlog-proof")
    proof = tmp_path / "40.tlog-proof"
    proof.write_text(proof_text)
    (tmp_path / "40.entry").write_bytes(raw)
    inclusion = json.loads(run("prove", "inclusion", "40", "--json"))
    assert inclusion["leaf_hash"] == hashlib.sha256(b"\x00" + raw).hexdigest()
    vkey = Path(env["LEDGER_VKEY_DIR"]) / "dev-log.vkey"
    ok = json.loads(run("verify-proof", str(proof), "--vkey", str(vkey), "--entry", str(tmp_path / "40.entry"), "--json"))
    assert ok == {"ok": True, "index": 40, "tree_size": out["size"], "root": report["root"],
                  "origin": "talent.nmg.example/integrity-ledger"}
    # A changed entry byte fails with exit code 1 and names the mismatch.
    (tmp_path / "bad.entry").write_bytes(raw.replace(b"officer", b"OFFICER"))
    bad = CliRunner().invoke(main, ["verify-proof", str(proof), "--vkey", str(vkey), "--entry", str(tmp_path / "bad.entry")])
    assert bad.exit_code == 1 and "differs" in bad.stderr
    shown = run("checkpoint", "--show")
    assert shown == proof_text.split("\n\n", 1)[1]


def test_verify_names_the_first_bad_seq_with_exit_code_1(env, tmp_path):
    run("demo", "--entries", "60")
    import sqlalchemy as sa

    from ledger.store.engine import make_engine

    engine = make_engine(env["LEDGER_DATABASE_URL"])

    class S:  # the shape drop_triggers expects
        dialect, owner = "sqlite", engine

    drop_triggers(S)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE entries SET canonical = replace(canonical, 'officer', 'OFFICER') WHERE seq = 33"))
    result = CliRunner().invoke(main, ["verify", "--json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["seq"] == 33 and payload["kind"] == "hash"


def test_incremental_verify_from_the_cli(env):
    first = json.loads(run("demo", "--entries", "50", "--json"))["size"]
    run("verify")
    second = json.loads(run("demo", "--entries", "80", "--json"))["size"]
    out = json.loads(run("verify", "--since-checkpoint", "--json"))
    assert second > first and out["entries_checked"] == second - first and out["from_seq"] == first


def test_record_is_all_or_nothing_and_errors_name_the_field(env, tmp_path):
    run("demo", "--entries", "1")
    size = json.loads(run("summary", "--json"))["size"]
    good = {"type": "note.recorded", "authority": {"id": "hrss-150100", "region": "150100"}, "actor": "a",
            "request_id": "cli-1", "body": {"text": "ok"}}
    bad = {**good, "request_id": "cli-2", "body": {"text": "ok", "amount": 1}}
    f = tmp_path / "batch.jsonl"
    f.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    result = CliRunner().invoke(main, ["record", str(f), "--json"])
    assert result.exit_code == 2
    err = json.loads(result.stdout)
    assert err["problems"] == [{"field": "body.amount", "rule": "is not a field of this entry type"}]
    assert json.loads(run("summary", "--json"))["size"] == size
    f.write_text(json.dumps(good) + "\n")
    assert json.loads(run("record", str(f), "--json"))[0]["seq"] == size


def test_private_keys_are_encrypted_and_private(env):
    vkey = run("keys", "generate", "auditor-test").strip()
    path = Path(env["LEDGER_KEY_DIR"]) / "auditor-test.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    sealed = json.loads(path.read_bytes())  # docs/keys-and-files.md: scrypt + AES-256-GCM
    assert sealed["format"] == "integrity-ledger/private-key" and "PRIVATE KEY" not in path.read_text()
    assert (Path(env["LEDGER_VKEY_DIR"]) / "auditor-test.vkey").read_text().strip() == vkey
    again = CliRunner().invoke(main, ["keys", "generate", "auditor-test"])
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_witness_cosign_from_the_cli(env, tmp_path):
    run("demo", "--entries", "10")
    run("checkpoint")
    run("keys", "generate", "witness-1", "--witness")
    keys = Path(env["LEDGER_VKEY_DIR"])
    args = ["witness", "cosign", "--key", "witness-1", "--state", str(tmp_path / "w.json"), "--log-vkey", str(keys / "dev-log.vkey")]
    first = run(*args)
    assert "\u2014 witness-1 " in first
    run("demo", "--entries", "30")
    run("checkpoint")
    run(*args)
    proof = tmp_path / "p"
    proof.write_text(run("prove", "inclusion", "5", "--format", "tlog-proof"))
    run("verify-proof", str(proof), "--vkey", str(keys / "dev-log.vkey"), "--witness", str(keys / "witness-1.vkey"),
        "--quorum", "1")


def test_the_installed_console_script_runs(env):
    exe = Path(sys.executable).parent / "ledger"
    out = subprocess.run([str(exe), "demo", "--entries", "5", "--json"], capture_output=True, text=True,
                         env={**os.environ, **env}, check=True)
    assert json.loads(out.stdout)["written"] >= 5


def test_graphql_folder_holds_no_python(tmp_path):
    """A graphql/ package would shadow graphql-core (the README's layout)."""
    root = Path(__file__).resolve().parent.parent / "graphql"
    assert not list(root.rglob("*.py"))


def test_domain_commands_as_programme_staff_use_them(env, tmp_path):
    run("demo", "--entries", "1")
    ref = run("subject", "add", "cn-rid:150102199001010019", "--name", "张三").strip()
    assert len(ref) == 64 and run("subject", "add", "cn-rid:150102199001010019", "--name", "张三").strip() == ref
    bad = CliRunner().invoke(main, ["subject", "add", "cn-rid:150102199001010018", "--name", "x", "--json"])
    assert bad.exit_code == 2 and json.loads(bad.stdout)["problems"][0]["field"] == "id"
    sanction = {"type": "sanction.imposed", "authority": {"id": "hrss-150100", "region": "150100"}, "actor": "a",
                "subject": ref, "request_id": "s-1", "body": {
                    "severity": "serious", "grounds": "伪造材料", "legal_basis": {"article": "条例第六十六条", "document_no": "x"},
                    "deciding_body": "自治区人社厅", "decision_date": "2026-01-01", "effective_from": "2026-01-01",
                    "effective_until": "2026-12-31", "scope": {"benefits": ["subsidy"], "regions": ["150000"]}}}
    f = tmp_path / "s.jsonl"
    f.write_text(json.dumps(sanction, ensure_ascii=False) + "\n")
    # The CLI is held to the jurisdiction rule too: a city cannot bar the whole region.
    size = json.loads(run("summary", "--json"))["size"]
    far = CliRunner().invoke(main, ["record", str(f), "--json"])
    assert far.exit_code == 2 and json.loads(far.stdout)["error"] == "Forbidden"
    assert json.loads(run("summary", "--json"))["size"] == size
    sanction["authority"] = {"id": "nmg-talent-office", "region": "150000"}
    f.write_text(json.dumps(sanction, ensure_ascii=False) + "\n")
    seq = json.loads(run("record", str(f), "--json"))[0]["seq"]
    args = ["status", "cn-rid:150102199001010019", "--benefit", "subsidy", "--region", "150102", "--json"]
    barred = json.loads(run(*args, "--on", "2026-06-01"))
    assert barred["answer"] == "barred" and barred["blocking"][0]["seq"] == seq and barred["tree_size"] == seq + 1
    assert json.loads(run(*args, "--on", "2026-06-01", "--known-at", str(seq)))["answer"] == "eligible"
    assert json.loads(run(*args, "--on", "2027-06-01"))["answer"] == "eligible"
    status = json.loads(run("status", ref, "--on", "2026-06-01", "--json"))
    assert status["sanctions"][0]["in_force"] is True
    assert [e["seq"] for e in json.loads(run("history", "cn-rid:150102199001010019", "--json"))] == [seq]
    # The pre-award answer needs both --benefit and --region; bad option values exit 2.
    for bad_args in (["--benefit", "subsidy"], ["--region", "150102"], ["--benefit", "subsidy", "--region", "150102",
                     "--known-at", "2026-12-01"], ["--benefit", "subsidy", "--region", "150102", "--known-at", "999999"],
                     ["--benefit", "subsidy", "--region", "152100"]):
        r = CliRunner().invoke(main, ["status", "cn-rid:150102199001010019", *bad_args, "--json"])
        assert r.exit_code == 2 and json.loads(r.stdout)["problems"], (bad_args, r.output)
    assert "projections rebuilt" in run("reindex")
    # Erasure waits while the sanction is in force (docs/effects.md, retention) ...
    held = CliRunner().invoke(main, ["subject", "erase", "cn-rid:150102199001010019", "--reason", "申请删除", "--json"])
    assert held.exit_code == 2 and "in force" in json.loads(held.stdout)["problems"][0]["rule"]
    # ... and goes ahead once the listing is voided as wrong from the start.
    correction = {**sanction, "type": "entry.corrected", "request_id": "c-1", "refs": [seq],
                  "body": {"reason": "错误列入", "deciding_body": "自治区人社厅"}}
    f.write_text(json.dumps(correction, ensure_ascii=False) + "\n")
    run("record", str(f))
    run("subject", "erase", "cn-rid:150102199001010019", "--reason", "保存期限届满")
    # Erased (or never recorded): a valid identifier answers "no record", never an error.
    assert "no record" in run("status", "cn-rid:150102199001010019")
    gone = json.loads(run(*args))
    assert gone["answer"] == "eligible" and gone["on_record"] is False and gone["subject"] is None
    assert json.loads(run("verify", "--json"))["ok"]


def test_export_and_verify_bundle_commands(env, tmp_path):
    import zipfile

    run("demo", "--entries", "40", "--seed", "3")
    subject = next(x for x in (json.loads(run("entry", str(seq)))["statement"]["subject"] for seq in range(30, 60)) if x)
    out = json.loads(run("export", "--case", "(2026)内01行初3号", "--requested-by", "督查室", "--subject", subject,
                         "--out", str(tmp_path / "b.zip"), "--json"))
    assert out["entries"] >= 3 and out["custody_seq"] == out["tree_size"] - 1
    vkey = str(Path(env["LEDGER_VKEY_DIR"]) / "dev-log.vkey")
    ok = json.loads(run("verify-bundle", str(tmp_path / "b.zip"), "--trusted-vkey", vkey, "--json"))
    assert ok["ok"] and ok["custody_seq"] == out["custody_seq"]
    with zipfile.ZipFile(tmp_path / "b.zip") as src, zipfile.ZipFile(tmp_path / "bad.zip", "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, data + b" " if name == "VERIFY.md" else data)  # one byte added
    bad = CliRunner().invoke(main, ["verify-bundle", str(tmp_path / "bad.zip"), "--json"])
    assert bad.exit_code == 1 and json.loads(bad.stdout)["file"] == "VERIFY.md"


def test_tokens_on_the_cli_are_bound_and_on_the_record(env):
    """Art. 68: `ledger tokens issue/revoke` leave entries naming the operator; a
    recorder token is for a registered authority in its registered region."""
    run("demo", "--entries", "1")
    issued = json.loads(run("tokens", "issue", "--role", "recorder", "--authority", "hrss-150200",
                            "--actor", "operator:王管理员", "--label", "包头 李科员", "--json"))
    assert issued["region"] == "150200" and issued["token"].startswith("il_")
    wrong = CliRunner().invoke(main, ["tokens", "issue", "--role", "recorder", "--authority", "hrss-150200",
                                      "--region", "150100", "--json"])
    assert wrong.exit_code == 2 and json.loads(wrong.stdout)["problems"][0]["field"] == "body.region"
    nobody = CliRunner().invoke(main, ["tokens", "issue", "--role", "recorder", "--authority", "hrss-999999",
                                       "--json"])
    assert nobody.exit_code == 2
    run("tokens", "revoke", issued["token_id"], "--actor", "operator:王管理员")
    size = json.loads(run("summary", "--json"))["size"]
    last_two = [json.loads(run("entry", str(seq), "--raw")) for seq in (size - 2, size - 1)]
    last_two = [{**e.pop("statement", {}), **e} for e in last_two]  # v2: the content is the statement (§2.7)
    assert [e["type"] for e in last_two] == ["token.issued", "token.revoked"]
    assert {e["actor"] for e in last_two} == {"operator:王管理员"}
    assert "李科员" not in json.dumps(last_two, ensure_ascii=False)
    assert issued["token"].split("_")[2] not in json.dumps(last_two)
