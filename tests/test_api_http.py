"""The API over real HTTP: `ledger serve` (uvicorn) on loopback, driven the way
users drive it -- tokens from `ledger tokens issue`, the named operations in
graphql/operations/, curl, and proofs checked offline with `ledger verify-proof`
-- and the way attackers drive it (docs/limits.md): the reported costly query,
hammering, malformed bodies."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.api_support import LEDGER, start_serve

ROOT = Path(__file__).resolve().parent.parent
OPS = ROOT / "graphql" / "operations"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("served")
    env = {**os.environ, "LEDGER_KEY_PASSPHRASE": "pw-for-tests", "LEDGER_KEY_DIR": str(tmp / "private"),
           "LEDGER_VKEY_DIR": str(tmp / "keys"), "LEDGER_STATE_DIR": str(tmp / "state"),
           "LEDGER_DATABASE_URL": f"sqlite:///{tmp}/ledger.db"}

    def cli(*args: str) -> str:
        out = subprocess.run([LEDGER, *args], capture_output=True, text=True, env=env, timeout=300)
        assert out.returncode == 0, out.stderr
        return out.stdout

    cli("db", "upgrade")
    cli("demo", "--entries", "150", "--seed", "3")
    cli("checkpoint")
    tokens = {
        "officer": cli("tokens", "issue", "--role", "programme_officer", "--authority", "nmg-talent-office",
                       "--region", "150000", "--label", "科员").strip(),
        "auditor": cli("tokens", "issue", "--role", "auditor", "--expires", "1d").strip(),
    }
    base, proc = start_serve(env, timeout=30)
    yield {"url": f"{base}/graphql", "base": base, "tokens": tokens, "cli": cli, "tmp": tmp, "env": env}
    proc.terminate()
    proc.wait(timeout=10)
    # Whatever the tests sent (malformed bodies, attacks included), the server logged no traceback.
    log = proc.stderr.read()
    assert "Traceback" not in log, log[-3000:]


def call(server, who: str, operation: str, variables: dict) -> dict:
    r = httpx.post(server["url"], json={"query": (OPS / f"{operation}.graphql").read_text(), "variables": variables},
                   headers={"Authorization": f"Bearer {server['tokens'][who]}"}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body
    return body["data"]


def sanctioned_subject(server) -> str:
    r = httpx.post(server["url"], json={"query": '{ entries(first: 1, types: ["sanction.imposed"]) { ... on '
                                                 'EntryConnection { edges { node { subject body } } } } }'},
                   headers={"Authorization": f"Bearer {server['tokens']['auditor']}"}, timeout=30)
    return r.json()["data"]["entries"]["edges"][0]["node"]


def test_officer_runs_the_pre_award_check_with_curl(server):
    node = sanctioned_subject(server)
    region = node["body"]["scope"]["regions"][0]
    variables = {"subject": node["subject"], "benefit": node["body"]["scope"]["benefits"][0], "programme": "草原英才",
                 "region": region, "on": node["body"]["effective_from"]}
    payload = json.dumps({"query": (OPS / "pre_award_check.graphql").read_text(), "variables": variables})
    if shutil.which("curl"):
        out = subprocess.run(["curl", "-sS", "-H", f"Authorization: Bearer {server['tokens']['officer']}",
                              "-H", "Content-Type: application/json", "--data-binary", payload, server["url"]],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        data = json.loads(out)["data"]
    else:  # pragma: no cover - curl is on every CI image we use
        data = call(server, "officer", "pre_award_check", variables)
    assert data["eligibility"]["answer"] == "barred"
    assert data["eligibility"]["tree_size"] == data["subject"]["tree_size"] > 0
    assert data["eligibility"]["blocking"][0]["seq"] in [s["seq"] for s in data["subject"]["sanctions"]]


def test_auditor_fetches_a_checkpoint_and_proof_that_verify_offline(server):
    data = call(server, "auditor", "auditor_proof_fetch", {"seq": 42})
    tmp = server["tmp"]
    (tmp / "42.tlog-proof").write_text(data["inclusion_proof"]["tlog_proof"])
    (tmp / "42.entry").write_bytes(data["entry"]["canonical"].encode())
    vkey = tmp / "keys" / "dev-log.vkey"
    out = json.loads(server["cli"]("verify-proof", str(tmp / "42.tlog-proof"), "--vkey", str(vkey),
                                   "--entry", str(tmp / "42.entry"), "--json"))
    assert out["ok"] and out["index"] == 42 and out["tree_size"] == data["latest_checkpoint"]["size"]
    assert out["root"] == data["latest_checkpoint"]["root_hash"] == data["inclusion_proof"]["root_hash"]
    # A single flipped byte in the entry is caught offline.
    (tmp / "42.entry").write_bytes(data["entry"]["canonical"].replace('"seq":42', '"seq":43').encode())
    bad = subprocess.run([LEDGER, "verify-proof", str(tmp / "42.tlog-proof"), "--vkey", str(vkey), "--entry",
                          str(tmp / "42.entry")], capture_output=True, text=True, env=server["env"])
    assert bad.returncode == 1


def test_concurrent_requests_and_token_revocation_over_http(server):
    node = sanctioned_subject(server)
    q = ('query($s: String!) { eligibility(subject: $s, benefit: subsidy, region: "150000") '
         '{ ... on Eligibility { answer tree_size } } }')

    def ask(_):
        r = httpx.post(server["url"], json={"query": q, "variables": {"s": node["subject"]}},
                       headers={"Authorization": f"Bearer {server['tokens']['officer']}"}, timeout=30)
        return r.status_code, r.json()["data"]["eligibility"]["tree_size"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(32)))
    assert {a[0] for a in answers} == {200} and len({a[1] for a in answers}) == 1

    fresh = server["cli"]("tokens", "issue", "--role", "auditor").strip()
    headers = {"Authorization": f"Bearer {fresh}"}
    assert httpx.post(server["url"], json={"query": "{ me { role } }"}, headers=headers).status_code == 200
    server["cli"]("tokens", "revoke", fresh)
    r = httpx.post(server["url"], json={"query": "{ me { role } }"}, headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert httpx.post(server["url"], json={"query": "{ me { role } }"}).status_code == 401
    assert httpx.get(server["url"]).status_code == 405  # queries are POSTed (no GraphiQL: it needs a CDN)


def test_the_documented_curl_script_runs_the_pre_award_check(server):
    if not shutil.which("curl"):  # pragma: no cover
        pytest.skip("curl not installed")
    env = {**os.environ, "TOKEN": server["tokens"]["officer"], "AUDITOR_TOKEN": server["tokens"]["auditor"],
           "URL": server["url"]}
    node = sanctioned_subject(server)
    out = subprocess.run(["bash", str(ROOT / "docs" / "examples" / "pre-award.sh"), "", node["body"]["scope"]["regions"][0],
                          node["body"]["scope"]["benefits"][0], node["body"]["effective_from"]],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)["data"]
    assert data["eligibility"]["answer"] == "barred" and data["subject"]["ref"] == node["subject"]


def test_the_documented_auditor_script_verifies_offline(server, tmp_path):
    if not shutil.which("curl"):  # pragma: no cover
        pytest.skip("curl not installed")
    env = {**os.environ, "TOKEN": server["tokens"]["auditor"], "URL": server["url"], "LEDGER": LEDGER}
    vkey = server["tmp"] / "keys" / "dev-log.vkey"
    out = subprocess.run(["bash", str(ROOT / "docs" / "examples" / "auditor-proof.sh"), "17", str(vkey), str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("OK: entry 17 is in ") and (tmp_path / "checkpoint.txt").read_text().count("\n") >= 4


ENTRY = ("seq type recorded_at authority { id region } actor subject refs request_id body signer sig canonical "
         "canonical_base64 leaf_hash")
ATTACK = ("query Attack($ids: [String!]!) { " + " ".join(
    f"a{i}: subjects(ids: $ids) {{ ... on SubjectList {{ subjects {{ ref history(first: 100) {{ edges {{ node {{ "
    f"{ENTRY} }} }} }} }} }} }}" for i in range(15)) + " }")


def test_the_reported_attack_is_refused_and_hammering_it_gets_429(server):
    """The reported attack against `ledger serve`'s default limits, from a programme
    officer's token: refused before it runs (cost_exceeded); sent again and again,
    each refusal is charged the limit, the token's budget is spent and the answers
    become 429 with Retry-After, while another officer's pre-award check is served."""
    abuser = server["cli"]("tokens", "issue", "--role", "programme_officer", "--authority", "nmg-talent-office",
                           "--region", "150000", "--label", "abuser").strip()
    ids = [f"{i:064x}" for i in range(100)]
    answers = []
    with httpx.Client(headers={"Authorization": f"Bearer {abuser}"}, timeout=30) as c:
        for _ in range(6):
            answers.append(c.post(server["url"], json={"query": ATTACK, "variables": {"ids": ids}}))
            if answers[-1].status_code == 429:
                break
    first = answers[0].json()
    assert answers[0].status_code == 200 and first["data"] is None
    assert first["errors"][0]["extensions"] == {"code": "cost_exceeded", "cost": 1_803_016, "limit": 50_000}
    refused = answers[-1]
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["errors"][0]["extensions"]["code"] == "rate_limited"
    node = sanctioned_subject(server)
    data = call(server, "officer", "pre_award_check", {
        "subject": node["subject"], "benefit": node["body"]["scope"]["benefits"][0], "programme": "草原英才",
        "region": node["body"]["scope"]["regions"][0], "on": node["body"]["effective_from"]})
    assert data["eligibility"]["answer"] == "barred"


