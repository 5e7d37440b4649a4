"""The funding systems and the nightly reconciliation: transaction formats and
sources, the reconciliation rules (pure), the anchored job and its scheduled
tasks."""
