"""Authority keys on a hardware token (PKCS#11), against a real SoftHSM2.

``make test`` installs Debian's softhsm2 (.ci/softhsm-up) and sets
LEDGER_TEST_REQUIRE_SOFTHSM=1, so there a missing module fails instead of skipping."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger.cli import main
from ledger.errors import ConfigError, SignatureError
from ledger.log.statement import signed_statement_from_json
from ledger.signing.token_key import TokenKey, TokenSlot, generate_on_token
from tests.conftest import run_cli

MODULES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
PIN, SO_PIN = "246810", "13579135"


def _module() -> str | None:
    wanted = os.environ.get("LEDGER_TEST_SOFTHSM_MODULE")
    candidates = (wanted,) if wanted else MODULES
    return next((m for m in candidates if m and Path(m).exists()), None)


@pytest.fixture(scope="module")
def softhsm(tmp_path_factory) -> tuple[str, str]:
    """One SoftHSM2 token directory for the module: the library reads SOFTHSM2_CONF once,
    when this process first initialises it, so every test's token lives there."""
    module, util = _module(), shutil.which("softhsm2-util")
    if module is None or util is None:
        if os.environ.get("LEDGER_TEST_REQUIRE_SOFTHSM") == "1":
            pytest.fail("SoftHSM2 required (make test installs it: .ci/softhsm-up)")
        pytest.skip("SoftHSM2 not installed (bash .ci/softhsm-up)")
    home = tmp_path_factory.mktemp("softhsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    before = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    yield module, util
    if before is None:
        del os.environ["SOFTHSM2_CONF"]
    else:
        os.environ["SOFTHSM2_CONF"] = before


@pytest.fixture
def token(softhsm, request) -> TokenSlot:
    """A fresh token, labelled for the test, on the module's SoftHSM2."""
    module, util = softhsm
    label = request.node.name[:32]  # CK_TOKEN_INFO.label: 32 bytes
    subprocess.run([util, "--module", module, "--init-token", "--free", "--label", label,
                    "--pin", PIN, "--so-pin", SO_PIN], check=True, capture_output=True)
    # A token initialised by another process appears after C_Finalize/C_Initialize
    # (SoftHSM2 scans its token directory when initialised), as a token plugged in would.
    import pkcs11

    pkcs11.lib(module).reinitialize()
    return TokenSlot(module, label, PIN)


def test_a_key_generated_on_the_token_signs_and_never_leaves_it(token):
    import pkcs11
    from pkcs11 import Attribute, KeyType, ObjectClass

    vkey = generate_on_token(token, "tok-hrss-150100")
    with TokenKey(token, "tok-hrss-150100") as key:
        assert key.verifier == vkey
        sig = key.sign(b"integrity-ledger/statement/v2\n{}")
    vkey.verify(sig, b"integrity-ledger/statement/v2\n{}")  # pure Ed25519, RFC 8032
    lib = pkcs11.lib(token.module)
    with lib.get_token(token_label=token.token_label).open(user_pin=PIN) as s:
        private = s.get_key(object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC_EDWARDS, label=vkey.name)
        assert private[Attribute.SENSITIVE] is True and private[Attribute.EXTRACTABLE] is False
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            private[Attribute.VALUE]  # the private scalar cannot be read out


def test_a_second_key_under_the_same_label_is_refused(token):
    generate_on_token(token, "tok-1")
    with pytest.raises(ConfigError, match="already on the token"):
        generate_on_token(token, "tok-1")


def test_a_wrong_pin_or_label_is_a_clear_configuration_error(token):
    generate_on_token(token, "tok-1")
    with pytest.raises(ConfigError, match="PIN is incorrect"):
        TokenKey(TokenSlot(token.module, token.token_label, "000000"), "tok-1").__enter__()
    with pytest.raises(ConfigError, match="not present"):
        TokenKey(TokenSlot(token.module, "no-such-token", PIN), "tok-1").__enter__()
    with pytest.raises(ConfigError, match="no Ed25519 private key labelled 'tok-2'"):
        TokenKey(token, "tok-2").__enter__()
    with pytest.raises(ConfigError, match="cannot be loaded"):
        TokenKey(TokenSlot("/nonexistent/libpkcs11.so", token.token_label, PIN), "tok-1").__enter__()
    assert PIN not in repr(token)


def test_a_device_returning_a_wrong_signature_is_caught_before_the_statement(token, monkeypatch):
    """Fault injection: the device's C_Sign answers with a corrupted signature."""
    generate_on_token(token, "tok-1")
    with TokenKey(token, "tok-1") as key:
        real = key._private.sign

        class Faulty:
            def sign(self, message, mechanism):
                sig = bytearray(real(message, mechanism=mechanism))
                sig[0] ^= 1
                return bytes(sig)

        monkeypatch.setattr(key, "_private", Faulty())
        with pytest.raises(SignatureError):
            key.sign(b"statement")


def test_ledger_sign_with_a_token_key_is_recorded_and_verifies(tmp_path, monkeypatch, cli_env, token):
    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN + "\n")
    tok = ["--pkcs11-module", token.module, "--token", token.token_label, "--pin-file", str(pin_file)]

    run_cli("demo", "--entries", "1")
    private_files = sorted(os.listdir(tmp_path / "private"))
    vkey = run_cli("keys", "generate", "tok-hrss-150100", *tok).strip()
    assert sorted(os.listdir(tmp_path / "private")) == private_files  # nothing private written here
    assert (tmp_path / "keys" / "tok-hrss-150100.vkey").read_text().strip() == vkey
    run_cli("keys", "register", "tok-hrss-150100", "--authority", "hrss-150100", "--holder", "officer token")

    draft = {"type": "note.recorded", "authority": {"id": "hrss-150100", "region": "150100"}, "actor": "officer-1",
             "request_id": "token-1", "body": {"text": "硬件令牌签名"}}
    (tmp_path / "drafts.jsonl").write_text(json.dumps(draft, ensure_ascii=False) + "\n")
    out = tmp_path / "signed.jsonl"
    run_cli("sign", str(tmp_path / "drafts.jsonl"), "--key", "tok-hrss-150100", "--out", str(out), *tok)
    statement = signed_statement_from_json(json.loads(out.read_bytes()))
    assert statement.statement.key == "tok-hrss-150100"

    # The log host needs no private key of the authority to record it.
    monkeypatch.setenv("LEDGER_KEY_DIR", str(tmp_path / "nothing-here"))
    ack = json.loads(run_cli("record", str(out), "--json"))[0]
    assert json.loads(run_cli("verify", "--json"))["ok"]
    entry = json.loads(CliRunner().invoke(main, ["entry", str(ack["seq"]), "--raw"]).stdout_bytes)
    assert entry["v"] == 2 and entry["statement"]["key"] == "tok-hrss-150100"

    # Half the options, or a PIN that is wrong: refused, nothing signed.
    bad_pin = tmp_path / "bad-pin"
    bad_pin.write_text("000000\n")
    failed = tmp_path / "failed.jsonl"
    wrong = CliRunner().invoke(main, ["sign", str(tmp_path / "drafts.jsonl"), "--key", "tok-hrss-150100",
                                      "--out", str(failed), *tok[:4], "--pin-file", str(bad_pin)])
    assert wrong.exit_code != 0 and "PIN is incorrect" in wrong.output + wrong.stderr
    assert not failed.exists()
    half = CliRunner().invoke(main, ["sign", str(tmp_path / "drafts.jsonl"), "--key", "k", "--token", "x"])
    assert half.exit_code == 2 and "go together" in half.output + half.stderr
