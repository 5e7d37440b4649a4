"""The worked example of docs/formats.md, rebuilt from seeded keys and a fixed
clock (Ed25519 signatures are deterministic, RFC 8032 §5.1.6), so a test can
check the document still tells the truth. Run it to print the values
(``python -m tests.doc_example`` for format v2, ``… 1`` for the v1 example)."""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.log import canonical, prove, publish
from ledger.log.append import append_entries
from ledger.log.entry import Authority, Draft
from ledger.log.operator import authority_draft, genesis_draft, key_draft
from ledger.signing.keyring import Keyring
from ledger.signing.keys import Signer
from ledger.store.engine import make_engine
from ledger.store.migrate import upgrade
from tests.conftest import FixedClock

ORIGIN = "talent.nmg.example/integrity-ledger"


def build(db_path: str, version: int = 2) -> dict:
    """The example log in format ``version`` (2: what ``ledger init`` writes now; 1:
    a log begun before format v2, docs/formats.md §1.1), up to a checkpoint at size 4."""
    engine = make_engine(f"sqlite:///{db_path}")
    upgrade(engine)
    clock = FixedClock(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    log = Signer.from_seed("example-log", b"docs example log key")
    hohhot = Signer.from_seed("example-hrss-150100", b"docs example hohhot key")
    ring = Keyring(log, {"hrss-150100": hohhot})
    for draft in (genesis_draft(log.verifier.vkey(), ORIGIN),
                  authority_draft("hrss-150100", "呼和浩特市人力资源和社会保障局", "150100"),
                  key_draft(hohhot.verifier.vkey(), "hrss-150100", purpose="records of 呼和浩特市")):
        append_entries(engine, [draft], Keyring(log), clock, version=version)
    e = append_entries(engine, [Draft("note.recorded", Authority("hrss-150100", "150100"), "officer-07@hrss-150100",
                                      None, (), "2026-03-02-0001", {"text": "草原英才工程评审会议纪要（第3号）"})],
                       ring, clock, version=version)[0]
    cp, _ = publish.publish(engine, log, ORIGIN, clock)
    with engine.connect() as conn:
        incl = prove.inclusion(conn, e.seq, e.seq + 1)
    out = {
        "log_vkey": log.verifier.vkey(), "authority_vkey": hohhot.verifier.vkey(),
        "canonical": e.canonical.decode(), "leaf_hash": e.leaf_hash.hex(), "signing_bytes": e.signing_bytes.decode(),
        "checkpoint": cp, "proof": [h.hex() for h in incl.proof], "root": incl.root.hex(),
        "tlog_proof": prove.tlog_proof(engine, e.seq),
    }
    if version == 2:
        out["statement"] = canonical.encode(e.statement_json()).decode()
    return out


if __name__ == "__main__":
    import json
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        print(json.dumps(build(f"{d}/x.db", int(sys.argv[1]) if len(sys.argv) > 1 else 2), ensure_ascii=False, indent=1))
