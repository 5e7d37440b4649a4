"""The log: canonical bytes, entries and their types, the RFC 9162 tree and its
verifier, checkpoints, tlog-proofs, witnesses (pure), and the services on the
stored log: append, verify, proofs, publishing, projections, reindex."""
