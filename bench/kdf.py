"""The cost of opening a private key (docs/keys-and-files.md): one scrypt
derivation (RFC 7914) at the cost new keys are written with, next to the old
format's PBKDF2-SHA256 at 2,048 iterations and OWASP's PBKDF2 floor (600,000),
and loading a 14-key demo keyring in a fresh process (one derivation: the
directory's keys share a salt).

    .venv/bin/python bench/kdf.py [--runs N] [--json OUT]

Prints the command, the median of ``--runs`` runs (default 7) and every sample.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ledger.signing import keystore

PASSPHRASE = b"correct horse battery staple"
KEYRING = 14  # the demo's log key and 13 authority keys


def _time(fn, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def _scrypt(cost: keystore.ScryptCost):
    return lambda: Scrypt(salt=os.urandom(16), length=32, n=cost.n, r=cost.r, p=cost.p).derive(PASSPHRASE)


def _pbkdf2(iterations: int):
    return lambda: PBKDF2HMAC(hashes.SHA256(), 32, os.urandom(16), iterations).derive(PASSPHRASE)


LOAD_ALL = ("import sys; from pathlib import Path; from ledger.signing import keystore; "
            "d = Path(sys.argv[1]); [keystore.load(p.stem, d, sys.argv[2].encode()) for p in sorted(d.glob('*.key'))]")


def _keyring_load(runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "keys"
        for i in range(KEYRING):
            keystore.generate(f"bench-{i}", d, Path(tmp) / "vkeys", PASSPHRASE)
        return _time(lambda: subprocess.run([sys.executable, "-c", LOAD_ALL, str(d), PASSPHRASE.decode()],
                                            check=True), runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", dest="json_out", default=None)
    args = ap.parse_args()
    print("$ " + " ".join([Path(sys.executable).name, *sys.argv]), flush=True)
    s = keystore.STRONG
    rows = {
        f"scrypt N=2^{s.n.bit_length() - 1} r={s.r} p={s.p} (new keys)": _time(_scrypt(s), args.runs),
        "PBKDF2-SHA256 600,000 (OWASP floor, not used)": _time(_pbkdf2(600_000), args.runs),
        "PBKDF2-SHA256 2,048 (old PKCS#8 keys)": _time(_pbkdf2(2048), args.runs),
        f"fresh process loading {KEYRING} keys (python start included)": _keyring_load(args.runs),
        "fresh python process importing the keystore only": _time(
            lambda: subprocess.run([sys.executable, "-c", "import ledger.signing.keystore"], check=True), args.runs),
    }
    print(f"{'what':<62} {'median':>9}   samples (s)")
    for what, samples in rows.items():
        print(f"{what:<62} {statistics.median(samples):>8.3f}s   " + " ".join(f"{x:.3f}" for x in samples))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({k: {"median_s": statistics.median(v), "samples_s": v}
                                                   for k, v in rows.items()}, indent=1))


if __name__ == "__main__":
    main()
