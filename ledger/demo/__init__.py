"""Synthetic data: a demo region recorded through the real append path, and a
simulated funding system with known discrepancies."""