@pytest.mark.parametrize("body,content_type,code", [
    (b"[" * 30_000 + b"]" * 30_000, "application/json", "invalid_json"),
    (b'{"query": "{ me { role } }\xff"}', "application/json", "invalid_json"),
    (b'["{ me { role } }"]', "application/json", "invalid_request"),
    (b"{ me { role } }", "application/graphql", "unsupported_media_type"),
])
def test_malformed_bodies_over_http_are_a_json_400(server, body, content_type, code):
    r = httpx.post(server["url"], content=body, timeout=30, headers={
        "Authorization": f"Bearer {server['tokens']['auditor']}", "Content-Type": content_type})
    assert r.status_code == 400 and r.headers["content-type"] == "application/json"
    assert r.json()["errors"][0]["extensions"]["code"] == code


def test_two_operations_need_an_operation_name_over_http(server):
    document = "query A { me { role } } query B { me { token_id } }"
    headers = {"Authorization": f"Bearer {server['tokens']['auditor']}"}
    r = httpx.post(server["url"], json={"query": document}, headers=headers, timeout=30)
    assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "operation_name_required"
    r = httpx.post(server["url"], json={"query": document, "operationName": "A"}, headers=headers, timeout=30)
    assert r.json() == {"data": {"me": {"role": "auditor"}}}


