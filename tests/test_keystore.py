"""Private keys at rest (docs/keys-and-files.md): scrypt + AES-256-GCM, 0600 files
in 0700 directories whatever the umask, typed errors for a wrong passphrase or a
missing or damaged file, old PKCS#8 files still loading and rewrapped on request."""

from __future__ import annotations

import json
import logging
import stat

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, Encoding, PrivateFormat

import ledger.cli.keys_rewrap  # noqa: F401  (registers `ledger keys rewrap`)
from ledger.cli import main
from ledger.errors import ConfigError, KeyFormatError
from ledger.signing import keystore
from ledger.signing.keys import Signer

PW = b"correct horse battery staple"


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def legacy_file(tmp_path, name: str, seed: bytes = b"legacy") -> Signer:
    """A key as earlier versions wrote it: PKCS#8 PEM, BestAvailableEncryption (PBKDF2, 2,048 rounds)."""
    signer = Signer.from_seed(name, seed)
    (tmp_path / "k").mkdir(exist_ok=True)
    (tmp_path / "k" / f"{name}.key").write_bytes(
        signer.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(PW)))
    return signer


def test_a_key_round_trips_and_is_private_under_umask_022(tmp_path, umask_022):
    d = tmp_path / "var" / "private-keys"
    made = keystore.generate("k1", d, tmp_path / "vkeys", PW)
    assert mode(d) == 0o700 and mode(d.parent) == 0o700  # every directory it created
    assert mode(keystore.private_path(d, "k1")) == 0o600
    loaded = keystore.load("k1", d, PW)
    assert loaded.verifier == made.verifier
    assert loaded.sign(b"m") == made.sign(b"m")  # Ed25519 is deterministic: the same private key


def test_the_file_states_its_kdf_and_binds_every_field(tmp_path):
    d = tmp_path / "k"
    keystore.generate("k1", d, tmp_path / "v", PW, cost=keystore.ScryptCost(n=2**12))
    obj = json.loads(keystore.private_path(d, "k1").read_bytes())
    assert obj["format"] == "integrity-ledger/private-key" and obj["version"] == 1
    assert obj["kdf"] | {"salt": None} == {"name": "scrypt", "n": 4096, "r": 8, "p": 1, "salt": None}
    assert obj["cipher"]["name"] == "aes-256-gcm"
    assert keystore.file_cost("k1", d) == keystore.ScryptCost(n=2**12)
    # A file copied to another key's name is refused; so is one whose name or cost was edited to match.
    keystore.private_path(d, "k2").write_bytes(keystore.private_path(d, "k1").read_bytes())
    with pytest.raises(KeyFormatError, match="private key 'k2'"):
        keystore.load("k2", d, PW)
    keystore.private_path(d, "k2").write_text(json.dumps({**obj, "name": "k2"}))
    with pytest.raises(ConfigError, match="wrong passphrase for key 'k2'"):
        keystore.load("k2", d, PW)
    keystore.private_path(d, "k1").write_text(json.dumps({**obj, "kdf": {**obj["kdf"], "n": 2}}))
    with pytest.raises(ConfigError, match="wrong passphrase for key 'k1'"):
        keystore.load("k1", d, PW)


def test_the_default_cost_is_owasps_scrypt_floor():
    # OWASP Password Storage Cheat Sheet: scrypt N=2^17 (128 MiB), r=8, p=1.
    assert keystore.STRONG == keystore.ScryptCost(n=2**17, r=8, p=1)
    assert 128 * keystore.STRONG.n * keystore.STRONG.r == 128 * 2**20


def test_a_wrong_passphrase_and_a_missing_file_are_config_errors(tmp_path):
    d = tmp_path / "k"
    keystore.generate("k1", d, tmp_path / "v", PW)
    with pytest.raises(ConfigError, match="wrong passphrase for key 'k1'"):
        keystore.load("k1", d, b"not it")
    with pytest.raises(ConfigError, match="no private key 'nope'"):
        keystore.load("nope", d, PW)
    with pytest.raises(ConfigError, match="already exists"):
        keystore.generate("k1", d, tmp_path / "v", PW)


@pytest.mark.parametrize("damage", [b"", b"{", b"[]", b'{"format": "integrity-ledger/private-key"}', b"\xff\xfe"])
def test_a_damaged_file_is_a_key_format_error(tmp_path, damage):
    (tmp_path / "k").mkdir()
    keystore.private_path(tmp_path / "k", "k1").write_bytes(damage)
    with pytest.raises(KeyFormatError, match="private key 'k1'"):
        keystore.load("k1", tmp_path / "k", PW)


