"""VERIFY.md's manual route, executed as written (docs/evidence.md, "By hand"): the
``sh`` blocks of a bundle's own VERIFY.md, in order, in one bash session, from a folder
holding ``bundle.zip`` and ``trusted.vkey``, with the standard tools the text names
(python3 -m zipfile, sha256sum, openssl, python3 and its standard library).

On a good bundle every step prints what VERIFY.md says it prints; on one entry byte
changed with the manifest re-hashed it stops at the Merkle step; and it stops on every
tampered case of the shared corpus (tests/tamper_corpus.py) whose signed content or
custody record no longer agrees, as it claims to.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import uuid
import zipfile
from pathlib import Path

import pytest

from tests import tamper_corpus as tc
from tests import test_hostile_bundle as hb

world = hb.world  # the real export the corpus mutates (a module-scoped fixture)

pytestmark = pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("sha256sum")),
                                reason="the manual route needs openssl and sha256sum")


def steps(bundle: bytes) -> list[str]:
    """The commands of the bundle's own VERIFY.md, as a court reads them."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as z:
        text = z.read("VERIFY.md").decode("utf-8")
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def run_by_hand(tmp: Path, bundle: bytes, vkey: str, commands: list[str]) -> subprocess.CompletedProcess:
    d = tmp / uuid.uuid4().hex
    d.mkdir()
    (d / "bundle.zip").write_bytes(bundle)
    (d / "trusted.vkey").write_text(vkey + "\n", encoding="utf-8")
    script = "set -euo pipefail\n" + "\n".join(commands)
    return subprocess.run(["bash", "-c", script], cwd=d, capture_output=True, text=True, timeout=300)


def test_the_steps_are_commands_for_every_check(world):
    text = "\n".join(steps(world.old))
    for tool in ("python3 -m zipfile", "sha256sum --check", "openssl pkeyutl -verify", "openssl dgst -sha256",
                 "content_sha256", "tlog-proof", "subjects/*.json"):
        assert tool in text, tool


def test_a_good_bundle_passes_every_step_as_written(world, tmp_path):
    files = hb.members(world.old)
    entries = sorted(n for n in files if n.startswith("entries/"))
    subjects = sorted(n for n in files if n.startswith("subjects/"))
    r = run_by_hand(tmp_path, world.old, world.vkey, steps(world.old))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    m = json.loads(files["manifest.json"])
    assert "0. log key: " in out and "1. files: every file is present and matches manifest.json" in out
    assert f"2. checkpoint: {m['origin']} at tree size {m['tree_size']}" in out
    assert [line.split(":")[0] for line in out.splitlines() if line.startswith("3. ")] == [f"3. {e}" for e in entries]
    assert f"4. custody: entry {m['custody_seq']} records this content ({m['content_sha256']})" in out
    signed = [line for line in out.splitlines() if line.startswith("5. ")]
    assert len(signed) == len(entries) and all(line.endswith("Signature Verified Successfully") for line in signed)
    assert {"format 1", "format 2"} <= {line.split(", ")[0].split(": ")[1] for line in signed}  # both formats
    assert len([line for line in out.splitlines() if line.startswith("6. ")]) == len(subjects) >= 1
    assert out.rstrip().endswith("done: every step held")


def test_one_entry_byte_changed_and_re_hashed_stops_at_the_merkle_step(world, tmp_path):
    case = tc.falsifications(world)["one entry byte changed, manifest re-hashed"]
    r = run_by_hand(tmp_path, case.data, world.vkey, steps(case.data))
    assert r.returncode != 0 and "done: every step held" not in r.stdout
    assert "1. files: every file is present" in r.stdout  # the re-hashed manifest passes sha256sum …
    assert "3. STOP: entries/" in r.stderr and "is NOT in the tree" in r.stderr, r.stderr  # … the tree does not


def test_the_forged_key_stops_at_step_0(world, tmp_path):
    r = run_by_hand(tmp_path, world.old, "forged+00000000+AQ" + "A" * 42 + "=", steps(world.old))
    assert r.returncode != 0 and "0. STOP" in r.stderr, r.stdout + r.stderr


def test_the_manual_route_stops_on_every_tampered_case(world, tmp_path):
    """Each content case and falsification of the shared corpus: the steps, as written in
    the untampered VERIFY.md, stop with an error (what they do not check, the key-registry
    replay and §2.7 order rules, no corpus case needs)."""
    commands = steps(world.old)
    corpus = tc.corpus(world)
    cases = {n: c for n, c in corpus.items() if n.startswith("content: ")}
    cases.update(tc.falsifications(world))
    passed = [name for name, case in cases.items()
              if run_by_hand(tmp_path, case.data, world.vkey, commands).returncode == 0]
    assert not passed, passed
    good = run_by_hand(tmp_path, corpus["passing: report edited and re-hashed (not authenticated)"].data,
                       world.vkey, commands)
    assert good.returncode == 0, good.stderr  # a rendering is not what the log vouches for
