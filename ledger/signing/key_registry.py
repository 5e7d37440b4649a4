"""Key history as the log records it (docs/contracts.md §2.1 ``signer``, §2.7 ``key``; decision 0004).

Pure state machine shared by the append path (which key may sign now) and
``verify`` (which key was valid at each seq): ``key.registered`` makes a key
valid for its authority from the next seq on; ``key.revoked`` ends it.
A key signs entries strictly between its registration and its revocation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ledger.errors import Problem, SignatureError
from ledger.log.canonical import JSON
from ledger.log.entry import Entry
from ledger.signing.keys import VerifierKey, parse_vkey

# The entry types ``KeyRegistry.apply`` acts on: the registry is the same between them.
KEY_ENTRY_TYPES = frozenset({"log.initialized", "key.registered", "key.revoked"})


@dataclass(frozen=True)
class KeyRecord:
    key: VerifierKey
    authority_id: str
    registered_seq: int
    revoked_seq: int | None = None

    def valid_at(self, seq: int) -> bool:
        return self.registered_seq < seq and (self.revoked_seq is None or seq < self.revoked_seq)


class KeyRegistry:
    def __init__(self, log_key: VerifierKey | None = None, records: dict[str, KeyRecord] | None = None):
        self.log_key = log_key
        self.records: dict[str, KeyRecord] = dict(records or {})

    # --- rules for new entries (append path) ---------------------------------
    def problems(self, entry_type: str, body: dict[str, JSON], refs: tuple[int, ...],
                 ref_entries: dict[int, Entry]) -> list[Problem]:
        if entry_type == "key.registered":
            try:
                key = parse_vkey(body["vkey"])
            except Exception as e:  # noqa: BLE001 - any parse failure is a field problem
                return [Problem("body.vkey", f"is not a C2SP verifier key ({e})")]
            if key.name in self.records or (self.log_key and key.name == self.log_key.name):
                return [Problem("body.vkey", f"key name {key.name!r} is already registered")]
        if entry_type == "key.revoked":
            target = ref_entries.get(refs[0])
            if target is None or target.type != "key.registered":
                return [Problem("refs", "must ref the key.registered entry of the key")]
            rec = self.records.get(body["name"])
            if rec is None or rec.registered_seq != refs[0]:
                return [Problem("body.name", "does not name the key registered by the ref'd entry")]
            if rec.revoked_seq is not None:
                return [Problem("body.name", f"key was already revoked at seq {rec.revoked_seq}")]
        return []

    # --- state transitions ---------------------------------------------------
    def apply(self, entry: Entry) -> None:
        if entry.type == "log.initialized":
            self.log_key = parse_vkey(entry.body["log_key"])
        elif entry.type == "key.registered":
            key = parse_vkey(entry.body["vkey"])
            self.records[key.name] = KeyRecord(key, entry.body["authority_id"], entry.seq)
        elif entry.type == "key.revoked":
            name = entry.body["name"]
            self.records[name] = replace(self.records[name], revoked_seq=entry.seq)

    # --- who may sign --------------------------------------------------------
    def public_key(self, name: str) -> VerifierKey | None:
        """The key registered under ``name`` (the log key included), whatever its validity.
        A name is registered once and never re-bound (``problems``), so the key a name
        denotes before the append lock is the key it denotes under it."""
        if self.log_key is not None and name == self.log_key.name:
            return self.log_key
        rec = self.records.get(name)
        return rec.key if rec else None

    def signing_key(self, entry: Entry, log_signed: bool) -> VerifierKey:
        """The key that must have signed ``entry`` (v1 ``signer``, v2 the statement's ``key``,
        both ``entry.signer``); raise if its signer is not it. The same rule for both
        versions (docs/contracts.md §2.7): the key registered to the entry's authority
        and valid at its seq, or the log key for the log's own records."""
        if log_signed:
            if entry.type == "log.initialized" and entry.seq == 0:
                key = parse_vkey(entry.body["log_key"])
            elif self.log_key is None:
                raise SignatureError(f"seq {entry.seq}: no log.initialized entry before it")
            else:
                key = self.log_key
            if entry.signer != key.name:
                raise SignatureError(f"seq {entry.seq}: signed by {entry.signer!r}, must be the log key {key.name!r}")
            return key
        rec = self.records.get(entry.signer)
        if rec is None:
            raise SignatureError(f"seq {entry.seq}: signer {entry.signer!r} is not a registered key")
        if rec.authority_id != entry.authority.id:
            raise SignatureError(
                f"seq {entry.seq}: key {entry.signer!r} belongs to {rec.authority_id!r}, not {entry.authority.id!r}"
            )
        if not rec.valid_at(entry.seq):
            if rec.revoked_seq is not None and entry.seq >= rec.revoked_seq:
                raise SignatureError(f"seq {entry.seq}: key {entry.signer!r} was revoked at seq {rec.revoked_seq}")
            raise SignatureError(f"seq {entry.seq}: key {entry.signer!r} is registered only at seq {rec.registered_seq}")
        return rec.key

    def to_json(self) -> dict[str, JSON]:
        return {
            "log_key": self.log_key.vkey() if self.log_key else None,
            "keys": {
                n: {"vkey": r.key.vkey(), "authority_id": r.authority_id,
                    "registered_seq": r.registered_seq, "revoked_seq": r.revoked_seq}
                for n, r in sorted(self.records.items())
            },
        }

    @classmethod
    def from_json(cls, obj: dict[str, JSON]) -> KeyRegistry:
        log_key = parse_vkey(obj["log_key"]) if obj.get("log_key") else None
        records = {
            n: KeyRecord(parse_vkey(r["vkey"]), r["authority_id"], r["registered_seq"], r["revoked_seq"])
            for n, r in obj.get("keys", {}).items()
        }
        return cls(log_key, records)
