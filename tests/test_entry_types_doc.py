"""docs/entry-types.md is current: it is exactly what the registry renders."""

from __future__ import annotations

from pathlib import Path

from ledger.domain import records
from ledger.domain.type_reference import COMMAND, render
from ledger.log import entry_types

DOC = Path(__file__).resolve().parent.parent / "docs" / "entry-types.md"


def test_committed_reference_is_current():
    committed = DOC.read_text(encoding="utf-8")
    assert committed == render(), (
        f"docs/entry-types.md is stale: the entry-type registry or records.ARTICLES changed. "
        f"Regenerate it from the repository root with `{COMMAND}` and commit the result.")


def test_it_says_it_is_generated_and_how():
    first = render().splitlines()[0]
    assert "Generated" in first and COMMAND in first


def test_every_registered_type_has_a_section_and_a_summary_row():
    text = render()
    for name in entry_types.names():
        assert f"## `{name}`" in text, name
        assert f"| [`{name}`](#" in text, name


def test_every_domain_type_says_what_in_the_law_it_rests_on():
    domain = {t.name for t in vars(records).values() if isinstance(t, entry_types.EntryType)}
    cited = set(records.ARTICLES) | set(records.NOT_IN_REGULATION)
    assert domain and domain <= cited
    # Beyond the domain's own: the access types the regulation also governs (Art. 68).
    assert cited - domain == {entry_types.TOKEN_ISSUED.name, entry_types.TOKEN_REVOKED.name}
    assert not set(records.ARTICLES) & set(records.NOT_IN_REGULATION)


def test_types_are_sorted():
    text = render()
    positions = [text.index(f"## `{name}`") for name in sorted(entry_types.names())]
    assert positions == sorted(positions)
