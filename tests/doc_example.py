"""The worked example of docs/formats.md, rebuilt from seeded keys and a fixed
clock (Ed25519 signatures are deterministic, RFC 8032 §5.1.6), so a test can
check the document still tells the truth. Run it to print the values."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.log import prove, publish
from ledger.log.append import append_entries
from ledger.log.entry import Authority, Draft
from ledger.log.operator import init_log, register_authority, register_key
from ledger.signing.keyring import Keyring
from ledger.signing.keys import Signer
from ledger.store.engine import make_engine
from ledger.store.migrate import upgrade
from tests.conftest import FixedClock

ORIGIN = "talent.nmg.example/integrity-ledger"


def build(db_path: str) -> dict:
    engine = make_engine(f"sqlite:///{db_path}")
    upgrade(engine)
    clock = FixedClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    log = Signer.from_seed("example-log", b"docs example log key")
    hohhot = Signer.from_seed("example-hrss-150100", b"docs example hohhot key")
    ring = Keyring(log, {"hrss-150100": hohhot})
    init_log(engine, log, ORIGIN, clock)
    register_authority(engine, log, "hrss-150100", "呼和浩特市人力资源和社会保障局", "150100", clock)
    register_key(engine, log, hohhot.verifier.vkey(), "hrss-150100", clock, purpose="records of 呼和浩特市")
    e = append_entries(engine, [Draft("note.recorded", Authority("hrss-150100", "150100"), "officer-07@hrss-150100",
                                      None, (), "2026-03-02-0001", {"text": "草原英才工程评审会议纪要（第3号）"})],
                       ring, clock)[0]
    cp, _ = publish.publish(engine, log, ORIGIN, clock)
    with engine.connect() as conn:
        incl = prove.inclusion(conn, e.seq, e.seq + 1)
    return {
        "log_vkey": log.verifier.vkey(), "authority_vkey": hohhot.verifier.vkey(),
        "canonical": e.canonical.decode(), "leaf_hash": e.leaf_hash.hex(), "signing_bytes": e.signing_bytes.decode(),
        "checkpoint": cp, "proof": [h.hex() for h in incl.proof], "root": incl.root.hex(),
        "tlog_proof": prove.tlog_proof(engine, e.seq),
    }


if __name__ == "__main__":
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        print(json.dumps(build(f"{d}/x.db"), ensure_ascii=False, indent=1))
