"""The regulation's records: entry types and bodies, identifiers, regions, the
subject vault, the eligibility rules (pure) and the facts and projections they
read."""
