"""Files at rest are the ledger user's alone (docs/keys-and-files.md): under a
umask of 022, a realistic run (keys, demo, checkpoint, verify, a witness, a
reconciliation, an export on the command line and one through the API) leaves
no file group- or other-readable and no directory group- or other-listable.

The public verifier keys (``LEDGER_VKEY_DIR``) are public by design and not walked.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from ledger.api.app import create_app, state_from_settings
from ledger.cli import main
from ledger.config import Settings
from ledger.signing.private_files import private_dir, write_private

PERSON = "cn-rid:150102199001010019"


@pytest.fixture
def env(tmp_path, monkeypatch):
    values = {"LEDGER_KEY_PASSPHRASE": "correct horse battery staple", "LEDGER_KEY_DIR": str(tmp_path / "private"),
              "LEDGER_VKEY_DIR": str(tmp_path / "vkeys"), "LEDGER_STATE_DIR": str(tmp_path / "state"),
              "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db"}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return values


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def exposed(root: Path, skip: Path) -> dict[str, str]:
    """Every file or directory under ``root`` (but ``skip``) that group or others can read, with its mode."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path == skip or skip in path.parents:
            continue
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            out[path.relative_to(root).as_posix()] = oct(mode)
    return out


@pytest.fixture
def demo_run(tmp_path, env, umask_022) -> Path:
    from datetime import UTC, datetime

    from ledger.finance.business_day import last_finished

    night = last_finished(datetime.now(UTC)).isoformat()  # reconciled only once over: recorded on it
    run("keys", "generate", "witness-1", "--witness")
    run("demo", "--entries", "40", "--seed", "3", "--recorded-on", night)
    run("checkpoint")
    run("verify")
    vkeys = Path(env["LEDGER_VKEY_DIR"])
    run("witness", "cosign", "--key", "witness-1", "--state", str(tmp_path / "state" / "witness.json"),
        "--log-vkey", str(vkeys / "dev-log.vkey"))
    run("demo-funding", "--as-of", night, "--out", str(tmp_path / "state" / "funding"), "--per-kind", "1")
    run("reconcile", "--funding", str(tmp_path / "state" / "funding" / "funding.csv"), "--as-of", night,
        "--out", str(tmp_path / "state" / "reports"))
    subject = next(x for x in (json.loads(run("entry", str(seq)))["statement"]["subject"] for seq in range(30, 60)) if x)
    run("export", "--case", "(2026)内01行初3号", "--requested-by", "督查室", "--subject", subject,
        "--out", str(tmp_path / "out" / "case.zip"))
    # The same subject through the API: a court token of the case asks for it and downloads it.
    token = json.loads(run("tokens", "issue", "--role", "court", "--case", "(2026)内01行初4号", "--subject", subject,
                           "--json"))["token"]
    client = TestClient(create_app(state_from_settings(Settings.from_env())))
    auth = {"Authorization": f"Bearer {token}"}
    ready = client.post("/graphql", headers=auth, json={
        "query": "mutation($s: [String!]!) { request_export(subjects: $s) { __typename ... on ExportReady "
                 "{ download_path } } }", "variables": {"s": [subject]}}).json()["data"]["request_export"]
    assert ready["__typename"] == "ExportReady", ready
    assert client.get(ready["download_path"], headers=auth).status_code == 200
    return tmp_path


def test_what_the_ledgers_own_writers_create_is_private(demo_run):
    root = demo_run
    for d in ("private", "state/authority-keys", "out", "state/exports"):
        assert stat.S_IMODE((root / d).stat().st_mode) == 0o700, d
    # The authorities' keys are apart from the server's (decision 0015).
    files = [*(root / "private").glob("*.key"), *(root / "state" / "authority-keys").glob("*.key"),
             root / "out" / "case.zip", *(root / "state" / "exports").glob("*.zip")]
    assert len(files) >= 16  # 14 demo keys, the witness's, two bundles
    assert {oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == {"0o600"}
    assert not list(root.rglob("*.tmp"))  # atomic writes leave no temporary behind


def test_nothing_of_a_demo_run_is_exposed(demo_run):
    """Keys, state, exports, the funding files, reports, the database: nothing a demo
    run writes is readable by group or others under umask 022 (public keys aside)."""
    assert exposed(demo_run, skip=demo_run / "vkeys") == {}


def test_private_files_ignore_the_umask_both_ways(tmp_path):
    """0600/0700 exactly: under 022 nothing is widened; under 0777 the owner can still read."""
    for mask in (0o022, 0o000, 0o777):
        old = os.umask(mask)
        try:
            path = write_private(tmp_path / f"m{mask:o}" / "a" / "f.txt", "x")
            made = private_dir(tmp_path / f"d{mask:o}" / "b")
        finally:
            os.umask(old)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == "x"
        assert {stat.S_IMODE(p.stat().st_mode) for p in (path.parent, path.parent.parent, made, made.parent)} == {0o700}


def test_an_existing_directory_is_left_as_the_operator_made_it(tmp_path):
    (tmp_path / "shared").mkdir(mode=0o755)
    os.chmod(tmp_path / "shared", 0o755)
    write_private(tmp_path / "shared" / "case.zip", b"PK")
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "shared" / "case.zip").stat().st_mode) == 0o600


def test_exclusive_never_overwrites(tmp_path):
    write_private(tmp_path / "k", b"first", exclusive=True)
    with pytest.raises(FileExistsError):
        write_private(tmp_path / "k", b"second", exclusive=True)
    assert (tmp_path / "k").read_bytes() == b"first" and [p.name for p in tmp_path.iterdir()] == ["k"]
