"""The tables. The schema itself is owned by Alembic migrations
(``migrations/versions``); these definitions are what the code reads and writes.

Append-only tables (UPDATE/DELETE refused by triggers): ``entries``,
``tree_nodes``, ``checkpoints``, ``cosignatures``, and the domain projections
(``DOMAIN_PROJECTIONS``: insert-only since revision 0006, decision 0019), which
are derived from the entries and checked against them before a reconciliation
night is anchored and by ``ledger verify`` (``ledger.domain.projection_check``).
Other projections (``authority_keys``) are derived and rebuildable; nothing
trusts a projection over the log.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

LOG_TABLES = ("entries", "tree_nodes", "checkpoints", "cosignatures")
# Domain projections: every row carries the seq that made it true and is never
# changed (a new state is a new row, read as the latest); the application role
# may only SELECT and INSERT them (ledger.store.migrate.grant_app_role, decision 0019).
INSERT_ONLY_PROJECTIONS = ("sanction_versions", "grants", "honors", "clawbacks", "money_moves", "exits", "links",
                           "overrides")
APPEND_ONLY_TABLES = LOG_TABLES + INSERT_ONLY_PROJECTIONS

entries = Table(
    "entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    # Backstops for the append lock: a fork (two entries after one prev) or a
    # duplicated entry cannot be stored even if the lock were bypassed.
    Column("prev", LargeBinary(32), nullable=False, unique=True),
    Column("leaf_hash", LargeBinary(32), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("recorded_at", String(27), nullable=False),
    Column("authority_id", String(128), nullable=False),
    Column("subject", String(64), nullable=True),
    Column("request_id", String(128), nullable=False),
    Column("signer", String(128), nullable=False),
    Column("canonical", LargeBinary, nullable=False),
    UniqueConstraint("authority_id", "request_id", name="uq_entries_request"),
    Index("ix_entries_subject", "subject", "seq"),
    Index("ix_entries_type", "type", "seq"),
)

# Perfect subtrees of level >= 1 (level 0 is entries.leaf_hash). Node (level, idx)
# covers leaves [idx << level, (idx + 1) << level); see ledger.log.merkle.
tree_nodes = Table(
    "tree_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", String(27), nullable=False),
)

# A scheduled verifier's resume point (revision 0007): one row per verifier, so
# whichever machine runs the next night resumes where the last one stopped. A
# cache, not a trust anchor: ledger.log.verifier_store trusts a row only when a
# checkpoint signed by the log key vouches for its size and root.
verifier_states = Table(
    "verifier_states",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("state", Text, nullable=False),  # VerifierState.to_json, as JSON
    Column("saved_at", String(27), nullable=False),
)

# Witness cosignature lines (c2sp.org/tlog-cosignature) on stored checkpoints.
cosignatures = Table(
    "cosignatures",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(128), primary_key=True),
    Column("line", Text, nullable=False),
    Column("created_at", String(27), nullable=False),
)

# Projection: authority keys as the log's key.registered / key.revoked entries say.
authority_keys = Table(
    "authority_keys",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("vkey", String(256), nullable=False),
    Column("authority_id", String(128), nullable=False),
    Column("registered_seq", BigInteger, nullable=False),
    Column("revoked_seq", BigInteger, nullable=True),
)

# --- The subject vault (docs/contracts.md §2.4): personal data, outside the hashed log ----
subjects = Table(
    "subjects",
    metadata,
    Column("ref", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # person | organisation
    Column("blind_index", String(64), nullable=True, unique=True),  # HMAC; NULL once erased
    Column("wrapped_key", LargeBinary, nullable=True),  # NULL once erased
    Column("payload", LargeBinary, nullable=True),  # sealed name, id, salt; NULL once erased
    Column("created_at", String(27), nullable=False),
    Column("erased_seq", BigInteger, nullable=True),
    # The key epoch that wrapped wrapped_key and keyed blind_index (docs/erasure.md);
    # every live row is at vault_meta.epoch once a rotation commits.
    Column("key_epoch", BigInteger, nullable=False, server_default="0"),
)

# One row (id = 1): the vault's current key epoch. The epoch's secret is outside
# the database (LEDGER_VAULT_KEY_FILE); a rotation changes both (ledger.domain.vault_rotation).
vault_meta = Table(
    "vault_meta",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("epoch", BigInteger, nullable=False),
    Column("erased_through", BigInteger, nullable=True),  # erasures up to this seq are covered by the epoch
    Column("rotated_at", String(27), nullable=True),
)

# --- Domain projections. Insert-only: every row carries the seq that made it
# true, so "as known at tree size N" is a filter `seq < N` (bitemporal).
sanction_versions = Table(
    "sanction_versions",
    metadata,
    Column("version_seq", BigInteger, primary_key=True, autoincrement=False),  # imposed or amended entry
    Column("sanction_seq", BigInteger, nullable=False, index=True),
    Column("subject", String(64), nullable=False, index=True),
    Column("severity", String(16), nullable=False),
    Column("effective_from", String(10), nullable=False),
    Column("effective_until", String(10), nullable=True),  # NULL: indefinite
    Column("benefits", Text, nullable=False),  # JSON list
    Column("regions", Text, nullable=False),  # JSON list of GB/T 2260 codes
    Column("programmes", Text, nullable=False),  # JSON list; [] = every programme
    Column("legal_basis", Text, nullable=False),  # JSON {article, document_no}
    Column("deciding_body", String(200), nullable=False),
)

grants = Table(
    "grants",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", String(64), nullable=False, index=True),
    Column("grant_ref", String(64), nullable=False, unique=True),  # normalised: trimmed, case-folded
    Column("programme", String(100), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("decision_date", String(10), nullable=False),
    Column("region", String(6), nullable=False),
)

honors = Table(
    "honors",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", String(64), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("level", String(16), nullable=False),
    Column("programme", String(100), nullable=False),
    Column("decision_date", String(10), nullable=False),
    Column("region", String(6), nullable=False),
)

clawbacks = Table(
    "clawbacks",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", String(64), nullable=False, index=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("deadline", String(10), nullable=False),
    Column("grant_seqs", Text, nullable=False),  # JSON list
    Column("decision_date", String(10), nullable=False),
)

money_moves = Table(
    "money_moves",
    metadata,
    Column("move_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("clawback_seq", BigInteger, nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # recovered | waived
    Column("amount_fen", BigInteger, nullable=False),
    Column("on_date", String(10), nullable=False),
)

# How a sanction, grant, honour, clawback or link stops counting, and since which seq.
exits = Table(
    "exits",
    metadata,
    Column("target_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("exit_seq", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # ended | voided | exempted | revoked
    Column("on_date", String(10), nullable=True),  # for ended: from which business date
    Column("reason", String(32), nullable=True),
)

links = Table(
    "links",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("subject", String(64), nullable=False, index=True),
    Column("organisation", String(64), nullable=False, index=True),
    Column("relation", String(16), nullable=False),
    Column("valid_from", String(10), nullable=False),
    Column("valid_until", String(10), nullable=True),
)

# The award guard's overrides (Art. 68): an honour or a grant awarded despite a bar,
# and a pre-award check decided ``override``; what the supervision page counts
# (decision 0026), kept here so that it reads rows rather than decoding entries.
overrides = Table(
    "overrides",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(8), nullable=False),  # award | check
    Column("type", String(64), nullable=False),  # honor.granted | subsidy.granted | eligibility.checked
    Column("authority_id", String(128), nullable=False),
    Column("approver", String(200), nullable=False),  # who approved awarding despite the bar
    Column("actor", String(128), nullable=False),  # who submitted the entry
    Column("officer", String(200), nullable=True),  # eligibility.checked: who checked
    Column("reason", Text, nullable=False),
    Column("region", String(6), nullable=False),
    Column("on_date", String(10), nullable=False),  # the award's decision date, or the checked award's date
    Column("subject", String(64), nullable=True),
    Column("amount_fen", BigInteger, nullable=True),  # subsidy.granted only
)

DOMAIN_PROJECTIONS = (sanction_versions, grants, honors, clawbacks, money_moves, exits, links, overrides)

# --- API bearer tokens (not part of the log). Only a SHA-256 of the secret is
# stored: a database reader cannot replay a token. Revocation sets revoked_at.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(16), primary_key=True),  # public half, shown in listings and logs
    Column("secret_sha256", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("authority_id", String(128), nullable=True),
    Column("region", String(6), nullable=True),  # jurisdiction root (GB/T 2260)
    Column("case_ref", String(200), nullable=True),  # court: the case the token serves
    Column("subjects", Text, nullable=False),  # JSON list of subject refs (court), else []
    Column("label", String(200), nullable=False),
    Column("created_at", String(27), nullable=False),
    Column("expires_at", String(27), nullable=True),
    Column("revoked_at", String(27), nullable=True),
)
