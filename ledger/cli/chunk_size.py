"""``--chunk-size N|auto`` for imports (``ledger record``; ledger/log/imports.py)."""

from __future__ import annotations

import click


class ChunkSize(click.ParamType):
    name = "chunk size"

    def convert(self, value, param, ctx):
        if value == "auto" or isinstance(value, int):
            return value
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            self.fail(f"{value!r}: a whole number of entries from 1, or auto", param, ctx)
        return n
