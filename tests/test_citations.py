"""Every citation points at something in the repository.

Code comments, docstrings, messages and documents cite the fixed contracts as
``docs/contracts.md §2.4`` (``contracts.md §2.4`` inside ``docs/``) and other
documents' sections as ``formats.md §4``. These tests check that

- each cited section exists as a heading (``## 2.4 Subjects …``, ``## 4. …``)
  of the cited file, and the cited file exists;
- nothing cites a document that is not in the repository: the design or domain
  brief, "contract 2.x" without contracts.md, issue numbers used as
  references, engineering notes;
- the repository paths (``ledger/log/append.py``) and the dotted modules in
  backticks (``ledger.finance.job``) that the text names exist;
- docs/contracts.md keeps its stable section numbers.

Every failure lists each bad citation as ``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SELF = Path(__file__).resolve()

# What is scanned: the code and its comments, docstrings and messages, the
# console's scripts, the exported schema, and every document.
SCANNED = (
    "ledger/**/*.py", "ledger/**/*.js", "dags/*.py", "bench/*.py", "bench/*.md", "bench/*.in", "tests/*.py",
    "docs/**/*.md", "README.md", "keys/*.md", "graphql/**/*.graphql",
)

# The stable sections of docs/contracts.md (its §1 says they never move).
CONTRACT_SECTIONS = {
    "1": "About this document", "2": "The contracts", "2.1": "Entries", "2.2": "Merkle tree and proofs",
    "2.3": "Checkpoints and keys", "2.4": "Subjects and personal data", "2.5": "Funding-system transactions",
    "2.6": "Money, dates, regions", "2.7": "Entry format v2", "3": "The append path", "4": "Trust",
}

_NUMBER = r"\d+(?:\.\d+)*"
# `docs/contracts.md §2.4`, `formats.md §4`, `contracts.md §2.4 and §2.6`, `contracts.md §2.4, §2.6`
SECTION_CITATION = re.compile(
    rf"(?<![\w./-])((?:[\w-]+/)*[\w.-]+\.md)\s*§\s*({_NUMBER})((?:\s*(?:,|and|or|/)\s*§\s*{_NUMBER})*)")
MORE_SECTIONS = re.compile(rf"§\s*({_NUMBER})")
HEADING = re.compile(rf"^#{{1,6}}\s+§?\s*({_NUMBER})\.?(?=\s|$)")

# Citations of documents that are not in the repository.
FOREIGN = (
    (re.compile(r"\bcontracts?[ -]§?\s*\d+(?:\.\d+)*", re.I), "cites 'contract N' without the document: write docs/contracts.md §N"),
    (re.compile(r"\bdesign(?:\.md)?\s*§", re.I), "cites the design brief (not in the repository): cite docs/contracts.md"),
    (re.compile(r"\bdesign brief\b", re.I), "cites the design brief (not in the repository): cite docs/contracts.md"),
    (re.compile(r"\bdomain brief\b|\bbrief's\b", re.I), "cites the domain brief (not in the repository): cite docs/contracts.md"),
    (re.compile(r"\bengineering notes\b", re.I), "cites engineering notes (not in the repository)"),
)
# Issue-tracker references: the tracker is not in the repository. ADRs may
# mention an issue as history, but not cite one as a document.
ISSUE_REFERENCE = re.compile(
    r"\bissues?\s*#?\d+"
    r"|\bissue\s*:"
    r"|\(the issue\)"
    r"|\b(?:performance|domain|console|api|evidence|reconciliation|finance|security) issue\b",
    re.I)
ISSUE_CITATION_IN_ADR = re.compile(r"\(\s*issues?\s*#?\d+[^)]*\)|\bissues?\s*#?\d+\s*¶|\bissue\s*:", re.I)

REPO_PATH = re.compile(
    r"(?<![\w./<>*-])((?:ledger|docs|tests|bench|dags|keys|graphql|seed)/[\w./-]*[\w-]\.(?:py|md|js|graphql|sh|in|html|css))(?![\w/-])")
# Only in backticks (`ledger.finance.job`, ``ledger.log.verify``): bare, ``ledger`` is often a variable.
DOTTED_MODULE = re.compile(r"(?<=`)ledger(?:\.[a-z_][a-z0-9_]*)+(?=[`.(])")


def _scanned() -> Iterator[Path]:
    seen = set()
    for pattern in SCANNED:
        for path in sorted(ROOT.glob(pattern)):
            if path.is_file() and path != SELF and path not in seen and ".venv" not in path.parts:
                seen.add(path)
                yield path


def _lines() -> Iterator[tuple[Path, int, str]]:
    for path in _scanned():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            yield path, number, line


def _where(path: Path, number: int) -> str:
    return f"{path.relative_to(ROOT)}:{number}"


@cache
def _sections(md: Path) -> frozenset[str]:
    """The numbers of a Markdown file's headings, outside fenced code blocks."""
    numbers, fenced = set(), False
    for line in md.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        m = None if fenced else HEADING.match(line)
        if m:
            numbers.add(m.group(1))
    return frozenset(numbers)