def test_limits_are_set_on_the_command_line(server):
    """docs/limits.md: an operator tightens (or switches off) a limit for one process;
    a combination that could never admit an operation is refused before serving."""
    bad = subprocess.run([LEDGER, "serve", "--max-cost", "100", "--cost-burst", "50"], capture_output=True,
                         text=True, env=server["env"], timeout=60)
    assert bad.returncode == 2 and "cost_burst 50 is below max_cost 100" in bad.stderr
    junk = subprocess.run([LEDGER, "serve", "--max-in-flight", "many"], capture_output=True, text=True,
                          env=server["env"], timeout=60)
    assert junk.returncode == 2 and "not a number or 'off'" in junk.stderr
    base, proc = start_serve(server["env"], timeout=30, args=("--max-cost", "60", "--max-page", "4"))
    try:
        auditor = {"Authorization": f"Bearer {server['tokens']['auditor']}"}
        page = "{ entries(first: N) { ... on EntryConnection { edges { node { seq } } } "
        page += "... on ValidationFailed { problems { field rule } } } }"
        # A page of 4 costs 46 (each edge and node an object), within 60: answered.
        r = httpx.post(f"{base}/graphql", json={"query": page.replace("N", "4")}, headers=auditor, timeout=30)
        assert len(r.json()["data"]["entries"]["edges"]) == 4, r.text
        # 5 are over this process's page cap (the default is 100), and priced at the cap.
        r = httpx.post(f"{base}/graphql", json={"query": page.replace("N", "5")}, headers=auditor, timeout=30)
        assert r.json()["data"]["entries"]["problems"][0]["field"] == "first", r.text
        # Two aliases of 4 cost 92: refused before running.
        two = "{ a: " + page.replace("N", "4")[2:-2] + " b: " + page.replace("N", "4")[2:-2] + " }"
        r = httpx.post(f"{base}/graphql", json={"query": two}, headers=auditor, timeout=30)
        assert r.json()["errors"][0]["extensions"]["code"] == "cost_exceeded", r.text
        small = httpx.post(f"{base}/graphql", json={"query": "{ me { role } }"},
                           headers={"Authorization": f"Bearer {server['tokens']['auditor']}"}, timeout=30)
        assert small.json() == {"data": {"me": {"role": "auditor"}}}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_limit_option_reads_a_number_or_off():
    import click

    from ledger.cli.serve import _Limit

    assert _Limit(int).convert("off", None, None) is None and _Limit(int).convert(" OFF ", None, None) is None
    assert _Limit(float).convert("2.5", None, None) == 2.5 and _Limit(int).convert("7", None, None) == 7
    for bad in ("0", "-3", "1.5x"):
        with pytest.raises(click.BadParameter):
            _Limit(int).convert(bad, None, None)