def test_a_hostile_cost_is_refused_before_any_derivation(tmp_path):
    d = tmp_path / "k"
    keystore.generate("k1", d, tmp_path / "v", PW)
    obj = json.loads(keystore.private_path(d, "k1").read_bytes())
    obj["kdf"]["n"] = 2**30  # 128 GiB of memory
    keystore.private_path(d, "k1").write_text(json.dumps(obj))
    with pytest.raises(KeyFormatError):
        keystore.load("k1", d, PW)


def test_keys_in_one_directory_share_a_salt_so_a_keyring_costs_one_derivation(tmp_path):
    d = tmp_path / "k"
    for name in ("a", "b", "c"):
        keystore.generate(name, d, tmp_path / "v", PW)
    salts = {json.loads(keystore.private_path(d, n).read_bytes())["kdf"]["salt"] for n in ("a", "b", "c")}
    nonces = {json.loads(keystore.private_path(d, n).read_bytes())["cipher"]["nonce"] for n in ("a", "b", "c")}
    assert len(salts) == 1 and len(nonces) == 3


def test_an_old_pkcs8_key_loads_with_a_warning(tmp_path, caplog):
    signer = legacy_file(tmp_path, "old")
    with caplog.at_level(logging.WARNING, logger="ledger.keystore"):
        loaded = keystore.load("old", tmp_path / "k", PW)
    assert loaded.verifier == signer.verifier
    assert "ledger keys rewrap" in caplog.text
    with pytest.raises(ConfigError, match="wrong passphrase for key 'old'"):
        keystore.load("old", tmp_path / "k", b"not it")


def test_rewrap_upgrades_old_and_cheap_keys_and_leaves_strong_ones(tmp_path, umask_022):
    old = legacy_file(tmp_path, "old")
    d = tmp_path / "k"
    keystore.generate("cheap", d, tmp_path / "v", PW, cost=keystore.ScryptCost(n=2**10))
    target = keystore.ScryptCost(n=2**11)
    done = {r.name: r for r in keystore.rewrap(d, PW, cost=target)}
    assert done["old"].before == "pkcs8-pbkdf2" and done["old"].after == "scrypt n=2048 r=8 p=1"
    assert done["cheap"].before == "scrypt n=1024 r=8 p=1" and done["cheap"].after == "scrypt n=2048 r=8 p=1"
    assert keystore.file_cost("old", d) == target and mode(keystore.private_path(d, "old")) == 0o600
    assert keystore.load("old", d, PW).verifier == old.verifier
    again = keystore.rewrap(d, PW, cost=target)
    assert all(r.after is None for r in again)  # idempotent
    assert not [p for p in d.iterdir() if p.name.endswith(".tmp")]


def test_rewrap_with_a_wrong_passphrase_changes_nothing(tmp_path):
    legacy_file(tmp_path, "old")
    before = (tmp_path / "k" / "old.key").read_bytes()
    with pytest.raises(ConfigError, match="wrong passphrase"):
        keystore.rewrap(tmp_path / "k", b"not it")
    assert (tmp_path / "k" / "old.key").read_bytes() == before


def test_ledger_keys_rewrap_on_the_command_line(tmp_path):
    legacy_file(tmp_path, "old")
    env = {"LEDGER_KEY_DIR": str(tmp_path / "k"), "LEDGER_KEY_PASSPHRASE": PW.decode()}
    out = CliRunner().invoke(main, ["keys", "rewrap", "--json"], env=env)
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)[0]["before"] == "pkcs8-pbkdf2"
    assert keystore.file_cost("old", tmp_path / "k") == keystore.KDF_COST
    wrong = CliRunner().invoke(main, ["keys", "rewrap"], env={**env, "LEDGER_KEY_PASSPHRASE": "nope"})
    assert wrong.exit_code == 2 and "wrong passphrase for key 'old'" in wrong.output


@pytest.mark.parametrize("name", ["../outside", "a/b", "..\\x", ".hidden", "nul\0byte"])
def test_a_key_name_never_reaches_outside_its_directory(tmp_path, name):
    """The library refuses what the CLI refuses: ``generate("../x")`` once wrote a key
    beside the key directory."""
    from ledger.errors import ValidationError

    with pytest.raises(ValidationError):
        keystore.generate(name, tmp_path / "private", tmp_path / "keys", b"pw")
    with pytest.raises(ValidationError):
        keystore.load(name, tmp_path / "private", b"pw")
    assert not list(tmp_path.rglob("*.key")) and not list(tmp_path.rglob("*.vkey"))
