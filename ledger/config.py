"""Settings, read once at the edge (CLI, API, DAG) and passed down.

Every value has an environment variable; the CLI's ``--db`` overrides the URL.

The checkpoint origin is the log's name, fixed once by its genesis entry (seq 0,
``ledger init --origin``) and read from the log afterwards (docs/operations.md,
decision 0018). LEDGER_ORIGIN is only a check: set, it must equal the log's
origin, or nothing is signed (``ledger.errors.OriginMismatch``).

| setting            | variable                     | default                          |
|--------------------|------------------------------|----------------------------------|
| database URL       | LEDGER_DATABASE_URL          | sqlite:///var/ledger.db          |
| private-key dir    | LEDGER_KEY_DIR               | var/private-keys (git-ignored)   |
| authority-key dir  | LEDGER_AUTHORITY_KEY_DIR     | <state dir>/authority-keys       |
| verifier-key dir   | LEDGER_VKEY_DIR              | keys                             |
| key passphrase     | LEDGER_KEY_PASSPHRASE[_FILE] | none (required to load keys)     |
| checkpoint origin  | LEDGER_ORIGIN                | none: the log's own (see below)  |
| log key name       | LEDGER_LOG_KEY               | dev-log                          |
| state dir          | LEDGER_STATE_DIR             | var                              |
| vault epoch key    | LEDGER_VAULT_KEY_FILE        | var/vault.key (git-ignored)      |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.errors import ConfigError

if TYPE_CHECKING:
    from ledger.domain.vault import Vault

DEFAULT_DATABASE_URL = "sqlite:///var/ledger.db"
# The origin of development logs only (``ledger demo``): a production log names its own
# at ``ledger init --origin``, and never this one (docs/operations.md).
DEFAULT_ORIGIN = "talent.nmg.example/integrity-ledger"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    key_dir: Path = Path("var/private-keys")
    vkey_dir: Path = Path("keys")
    origin: str | None = None  # configured, checked against the log's (None: the log's own)
    log_key_name: str = "dev-log"
    passphrase_value: bytes | None = field(default=None, repr=False)
    state_dir: Path = Path("var")
    vault_key_file: Path = Path("var/vault.key")
    # Authorities' own keys on a machine that signs for them (`ledger sign`, the demo),
    # apart from the log host's key_dir: `ledger serve` never reads it (decision 0015).
    authority_key_dir: Path = Path("var/authority-keys")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, *, database_url: str | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        passphrase = env.get("LEDGER_KEY_PASSPHRASE")
        if passphrase is None and env.get("LEDGER_KEY_PASSPHRASE_FILE"):
            passphrase = _passphrase_file(env["LEDGER_KEY_PASSPHRASE_FILE"])
        return cls(
            database_url=database_url or env.get("LEDGER_DATABASE_URL") or DEFAULT_DATABASE_URL,
            key_dir=Path(env.get("LEDGER_KEY_DIR", "var/private-keys")),
            vkey_dir=Path(env.get("LEDGER_VKEY_DIR", "keys")),
            origin=env.get("LEDGER_ORIGIN") or None,
            log_key_name=env.get("LEDGER_LOG_KEY", "dev-log"),
            passphrase_value=passphrase.encode() if passphrase else None,
            state_dir=Path(env.get("LEDGER_STATE_DIR", "var")),
            vault_key_file=Path(env.get("LEDGER_VAULT_KEY_FILE", str(Path(env.get("LEDGER_STATE_DIR", "var")) / "vault.key"))),
            authority_key_dir=Path(env.get("LEDGER_AUTHORITY_KEY_DIR",
                                           str(Path(env.get("LEDGER_STATE_DIR", "var")) / "authority-keys"))),
        )

    @property
    def passphrase(self) -> bytes:
        if not self.passphrase_value:
            raise ConfigError("set LEDGER_KEY_PASSPHRASE or LEDGER_KEY_PASSPHRASE_FILE to use private keys")
        return self.passphrase_value

    def vault(self, *, create: bool = False) -> Vault:
        """The key file's vault; it follows rotations by other processes (docs/erasure.md)."""
        from ledger.domain.vault_keys import open_vault

        return open_vault(self.vault_key_file, create=create)

    @property
    def verify_state_path(self) -> Path:
        return self.state_dir / "verify-state.json"


def _passphrase_file(name: str) -> str:
    """The passphrase in the file LEDGER_KEY_PASSPHRASE_FILE names (UTF-8, surrounding
    whitespace ignored), or a ConfigError naming the variable, the file and the fix."""
    fix = "create it holding the passphrase, point LEDGER_KEY_PASSPHRASE_FILE at the right file, or unset it"
    try:
        text = Path(name).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(f"LEDGER_KEY_PASSPHRASE_FILE={name}: no such file; {fix}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"LEDGER_KEY_PASSPHRASE_FILE={name}: not UTF-8 text; write the passphrase as UTF-8") from None
    except OSError as e:  # a directory, no permission, …
        raise ConfigError(f"LEDGER_KEY_PASSPHRASE_FILE={name}: cannot read it ({e.strerror or e}); point it at "
                          "a file this user can read (mode 0600) holding the passphrase, or unset it") from None
    if not text:
        raise ConfigError(f"LEDGER_KEY_PASSPHRASE_FILE={name}: the file is empty; write the passphrase in it")
    return text
