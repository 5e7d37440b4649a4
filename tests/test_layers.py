"""The layer rules (docs/decisions/0010), checked the blunt way: import a module in
a fresh interpreter and look at what ended up in ``sys.modules``.

The contracts themselves live once, in pyproject.toml's ``[tool.importlinter]``
(``make lint`` runs import-linter on them, which reads import statements); this
test reads the same lists and checks what actually loads, lazy imports and
import-time side effects included. The two would disagree only if one of them
is wrong, which is why both run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = {c["id"]: c for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]}
# Every module a source module may load in practice, whatever it names (its own
# __init__ chain is not a dependency).
PROBE = "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(sorted(sys.modules)))"


def loaded_by(module: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, module], capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout)


def offending(loaded: list[str], forbidden: list[str]) -> list[str]:
    return [m for m in loaded if any(m == f or m.startswith(f + ".") for f in forbidden)]


def _cases(contract_id: str) -> list[tuple[str, list[str]]]:
    c = CONTRACTS[contract_id]
    return [(m, c["forbidden_modules"]) for m in c["source_modules"]]


@pytest.mark.parametrize(("module", "forbidden"), _cases("pure") + _cases("offline-verifier") + _cases("edges"),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_module_loads_nothing_forbidden(module: str, forbidden: list[str]) -> None:
    bad = offending(loaded_by(module), forbidden)
    assert not bad, f"importing {module} loads {bad}, which the layer rules forbid"


def test_every_core_module_is_covered_by_the_edge_rule() -> None:
    """A new core package must be added to the edge contract, not slip past it."""
    core = {p.name for p in (ROOT / "ledger").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    edges = {"cli", "api", "console"}
    covered = {m.split(".")[1] for m in CONTRACTS["edges"]["source_modules"] if m.count(".") >= 1}
    assert core - edges <= covered, f"core packages missing from the 'edges' contract: {sorted(core - edges - covered)}"


def test_nothing_but_the_package_config_and_errors_at_the_top() -> None:
    top = sorted(p.name for p in (ROOT / "ledger").glob("*.py"))
    assert top == ["__init__.py", "config.py", "errors.py"], top


def test_the_probe_sees_a_forbidden_import() -> None:
    """The check can fail: the append path really does load SQLAlchemy and the store."""
    loaded = loaded_by("ledger.log.append")
    assert offending(loaded, ["sqlalchemy"]) and offending(loaded, ["ledger.store"])
