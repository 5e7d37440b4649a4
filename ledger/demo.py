"""``ledger demo``: a realistic-looking synthetic log, deterministic by seed.

Content (authorities, texts, subjects, request ids) depends only on the seed;
signatures and ``recorded_at`` differ per run because keys and clocks do.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

from sqlalchemy import Engine

from . import keystore
from .append import Clock, append_entries
from .config import Settings
from .entry import Authority, Draft
from .operator import init_log, load_keyring, register_key
from .projection import load_registry
from .store import log_store
from .regions import LEAGUES_AND_CITIES, NAMES, REGION

AUTHORITIES = [Authority("nmg-talent-office", REGION)] + [
    Authority(f"hrss-{code}", code) for code in LEAGUES_AND_CITIES
]
_TOPICS = ["草原英才工程评审会议纪要", "鸿雁行动返乡人才登记", "人才公寓分配公示", "科研经费拨付说明",
           "柔性引才协议备案", "高层次人才认定复核", "青年科技人才托举计划申报", "人才服务专员走访记录"]


def dev_key_name(authority_id: str) -> str:
    return f"dev-{authority_id}"


def ensure_dev_keys(engine: Engine, settings: Settings, clock: Clock) -> None:
    """Create the dev log key and one key per demo authority, register them in the log."""
    log = keystore.generate(settings.log_key_name, settings.key_dir, settings.vkey_dir, settings.passphrase, exist_ok=True)
    init_log(engine, log, settings.origin, clock)
    with engine.connect() as conn:
        registered = load_registry(conn).records
    for a in AUTHORITIES:
        name = dev_key_name(a.id)
        signer = keystore.generate(name, settings.key_dir, settings.vkey_dir, settings.passphrase, exist_ok=True)
        keystore.write_vkey(signer.verifier, settings.vkey_dir)
        if name not in registered:
            register_key(engine, log, signer.verifier.vkey(), a.id, clock,
                         purpose=f"records of {NAMES[a.region]}", holder=f"{NAMES[a.region]} 人社局 (dev)")


def demo_drafts(count: int, seed: int, start: int = 0) -> list[Draft]:
    rng = random.Random(f"{seed}:{start}")
    drafts = []
    for i in range(start, start + count):
        a = rng.choice(AUTHORITIES)
        subject = hashlib.sha256(f"demo-subject:{seed}:{rng.randrange(5000)}".encode()).hexdigest() if rng.random() < 0.7 else None
        text = f"{NAMES[a.region]}·{rng.choice(_TOPICS)}（第{rng.randrange(1, 60)}号）"
        drafts.append(Draft("note.recorded", a, f"officer-{rng.randrange(1, 40):02d}@{a.id}", subject, (),
                            f"demo-{seed}-{i}", {"text": text, "category": "demo"}))
    return drafts


def build_demo(engine: Engine, settings: Settings, clock: Clock, *, entries: int, seed: int,
               batch: int = 1000, progress: Callable[[int], None] | None = None) -> int:
    """Append ``entries`` demo notes (after set-up entries); return how many were new."""
    ensure_dev_keys(engine, settings, clock)
    ring = load_keyring(engine, settings)
    with engine.connect() as conn:
        before = log_store.size(conn)
    for start in range(0, entries, batch):
        drafts = demo_drafts(min(batch, entries - start), seed, start)
        append_entries(engine, drafts, ring, clock)  # retried request ids are not written twice
        if progress:
            progress(len(drafts))
    with engine.connect() as conn:
        return log_store.size(conn) - before
