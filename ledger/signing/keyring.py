"""Which private key signs which entry: the log key for the log's own
bookkeeping (``log.initialized``, ``key.*``), each authority's key for its records.

On the API host the keyring holds the log key alone (decision 0015): authorities
sign their statements elsewhere. ``authorities`` is filled where a machine signs
for them (``ledger record`` drafts, the demo) or on a legacy host (decision 0005)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.errors import ConfigError
from ledger.signing.keys import Signer


@dataclass
class Keyring:
    log: Signer
    authorities: dict[str, Signer] = field(default_factory=dict)  # authority id -> key

    def for_authority(self, authority_id: str) -> Signer:
        try:
            return self.authorities[authority_id]
        except KeyError:
            # Decision 0015: the API host holds no authority key; the legacy draft path
            # (decision 0005) answers this, pointing at the statement path instead.
            raise ConfigError(f"no signing key loaded for authority {authority_id!r}: this host signs no "
                              "authority's records; sign the statement where the key is (`ledger sign`, the "
                              "console) and submit it with record_statements (docs/api.md, Signed "
                              "statements)") from None
