"""docs/formats.md tells the truth: its worked example is rebuilt here."""

from __future__ import annotations

import json
from pathlib import Path

from tests.doc_example import build

DOC = (Path(__file__).resolve().parent.parent / "docs" / "formats.md").read_text()


def test_worked_example_values_are_current(tmp_path):
    ex = build(str(tmp_path / "ex.db"))  # format v2 (docs/contracts.md §2.7): the main example
    assert ex["canonical"] in DOC and ex["signing_bytes"] in DOC
    assert ex["leaf_hash"] in DOC
    assert ex["checkpoint"].strip() in DOC
    assert ex["log_vkey"] in DOC and ex["authority_vkey"] in DOC
    assert ex["root"] in DOC and ex["proof"][0] in DOC
    entry = json.loads(ex["canonical"])
    assert entry["sig"] in DOC
    proof_lines = ex["tlog_proof"].split("\n")
    assert proof_lines[2] in DOC and proof_lines[3] in DOC  # index and proof hash


def test_worked_v1_example_values_are_current(tmp_path):
    ex = build(str(tmp_path / "ex1.db"), version=1)  # a log begun before v2 (docs/formats.md §1.2)
    assert ex["canonical"] in DOC and ex["leaf_hash"] in DOC
    assert json.loads(ex["canonical"])["sig"] in DOC


def test_readme_shows_the_two_commands():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