def _resolve(cited: str, citing: Path) -> Path | None:
    """A cited document: from the repository root, from docs/, or beside the citing file."""
    for base in (ROOT, ROOT / "docs", citing.parent):
        candidate = (base / cited).resolve()
        if candidate.is_file() and ROOT in candidate.parents:
            return candidate
    return None


def _report(problems: list[str], what: str) -> str:
    return f"{len(problems)} {what}:\n" + "\n".join(problems)


def test_contracts_keep_their_section_numbers():
    contracts = ROOT / "docs" / "contracts.md"
    headings = {}
    for line in contracts.read_text(encoding="utf-8").splitlines():
        m = re.match(rf"^## ({_NUMBER}) (.+)$", line)
        if m:
            headings[m.group(1)] = m.group(2)
    problems = [f"docs/contracts.md: no heading '## {n} {title}…'" for n, title in CONTRACT_SECTIONS.items()
                if not headings.get(n, "").startswith(title)]
    assert not problems, _report(problems, "missing or renamed contract sections")


def test_cited_sections_exist():
    problems = []
    for path, number, line in _lines():
        for m in SECTION_CITATION.finditer(line):
            cited, first, more = m.group(1), m.group(2), m.group(3)
            target = _resolve(cited, path)
            if target is None:
                problems.append(f"{_where(path, number)}: cites {cited}, which is not in the repository: {m.group(0)!r}")
                continue
            for section in [first, *MORE_SECTIONS.findall(more)]:
                if section not in _sections(target):
                    problems.append(f"{_where(path, number)}: {cited} has no section {section} "
                                    f"(its sections: {', '.join(sorted(_sections(target))) or 'none'}): {m.group(0)!r}")
    assert not problems, _report(problems, "citations of sections that do not exist")


def test_no_citations_of_documents_outside_the_repository():
    problems = []
    for path, number, line in _lines():
        for pattern, why in FOREIGN:
            for m in pattern.finditer(line):
                problems.append(f"{_where(path, number)}: {why}: {m.group(0)!r}")
        in_adr = path.parent == ROOT / "docs" / "decisions"
        for m in (ISSUE_CITATION_IN_ADR if in_adr else ISSUE_REFERENCE).finditer(line):
            problems.append(f"{_where(path, number)}: cites the issue tracker (not in the repository); "
                            f"cite the document that describes it: {m.group(0)!r}")
    assert not problems, _report(problems, "citations of documents that are not in the repository")


def _module_exists(dotted: str) -> bool:
    """``ledger.a.b.attr``: every part is a package until one is a module (the rest are its attributes)."""
    here = ROOT / "ledger"
    for part in dotted.split(".")[1:]:
        if (here / part).is_dir():
            here = here / part
        elif (here / f"{part}.py").is_file():
            return True
        else:
            return False
    return True


def test_named_paths_and_modules_exist():
    problems = []
    for path, number, line in _lines():
        for m in REPO_PATH.finditer(line):
            if not (ROOT / m.group(1)).exists():
                problems.append(f"{_where(path, number)}: no file {m.group(1)}")
        for m in DOTTED_MODULE.finditer(line):
            if not _module_exists(m.group(0)):
                problems.append(f"{_where(path, number)}: no module {m.group(0)}")
    assert not problems, _report(problems, "paths or modules named that do not exist")
