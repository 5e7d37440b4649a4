"""Which private key signs which entry: the log key for the log's own
bookkeeping (``log.initialized``, ``key.*``), each authority's key for its records."""

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
            raise ConfigError(f"no signing key loaded for authority {authority_id!r}") from None
