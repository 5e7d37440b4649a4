"""A second ledger process for tests/test_erasure_attack.py (run as ``python -m tests.vault_process``).

    hold URL KEYFILE IDENTIFIER     open the vault, look IDENTIFIER up, print JSON; wait for a
                                    line on stdin (the parent rotates), look it up again and
                                    reveal it, print JSON: the process must follow the rotation
    die-at URL KEYFILE STEP         rotate, and exit abruptly (os._exit: no cleanup, no
                                    rollback, no unlock by Python) right after STEP
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from ledger.domain import vault_store
from ledger.domain.subjects import lookup
from ledger.domain.vault_keys import open_vault
from ledger.domain.vault_rotation import rotate
from ledger.store.engine import make_engine


def hold(url: str, key_file: str, identifier: str) -> None:
    engine, vault = make_engine(url), open_vault(Path(key_file))
    print(json.dumps({"epoch": vault.epoch, "ref": lookup(engine, vault, identifier)}), flush=True)
    sys.stdin.readline()
    ref = lookup(engine, vault, identifier)
    with engine.connect() as conn:
        name = vault_store.reveal(conn, vault, ref).name if ref else None
    print(json.dumps({"epoch": vault.epoch, "ref": ref, "name": name}, ensure_ascii=False), flush=True)


def die_at(url: str, key_file: str, step: str) -> None:
    def on_step(s: str) -> None:
        if s == step:
            os._exit(17)

    rotate(make_engine(url), open_vault(Path(key_file)), lambda: datetime.now(UTC), on_step=on_step)
    os._exit(0)  # STEP never came: the parent fails on the exit code


if __name__ == "__main__":
    {"hold": hold, "die-at": die_at}[sys.argv[1]](*sys.argv[2:])
