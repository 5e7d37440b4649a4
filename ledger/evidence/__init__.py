"""Evidence bundles for courts: the exporter, the offline verifier (no
database), the Chinese report and its PDF."""
