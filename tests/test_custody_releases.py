"""Custody for every release (docs/evidence.md, decision 0018): each release of a
bundle appends its own ``evidence.exported`` entry saying who received what, when,
even a second release of identical content to the same recipient; only a retry of
the same release (the same release id) is idempotent."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ledger.cli import main
from ledger.config import Settings
from ledger.errors import RequestConflict, ValidationError
from ledger.evidence import export as evidence
from ledger.evidence.verifier import verify_bundle
from ledger.store import log_store
from tests.conftest import PERSON

CASE = "(2026)内01行初7号"
COURT, SUPERVISOR = "呼和浩特市中级人民法院", "自治区纪委监委"


@pytest.fixture
def case(domain, tmp_path):
    p = domain.subject(PERSON, "张三")
    domain.grant(p)
    domain.sanction(p, start="2026-07-01", until="2027-06-30")
    settings = Settings(vkey_dir=tmp_path / "vkeys")

    def release(requested_by: str = COURT, **kw) -> evidence.Bundle:
        return evidence.export(domain.engine, domain.keyring, domain.vault, settings, case=kw.pop("case", CASE),
                               requested_by=requested_by, subjects=[p], seqs=[], clock=domain.clock, **kw)
    return release


def size(domain) -> int:
    with domain.engine.connect() as conn:
        return log_store.size(conn)


def test_the_same_bundle_released_twice_leaves_two_custody_records(domain, case):
    """The issue's case: a second release of the same content to the same recipient
    was swallowed as an idempotent retry and left no record."""
    first = case()
    second = case()
    assert second.custody.seq > first.custody.seq
    assert second.custody.body == first.custody.body  # the same content, to the same court ...
    assert second.custody.recorded_at > first.custody.recorded_at  # ... released again, later
    to_other = case(SUPERVISOR)
    assert to_other.custody.seq > second.custody.seq and to_other.custody.body["requested_by"] == SUPERVISOR
    assert to_other.custody.body["content_sha256"] == first.custody.body["content_sha256"]
    for b in (first, second, to_other):  # each bundle carries and proves its own release
        report = verify_bundle(b.data, domain.keyring.log.verifier)
        assert report.custody_seq == b.custody.seq


def test_a_retry_of_the_same_release_records_nothing_new(domain, case):
    first = case(release="R-2026-0001")
    before = size(domain)
    retry = case(release="R-2026-0001")
    assert retry.custody == first.custody and size(domain) == before
    verify_bundle(retry.data, domain.keyring.log.verifier)
    other = case(release="R-2026-0002")  # another release id: another release
    assert other.custody.seq == before and size(domain) == before + 1


def test_a_release_id_reused_for_another_recipient_is_refused_and_writes_nothing(domain, case):
    case(release="R-1")
    before = size(domain)
    with pytest.raises(RequestConflict):
        case(SUPERVISOR, release="R-1")
    assert size(domain) == before


@pytest.mark.parametrize("bad", ["", "   ", "x" * 129, "R\n1"])
def test_a_bad_release_id_is_refused_naming_the_field(domain, case, bad):
    before = size(domain)
    with pytest.raises(ValidationError) as e:
        case(release=bad)
    assert [p.field for p in e.value.problems] == ["release"] and size(domain) == before


def test_a_long_case_number_still_fits_the_request_id(domain, case):
    long_case = "（2026）内01行初" + "1" * 180 + "号"
    b = case(case=long_case, release="R-1")
    assert b.custody.body["case"] == long_case and len(b.custody.request_id) <= 128


def test_the_command_retries_with_a_release_id_and_releases_again_without(tmp_path, monkeypatch):
    for k, v in {"LEDGER_KEY_PASSPHRASE": "correct horse battery staple", "LEDGER_KEY_DIR": str(tmp_path / "private"),
                 "LEDGER_VKEY_DIR": str(tmp_path / "keys"), "LEDGER_STATE_DIR": str(tmp_path / "state"),
                 "LEDGER_VAULT_KEY_FILE": str(tmp_path / "no-vault.key"),
                 "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("LEDGER_ORIGIN", raising=False)

    def run(*args: str) -> dict:
        r = CliRunner().invoke(main, list(args))
        assert r.exit_code == 0, r.output + r.stderr
        return json.loads(r.stdout) if r.stdout.startswith("{") else {}

    run("keys", "generate", "dev-log")
    run("init", "--origin", "test.example/custody")
    export = ("export", "--case", CASE, "--requested-by", COURT, "--seq", "0", "--json")
    a = run(*export, "--out", str(tmp_path / "a.zip"), "--release-id", "R-1")
    retry = run(*export, "--out", str(tmp_path / "a2.zip"), "--release-id", "R-1")
    again = run(*export, "--out", str(tmp_path / "b.zip"))
    once_more = run(*export, "--out", str(tmp_path / "c.zip"))
    assert retry["custody_seq"] == a["custody_seq"]
    assert a["custody_seq"] < again["custody_seq"] < once_more["custody_seq"]
