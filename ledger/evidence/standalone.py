"""Verify an evidence bundle with the Python standard library and ``cryptography`` only.

    python3 verify_bundle.py BUNDLE [--log-vkey VKEY] [--against OLDER] [--skew-seconds N] [--json]

BUNDLE and OLDER are a bundle's .zip or the folder it was unzipped into; VKEY is
the log's verifier key you trust, as the key itself (``name+id+key``) or the
path of a file holding it. N (default 300) is how much later than recorded_at a
v2 statement's signed_at may be. --json prints one JSON object, whatever happens.

Exit codes (docs/evidence.md, "Verdicts"):
  0  ``OK: …``: every check passed and the checkpoint is signed by the key you trust;
  3  ``CONSISTENT, NOT AUTHENTICATED: …``: every check passed, but against the
     bundle's own log key (no --log-vkey): anyone can make such a bundle;
  1  ``FAIL: [check] …``: a check failed; the check, the file, what was expected, what was found;
  2  ``UNREADABLE: [check] …``: not a bundle this script can read safely (not a
     zip, truncated, unsafe member names, duplicates, over the size bounds, a
     malformed manifest), or arguments it cannot use.

``ledger verify-bundle`` runs this very module (decision 0017): the same checks in
the same order, the same failure names (``CHECKS``) and exit codes; the browser
verifier follows them in JavaScript. In a folder, top-level files the manifest
does not list (SHA256SUMS, cp.body … from VERIFY.md's steps) are ignored and named.

Entries may be format v1 (docs/contracts.md §2.1: the log signs the entry) or
v2 (§2.7: ``{"v": 2, "seq", "prev", "recorded_at", "statement", "sig"}``, the
statement signed by its authority's key over
``b"integrity-ledger/statement/v2\n" + RFC 8785(statement)``), v1 before v2.
"""

import base64
import binascii
import calendar
import hashlib
import io
import json
import os
import re
import stat
import sys
import zipfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT, VERSION = "integrity-ledger/evidence-bundle", 1
MAX_MEMBERS, MAX_BYTES = 210_000, 1 << 30  # as ledger/evidence/layout.py: zip bombs are refused
MAX_ZIP_BYTES = MAX_BYTES + (64 << 20)
# Every entry type (docs/entry-types.md): signed by the log key itself, or by its authority's key.
# An entry of another type does not verify. (Kept equal to ledger/log/entry_types.py by a test.)
LOG_SIGNED = frozenset({"authority.registered", "evidence.exported", "key.registered", "key.revoked",
                        "log.initialized", "reconciliation.completed", "subject.erased", "token.issued",
                        "token.revoked"})
AUTHORITY_SIGNED = frozenset({"clawback.ordered", "clawback.recovered", "clawback.waived", "eligibility.checked",
                              "entry.corrected", "exemption.granted", "honor.granted", "honor.revoked",
                              "note.recorded", "programme.registered", "sanction.amended", "sanction.ended",
                              "sanction.imposed", "subject.linked", "subsidy.granted"})
ENVELOPE = ("v", "seq", "prev", "type", "recorded_at", "authority", "actor", "subject", "refs", "request_id",
            "body", "signer", "sig")
# docs/contracts.md §2.7: a v2 entry, the statement its authority signs, and the signed bytes' prefix.
V2_ENTRY = ("v", "seq", "prev", "recorded_at", "statement", "sig")
STATEMENT = ("v", "type", "authority", "actor", "subject", "refs", "request_id", "body", "signed_at", "key")
STATEMENT_PREFIX = b"integrity-ledger/statement/v2\n"
# §2.7: a statement's signed_at may be at most this much later than its entry's recorded_at.
SKEW_SECONDS = 300
RECORDED_AT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z")  # §2.1
SIGNED_AT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z")  # RFC 3339 UTC
MANIFEST = {"format": str, "version": int, "case": str, "requested_by": str, "exported_at": str, "origin": str,
            "tree_size": int, "custody_seq": int, "log_key": str, "content": list, "content_sha256": str,
            "files": dict}
HEX64, SALT = re.compile(r"[0-9a-f]{64}"), re.compile(r"[0-9a-f]{32}")
ENTRY, PROOF = re.compile(r"entries/(0|[1-9][0-9]*)\.json"), re.compile(r"proofs/(0|[1-9][0-9]*)\.tlog-proof")
DECIMAL = re.compile(r"0|[1-9][0-9]*")
EM_DASH = "\u2014"
SAFE_INT = 2**53 - 1  # RFC 8785 §3.2.2.3


class Finding(Exception):
    """A named failure: which check (one of CHECKS), which file, what was expected and found."""

    def __init__(self, file, expected, found, check=None):
        self.file, self.expected, self.found, self.check = str(file), str(expected), str(found), check
        super().__init__(f"{file}: expected {expected}; found {found}")


class Fail(Finding):
    """Verification failed (exit 1)."""


class Unreadable(Finding):
    """Not a bundle this script can read, or arguments it cannot use (exit 2)."""


class BadSignature(ValueError):
    """A signature that is absent or does not verify (not a malformed one)."""


def finding(kind, file, expected, found, check=None):
    return kind(file, expected, found, check)


# The checks, in the order they run, and the exit code each failure ends in. The same
# names and codes in ``ledger verify-bundle`` (it runs this module) and in the browser
# verifier (ledger/console/static/js/verify/bundle.js); docs/evidence.md lists them.
CHECKS = {"usage": 2, "zip": 2, "manifest_format": 2, "manifest": 1, "key": 1, "checkpoint_format": 1,
          "checkpoint_signature": 1, "checkpoint_origin": 1, "entry": 1, "proof_format": 1, "inclusion": 1,
          "entry_signature": 1, "disclosure": 1, "custody": 1, "consistency": 1}
EXIT_OK, EXIT_FAIL, EXIT_UNREADABLE = 0, 1, 2
# Every check passed against the bundle's own log key, none the caller trusts: the bundle is
# consistent, but anyone can make a consistent bundle with a key of their own (docs/evidence.md).
EXIT_NOT_AUTHENTICATED = 3
NOT_AUTHENTICATED = "consistent, not authenticated"


# --- reading the bundle ----------------------------------------------------------------

def unsafe_name(name):
    path = name[:-1] if name.endswith("/") else name
    if not path:
        return "an empty name"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return "a control character"
    if "\\" in name:
        return "a backslash"
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        return "an absolute path"
    if any(s in ("", ".", "..") for s in path.split("/")):
        return "an empty, '.' or '..' segment"
    return None


def read_zip(data, label, max_members=MAX_MEMBERS, max_bytes=MAX_BYTES, max_zip_bytes=MAX_ZIP_BYTES):
    if len(data) > max_zip_bytes:
        raise finding(Unreadable, label, f"a zip of at most {max_zip_bytes} bytes", f"{len(data)} bytes")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            if len(infos) > max_members:
                raise finding(Unreadable, label, f"at most {max_members} members", len(infos))
            if sum(i.file_size for i in infos) > max_bytes:
                raise finding(Unreadable, label, f"at most {max_bytes} bytes decompressed", "more declared")
            seen: dict = {}
            files: dict = {}
            total = 0
            for i in infos:
                problem = unsafe_name(i.filename)
                if problem:
                    raise finding(Unreadable, repr(i.filename), "a relative member name", problem)
                if not i.flag_bits & 0x800 and not i.filename.isascii():  # APPNOTE 4.4.4 bit 11
                    raise finding(Unreadable, repr(i.filename), "an ASCII or UTF-8 (flagged) member name",
                                  "another encoding")
                if i.flag_bits & 1 or i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise finding(Unreadable, i.filename, "unencrypted, stored or deflated", "another kind")
                if stat.S_ISLNK(i.external_attr >> 16):
                    raise finding(Unreadable, i.filename, "a regular file", "a symbolic link")
                key = i.filename.rstrip("/").casefold()
                if key in seen:
                    raise finding(Unreadable, i.filename, "one member of this name (ignoring case)", seen[key])
                seen[key] = i.filename
            for i in infos:
                if not i.filename.endswith("/"):
                    with z.open(i) as f:
                        body = f.read(max_bytes - total + 1)
                    total += len(body)
                    if total > max_bytes:
                        raise finding(Unreadable, label, f"at most {max_bytes} bytes decompressed", "more")
                    files[i.filename] = body
            return files
    except Unreadable:
        raise
    except Exception as e:  # zipfile's many errors on hostile bytes all mean: unreadable
        raise finding(Unreadable, label, "a readable zip file", f"{type(e).__name__}: {e}") from e


def read_folder(root):
    files: dict = {}
    total = 0
    for d, dirs, names in os.walk(root):
        for n in dirs + names:
            p = os.path.join(d, n)
            rel = os.path.relpath(p, root).replace(os.sep, "/")
            if os.path.islink(p):
                raise finding(Unreadable, rel, "a regular file or folder", "a symbolic link")
            if n in names:
                if len(files) >= MAX_MEMBERS:
                    raise finding(Unreadable, root, f"at most {MAX_MEMBERS} files", "more")
                try:
                    with open(p, "rb") as f:
                        files[rel] = f.read(MAX_BYTES - total + 1)
                except OSError as e:
                    raise finding(Unreadable, rel, "a readable file", e.strerror) from e
                total += len(files[rel])
                if total > MAX_BYTES:
                    raise finding(Unreadable, root, f"at most {MAX_BYTES} bytes", "more")
    return files


def read_bundle(path, label):
    if os.path.isdir(path):
        return read_folder(path), True
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_ZIP_BYTES + 1)
    except OSError as e:
        raise finding(Unreadable, path, "a readable file", e.strerror) from e
    if len(data) > MAX_ZIP_BYTES:
        raise finding(Unreadable, label, f"a zip of at most {MAX_ZIP_BYTES} bytes", "more")
    return read_zip(data, label), False


def strict_json(data, file, kind):
    def unique(pairs):
        if len({k for k, _ in pairs}) != len(pairs):
            raise ValueError("duplicate key")
        return dict(pairs)

    def no_number(token):
        raise ValueError(f"number {token} is not an integer")

    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=unique, parse_float=no_number,
                          parse_constant=no_number, parse_int=safe_int)  # I-JSON (RFC 7493 §2.2), as the browser
    except (ValueError, RecursionError) as e:
        raise finding(kind, file, "strict JSON (UTF-8, unique keys, integers only)", str(e)[:200]) from e


# c2sp.org/signed-note: a key name is non-empty, without "+" or white space. "White space"
# spelt out, so that Python (str.isspace) and the browser (\s) agree on every character.
SPACE = frozenset("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff"
                  + "".join(chr(c) for c in range(0x2000, 0x200B)))


def key_name_ok(name):
    return isinstance(name, str) and name != "" and "+" not in name and not any(c in SPACE for c in name)


def read_manifest(files):
    f = "manifest.json"
    if f not in files:
        raise finding(Unreadable, f, "present (an evidence bundle)", "missing")
    m = strict_json(files[f], f, Unreadable)
    if not isinstance(m, dict):
        raise finding(Unreadable, f, "a JSON object", type(m).__name__)
    if m.get("format") != FORMAT:
        raise finding(Unreadable, f, f"format {FORMAT}", repr(m.get("format"))[:100])
    if type(m.get("version")) is not int or m["version"] != VERSION:
        raise finding(Unreadable, f, f"version {VERSION}", repr(m.get("version"))[:100])
    if set(m) != set(MANIFEST) or any(type(m[k]) is not t for k, t in MANIFEST.items()):
        raise finding(Unreadable, f, "exactly the manifest's members, each of its type", sorted(m))
    if m["tree_size"] < 0 or m["custody_seq"] < 0 or not key_name_ok(m["log_key"]):
        raise finding(Unreadable, f, "sizes not negative and a log key name", m["log_key"])
    if not HEX64.fullmatch(m["content_sha256"]):
        raise finding(Unreadable, f, "content_sha256: 64 hex digits", m["content_sha256"][:100])
    for p, h in m["files"].items():
        if p == f or unsafe_name(p) or p.endswith("/") or not isinstance(h, str) or not HEX64.fullmatch(h):
            raise finding(Unreadable, f, "files: member names and 64 hex digits", repr(p)[:100])
    c = m["content"]
    if not all(isinstance(p, str) for p in c) or len(set(c)) != len(c):
        raise finding(Unreadable, f, "content: distinct names", repr(c)[:200])
    return m


# --- formats: vkeys, canonical JSON, signed notes, proofs --------------------------------

def b64(text):
    return base64.b64decode(text, validate=True)  # binascii.Error or ValueError (non-ASCII) if not base64


def parse_vkey(text):
    """c2sp.org/signed-note: name+hex(key ID)+base64(type || 32-byte key); key ID checked."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or not key_name_ok(parts[0]) or len(parts[1]) != 8:
        raise ValueError(f"not a verifier key: {text[:100]!r}")
    name, kid, raw = parts[0], bytes.fromhex(parts[1]), b64(parts[2])
    if len(raw) != 33 or raw[0] not in (1, 4) or key_id(name, raw[0], raw[1:]) != kid:
        raise ValueError(f"verifier key {name}: bad type, length or key ID")
    # "vkey": the key written out again (lowercase hex), so equal keys compare equal however they were spelt
    return {"name": name, "id": kid, "type": raw[0], "public": raw[1:],
            "vkey": f"{name}+{kid.hex()}+{base64.b64encode(raw).decode()}"}


def key_id(name, sig_type, public):
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()[:4]


def ed25519_ok(public, signature, message):
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def canonical(v):
    """RFC 8785 for JSON without fractions: keys sorted by UTF-16 code units (§3.2.3)."""
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical(x) for k, x in items) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canonical(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def safe_int(token):
    if len(token) > 17 or abs(int(token)) > SAFE_INT:
        raise ValueError(f"integer {token[:20]} outside ±2^53-1")
    return int(token)


def no_fraction(token):
    raise ValueError(f"number {token} is not an integer")


def parse_canonical(data):
    """The JSON value of bytes that are exactly its RFC 8785 form, else ValueError."""
    value = json.loads(data.decode("utf-8"), parse_float=no_fraction, parse_constant=no_fraction,
                       parse_int=safe_int)
    if canonical(value).encode("utf-8") != data:
        raise ValueError("bytes are not RFC 8785 canonical")
    return value


def open_checkpoint(note, log_key):
    """c2sp.org/signed-note + tlog-checkpoint: (origin, size, root) if the log key signed it."""
    if "\n\n" not in note or not note.endswith("\n"):
        raise ValueError("not a signed note")
    if any((ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F for c in note):
        raise ValueError("control character in the note")
    cut = note.rindex("\n\n")
    text, signed = note[:cut + 1], False
    for line in note[cut + 2:-1].split("\n"):
        parts = line[2:].split(" ")
        if not line.startswith(EM_DASH + " ") or len(parts) != 2 or not key_name_ok(parts[0]):
            raise ValueError(f"malformed signature line {line[:100]!r}")
        raw = b64(parts[1])
        if len(raw) < 5:
            raise ValueError("signature too short")
        if (parts[0], raw[:4]) == (log_key["name"], log_key["id"]):
            if not ed25519_ok(log_key["public"], raw[4:], text.encode()):
                raise BadSignature(f"the signature by {log_key['name']} does not verify")
            signed = True
    if not signed:
        raise BadSignature(f"not signed by {log_key['name']}")
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or not lines[0] or not DECIMAL.fullmatch(lines[1]):
        raise ValueError("checkpoint: bad origin or size line")
    root = b64(lines[2])
    if len(root) != 32 or any(not x for x in lines[3:-1]):
        raise ValueError("checkpoint: bad root or empty extension line")
    return lines[0], int(lines[1]), root


def node(a, b):
    return hashlib.sha256(b"\x01" + a + b).digest()


def inclusion_size(index, size):
    inner = (index ^ (size - 1)).bit_length()
    return inner + bin(index >> inner).count("1")


def root_from(index, size, leaf, path):
    """RFC 9162 §2.1.3.2; None if the path is of the wrong length."""
    if index >= size or len(path) != inclusion_size(index, size):
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def consistent(old, new, old_root, new_root, proof):
    """RFC 9162 §2.1.4.2: the tree (old, old_root) is a prefix of (new, new_root)."""
    if old > new or any(len(h) != 32 for h in proof):
        return False
    if old == new or old == 0:
        return not proof and (old_root == new_root if old == new else old_root == hashlib.sha256(b"").digest())
    level = (old & -old).bit_length() - 1
    idx, size = (old - 1) >> level, ((new - 1) >> level) + 1
    if len(proof) != inclusion_size(idx, size) + (0 if idx == 0 else 1):
        return False
    c = ([old_root] if old & (old - 1) == 0 else []) + list(proof)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = c[0]
    for x in c[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(x, fr), node(x, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, x)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


# --- the checks (docs/evidence.md) ----------------------------------------------------------

def text_of(files, name):
    if name not in files:
        raise finding(Fail, name, "present", "missing")
    try:
        return files[name].decode("utf-8")
    except UnicodeDecodeError as e:
        raise finding(Fail, name, "UTF-8 text", e) from e


def check_listing(files, m, folder):
    present = set(files) - {"manifest.json"}
    ignored = sorted(n for n in present - set(m["files"]) if folder and "/" not in n)
    for n in sorted(set(m["files"]) - present):
        raise finding(Fail, n, "present (listed in manifest.json)", "missing")
    for n in sorted(present - set(m["files"]) - set(ignored)):
        raise finding(Fail, n, "not present (not listed in manifest.json)", "an extra file")
    for n in sorted(set(m["content"]) - (present - set(ignored))):
        raise finding(Fail, n, "present (in the content the custody entry covers)", "missing")
    for n, h in sorted(m["files"].items()):
        if hashlib.sha256(files[n]).hexdigest() != h:
            raise finding(Fail, n, f"SHA-256 {h} (hash differs from manifest)", hashlib.sha256(files[n]).hexdigest())
    return ignored


def log_key_of(files, m, trusted):
    f = f"keys/{m['log_key']}.vkey"
    try:
        bundled = parse_vkey(text_of(files, f))
    except (ValueError, binascii.Error) as e:
        raise finding(Fail, f, "a C2SP verifier key", e) from e
    if bundled["name"] != m["log_key"] or bundled["type"] != 1:
        raise finding(Fail, f, f"the Ed25519 note key {m['log_key']}", bundled["vkey"])
    if trusted is not None and bundled["vkey"] != trusted["vkey"]:
        raise finding(Fail, f, f"the trusted log key {trusted['vkey']}", bundled["vkey"])
    return trusted or bundled


def nanoseconds(text, pattern, what):
    """An RFC 3339 UTC time as integer nanoseconds since 1970 (exact, no float); ValueError if not one."""
    m = pattern.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"{what} {str(text)[:40]!r} is not an RFC 3339 UTC time")
    y, mo, d, h, mi, s, frac = (m.group(i) for i in range(1, 8))
    if not (1 <= int(mo) <= 12 and 1 <= int(d) <= calendar.monthrange(int(y), int(mo))[1] and int(h) < 24
            and int(mi) < 60 and int(s) < 60):
        raise ValueError(f"{what} {text!r} is not a valid date and time")
    seconds = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s), 0, 0, 0))
    return seconds * 10**9 + int((frac or "").ljust(9, "0"))


def stated(e):
    """What the entry states: a v2 entry's statement, a v1 entry itself (type, authority, body …)."""
    return e["statement"] if e["v"] == 2 else e


def parse_v2(e):
    """docs/contracts.md §2.7: exactly the v2 members, the statement exactly its members, each of its type."""
    if set(e) != set(V2_ENTRY):
        raise ValueError("not the v2 entry members (docs/contracts.md §2.7)")
    st = e["statement"]
    if not isinstance(st, dict) or set(st) != set(STATEMENT):
        raise ValueError("the statement must have exactly the members of docs/contracts.md §2.7")
    a = st["authority"]
    if not isinstance(a, dict) or set(a) != {"id", "region"}:
        raise ValueError("statement authority must be {id, region}")
    strings = [st[k] for k in ("type", "actor", "request_id", "key")] + [a["id"], a["region"], e["prev"], e["sig"]]
    if (not all(isinstance(s, str) for s in strings) or type(st["v"]) is not int or st["v"] != 2
            or type(e["seq"]) is not int or e["seq"] < 0 or not HEX64.fullmatch(e["prev"])
            or not (st["subject"] is None or isinstance(st["subject"], str)) or not isinstance(st["refs"], list)
            or not all(type(r) is int and 0 <= r < e["seq"] for r in st["refs"]) or not isinstance(st["body"], dict)):
        raise ValueError("members of the wrong type (refs: earlier seqs)")
    nanoseconds(e["recorded_at"], RECORDED_AT, "recorded_at")
    nanoseconds(st["signed_at"], SIGNED_AT, "signed_at")
    b64(e["sig"])
    return e


def parse_entry(name, data):
    e = parse_canonical(data)
    if isinstance(e, dict) and type(e.get("v")) is int and e["v"] == 2:
        return parse_v2(e)
    if not isinstance(e, dict) or set(e) != set(ENVELOPE):
        raise ValueError("not the entry envelope (docs/contracts.md §2.1)")
    a = e["authority"]
    if not isinstance(a, dict) or set(a) != {"id", "region"}:
        raise ValueError("authority must be {id, region}")
    strings = [e[k] for k in ("prev", "type", "recorded_at", "actor", "request_id", "signer")] + [a["id"], a["region"]]
    if (not all(isinstance(s, str) for s in strings) or not isinstance(e["sig"], str)
            or type(e["v"]) is not int or e["v"] != 1 or type(e["seq"]) is not int or e["seq"] < 0
            or not (e["subject"] is None or isinstance(e["subject"], str)) or not isinstance(e["refs"], list)
            or not all(type(r) is int for r in e["refs"]) or not isinstance(e["body"], dict)):
        raise ValueError("members of the wrong type")
    b64(e["sig"])
    return e


def proven_entries(files, note, size, root, log_key):
    entries = {}
    for name in sorted(n for n in files if n.startswith("entries/")):
        if not ENTRY.fullmatch(name):
            raise finding(Fail, name, "entries/<seq>.json", name)
        try:
            e = parse_entry(name, files[name])
        except (ValueError, TypeError, RecursionError, binascii.Error) as err:
            raise finding(Fail, name, "an entry's canonical bytes", err) from err
        if name != f"entries/{e['seq']}.json":
            raise finding(Fail, name, f"entries/{e['seq']}.json", name)
        check_proof(files, name, e["seq"], note, size, root, log_key)
        entries[e["seq"]] = e
    for name in sorted(n for n in files if n.startswith("proofs/")):
        match = PROOF.fullmatch(name)
        if not match:
            raise finding(Fail, name, "proofs/<seq>.tlog-proof", name)
        if int(match.group(1)) not in entries:
            raise finding(Fail, f"entries/{match.group(1)}.json", f"present (its proof {name} is)", "missing")
    return entries


def check_proof(files, name, seq, note, size, root, log_key):
    """c2sp.org/tlog-proof@v1 against checkpoint.txt, for this entry at this index."""
    pf = f"proofs/{seq}.tlog-proof"
    if pf not in files:
        raise finding(Fail, pf, f"the proof of entry {seq}", "missing", "inclusion")
    try:
        head, sep, cp = files[pf].decode("utf-8").partition("\n\n")
        lines = head.split("\n")
        if not sep or lines[0] != "c2sp.org/tlog-proof@v1":
            raise ValueError("not a tlog-proof")
        rest = lines[1:]
        extra = b64(rest.pop(0)[6:]) if rest and rest[0].startswith("extra ") else None
        if not rest or not rest[0].startswith("index ") or not DECIMAL.fullmatch(rest[0][6:]):
            raise ValueError("missing or bad index line")
        index, path = int(rest[0][6:]), [b64(x) for x in rest[1:]]
    except (ValueError, binascii.Error) as err:
        raise finding(Fail, pf, "a C2SP tlog-proof", err, "proof_format") from err
    if cp != note:
        raise finding(Fail, pf, "a proof against checkpoint.txt", "a proof against another checkpoint", "inclusion")
    if index != seq:
        raise finding(Fail, pf, f"index {seq}", f"index {index}", "inclusion")
    if extra is not None and extra != files[name]:
        raise finding(Fail, pf, f"inclusion of {name}", "another entry in its extra line", "entry")
    leaf = hashlib.sha256(b"\x00" + files[name]).digest()
    if any(len(h) != 32 for h in path) or root_from(index, size, leaf, path) != root:
        raise finding(Fail, pf, f"inclusion of {name} at tree size {size}", "a proof that does not lead to the root",
                      "inclusion")


def check_order(files, entries, skew_seconds=SKEW_SECONDS):
    """docs/contracts.md §2.7, for the entries a bundle holds: no v1 entry after a v2
    entry; a v2 entry's ``prev`` is the leaf hash of entry seq-1 when that entry is
    in the bundle, its ``recorded_at`` no earlier than any earlier entry's, and its
    statement's ``signed_at`` no later than its ``recorded_at`` plus the skew."""
    first_v2, latest = None, (None, -1)
    for seq, e in sorted(entries.items()):
        f = f"entries/{seq}.json"
        if e["v"] == 1 and first_v2 is not None:
            raise finding(Fail, f, f"a v2 entry (a log holds v1 then v2; entry {first_v2} is v2)", "a v1 entry")
        if e["v"] == 2:
            first_v2 = seq if first_v2 is None else first_v2
            recorded = nanoseconds(e["recorded_at"], RECORDED_AT, "recorded_at")
            before = files.get(f"entries/{seq - 1}.json") if seq - 1 in entries else None
            if before is not None and e["prev"] != hashlib.sha256(b"\x00" + before).hexdigest():
                raise finding(Fail, f, f"prev = the leaf hash of entries/{seq - 1}.json", e["prev"])
            if recorded < latest[1]:
                raise finding(Fail, f, f"recorded_at no earlier than entry {latest[0]}'s", e["recorded_at"])
            signed = nanoseconds(e["statement"]["signed_at"], SIGNED_AT, "signed_at")
            if signed > recorded + skew_seconds * 10**9:
                raise finding(Fail, f, f"signed_at at most {skew_seconds} s after recorded_at {e['recorded_at']}",
                              e["statement"]["signed_at"])
        recorded_v1 = RECORDED_AT.fullmatch(e["recorded_at"]) if e["v"] == 1 else None
        if e["v"] == 2 or recorded_v1:
            latest = max(latest, (seq, nanoseconds(e["recorded_at"], RECORDED_AT, "recorded_at")), key=lambda x: x[1])


def signed_message(e):
    """v1: RFC 8785 of the entry without ``sig`` (§2.1); v2: the prefix and RFC 8785 of the statement (§2.7)."""
    if e["v"] == 2:
        return STATEMENT_PREFIX + canonical(e["statement"]).encode("utf-8")
    return canonical({k: v for k, v in e.items() if k != "sig"}).encode("utf-8")


def check_signatures(entries, log_key):
    """Replay the (proven) key entries in seq order: each entry is signed by the key
    registered for its authority at its seq (log-signed types: by the log key; a v2
    statement of the log's own records also names the operator's authority, seq 0's)."""
    log = operator = None
    keys: dict = {}  # name -> [key, authority id, registered seq, revoked seq]
    for seq, e in sorted(entries.items()):
        f = f"entries/{seq}.json"
        s = stated(e)
        try:
            body, signer = s["body"], (s["key"] if e["v"] == 2 else e["signer"])
            if s["type"] == "log.initialized" and parse_vkey(body["log_key"])["vkey"] != log_key["vkey"]:
                raise finding(Fail, f, f"the log key {log_key['name']}", body["log_key"])
            if s["type"] in LOG_SIGNED:
                key = parse_vkey(body["log_key"]) if s["type"] == "log.initialized" and seq == 0 else log
                if key is None or signer != key["name"]:
                    raise ValueError(f"not signed by the log key: {signer!r}")
                if e["v"] == 2 and operator is not None and s["authority"]["id"] != operator:
                    raise ValueError(f"a record of the log stated by {s['authority']['id']!r}, not {operator!r}")
            elif s["type"] in AUTHORITY_SIGNED:
                rec = keys.get(signer)
                if rec is None or rec[1] != s["authority"]["id"] or not (
                        rec[2] < seq and (rec[3] is None or seq < rec[3])):
                    raise ValueError(f"{signer!r} is not the key registered for {s['authority']['id']!r} at seq {seq}")
                key = rec[0]
            else:
                raise ValueError(f"unknown entry type {s['type']!r}")
            if not ed25519_ok(key["public"], b64(e["sig"]), signed_message(e)):
                raise ValueError(f"the signature by {key['name']} does not verify")
        except Fail:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as err:
            raise finding(Fail, f, "a valid signature by the key registered for its authority", err) from err
        try:
            if s["type"] == "log.initialized":
                if e["v"] == 2 and seq != 0:
                    raise ValueError("log.initialized after seq 0")
                log, operator = parse_vkey(s["body"]["log_key"]), s["authority"]["id"]
            elif s["type"] == "key.registered":
                k = parse_vkey(s["body"]["vkey"])
                if e["v"] == 2 and (k["name"] in keys or (log is not None and k["name"] == log["name"])):
                    raise ValueError(f"key {k['name']} is registered already")
                keys[k["name"]] = [k, s["body"]["authority_id"], seq, None]
            elif s["type"] == "key.revoked":
                if e["v"] == 2 and (keys[s["body"]["name"]][3] is not None
                                    or s["refs"] != [keys[s["body"]["name"]][2]]):
                    raise ValueError(f"key {s['body']['name']} is revoked already, or not by its key.registered")
                keys[s["body"]["name"]][3] = seq
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as err:
            raise finding(Fail, f, "a key entry that can be replayed", err) from err


def check_subjects(files, entries):
    for name in sorted(n for n in files if n.startswith("subjects/")):
        d = strict_json(files[name], name, Fail)
        if not (isinstance(d, dict) and all(isinstance(d.get(k), str) for k in ("ref", "scheme", "id", "salt"))
                and SALT.fullmatch(d["salt"])):
            raise finding(Fail, name, "a disclosure {ref, scheme, id, salt (32 hex digits), name}", str(d)[:200])
        try:
            ref = hashlib.sha256(bytes.fromhex(d["salt"]) + f"{d['scheme']}:{d['id']}".encode()).hexdigest()
        except UnicodeEncodeError as err:
            raise finding(Fail, name, "scheme and id in Unicode text", err) from err
        if ref != d["ref"] or name != f"subjects/{ref}.json":
            raise finding(Fail, name, f"SHA-256(salt || scheme:id) = {d['ref']}", ref)
        if not any(stated(e)["subject"] == ref for e in entries.values()):
            raise finding(Fail, name, "a subject named by an entry in the bundle", "no entry about it")


def check_custody(files, m, entries):
    f = f"entries/{m['custody_seq']}.json"
    c = entries.get(m["custody_seq"])
    if c is None or stated(c)["type"] != "evidence.exported":
        raise finding(Fail, f, "the evidence.exported entry", "missing or another type")
    b = stated(c)["body"]
    if not (all(isinstance(b.get(k), str) for k in ("content_sha256", "case", "requested_by"))
            and isinstance(b.get("seqs"), list) and all(type(s) is int for s in b["seqs"])
            and isinstance(b.get("subjects"), list) and all(isinstance(s, str) for s in b["subjects"])):
        raise finding(Fail, f, "an evidence.exported body", str(b)[:200])
    listing = {p: hashlib.sha256(files[p]).hexdigest() for p in m["content"]}
    digest = hashlib.sha256(canonical(listing).encode("utf-8")).hexdigest()
    if b["content_sha256"] != digest or b["case"] != m["case"]:
        raise finding(Fail, f, f"content_sha256 {digest} for case {m['case']}",
                      f"{b['content_sha256']} for case {b['case']}")
    if (m["content_sha256"], m["requested_by"], m["exported_at"]) != (b["content_sha256"], b["requested_by"],
                                                                       c["recorded_at"]):
        raise finding(Fail, "manifest.json", "content_sha256, requested_by, exported_at as the custody entry records",
                      "others")
    expected = {f"entries/{s}.json" for s in b["seqs"]} | {f"subjects/{r}.json" for r in b["subjects"]}
    if {n for n in m["content"] if n.startswith(("entries/", "subjects/"))} != expected:
        raise finding(Fail, "manifest.json", "content as recorded by the export", "another")
    beyond = set(entries) - set(b["seqs"]) - {c["seq"]}
    if beyond:
        raise finding(Fail, "entries/", "only the entries the export recorded", sorted(beyond))


def check_extends(files, origin, size, root, log_key, old_files):
    try:
        old_origin, old_size, old_root = open_checkpoint(text_of(old_files, "checkpoint.txt"), log_key)
    except (Fail, ValueError, binascii.Error) as err:
        raise finding(Fail, "(older) checkpoint.txt", f"a checkpoint signed by {log_key['name']}", err) from err
    if old_origin != origin or (old_size == size and old_root != root):
        raise finding(Fail, "checkpoint.txt", f"the log {old_origin} extending size {old_size}", f"{origin} {size}")
    if old_size == size:
        return
    if "consistency.json" not in files:
        raise finding(Fail, "consistency.json", f"a consistency proof from size {old_size}", "missing")
    c = strict_json(files["consistency.json"], "consistency.json", Fail)
    if not (isinstance(c, dict) and type(c.get("old_size")) is int and type(c.get("new_size")) is int
            and isinstance(c.get("proof"), list) and all(isinstance(h, str) and HEX64.fullmatch(h) for h in c["proof"])):
        raise finding(Fail, "consistency.json", "{old_size, new_size, proof}", str(c)[:200])
    if (c["old_size"], c["new_size"]) != (old_size, size) or not consistent(
            old_size, size, old_root, root, [bytes.fromhex(h) for h in c["proof"]]):
        raise finding(Fail, "consistency.json", f"the tree at {size} extends the tree at {old_size}", "not")


# --- all the checks, in order (docs/evidence.md, "What is checked") ----------------------------

MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError, OverflowError,
             binascii.Error)


def step(check, run, *args):
    """Run one check; a failure inside it is named by it unless it names itself. A malformed
    file that passed its hash can still raise deep in a check: that is a failure of the check."""
    try:
        return run(*args)
    except Finding as e:
        if e.check is None:
            e.check = check
        raise
    except MALFORMED as err:
        raise finding(Fail, "bundle", "content this script can check", f"{type(err).__name__}: {err}",
                      check) from err


def checkpoint_of(note, log_key):
    try:
        return open_checkpoint(note, log_key)
    except BadSignature as err:
        raise finding(Fail, "checkpoint.txt", f"a checkpoint signed by {log_key['name']}", err,
                      "checkpoint_signature") from err
    except (ValueError, binascii.Error) as err:
        raise finding(Fail, "checkpoint.txt", "a C2SP checkpoint (signed note)", err, "checkpoint_format") from err


def check_files(files, m, folder, trusted, old_files=None, skew_seconds=SKEW_SECONDS):
    """Every check on a bundle's files and its (well-formed) manifest, in order: the report,
    or Fail naming the first check that failed. ``trusted``: the parsed log key, or None."""
    ignored = step("manifest", check_listing, files, m, folder)
    files = {n: b for n, b in files.items() if n not in ignored}
    log_key = step("key", log_key_of, files, m, trusted)
    note = step("checkpoint_format", text_of, files, "checkpoint.txt")
    origin, size, root = checkpoint_of(note, log_key)
    if (m["origin"], m["tree_size"]) != (origin, size):
        raise finding(Fail, "manifest.json", f"origin {origin} at tree size {size} (checkpoint.txt)",
                      f"origin {m['origin']} at tree size {m['tree_size']}", "checkpoint_origin")
    entries = step("entry", proven_entries, files, note, size, root, log_key)
    step("entry_signature", check_signatures, entries, log_key)
    step("entry", check_order, files, entries, skew_seconds)
    step("disclosure", check_subjects, files, entries)
    step("custody", check_custody, files, m, entries)
    if old_files is not None:
        step("consistency", check_extends, files, origin, size, root, log_key, old_files)
    # What the log vouches for: the checkpoint, every entry and its proof, and the content files
    # (their SHA-256 are in the log-signed custody entry). The manifest is unsigned, and the
    # renderings and helpers are covered by nothing else: whoever rewrites the zip rewrites them.
    proven = set(m["content"]) | {"manifest.json", "checkpoint.txt"}
    return {"authenticated": trusted is not None, "case": m["case"], "requested_by": m["requested_by"],
            "exported_at": m["exported_at"], "origin": origin, "tree_size": size, "root": root.hex(),
            "log_key": log_key["vkey"], "entries": len(entries),
            "subjects": sum(1 for n in files if n.startswith("subjects/")), "custody_seq": m["custody_seq"],
            "unauthenticated": sorted(n for n in files if n not in proven and not n.startswith(("entries/", "proofs/"))),
            "ignored": ignored}


def trusted_key(text):
    """The log key the caller trusts (``--log-vkey``): None, or parsed; Unreadable (usage) if not a key."""
    if text is None:
        return None
    try:
        return parse_vkey(text)
    except (ValueError, binascii.Error) as err:
        raise finding(Unreadable, "--log-vkey", "a C2SP verifier key (name+id+key), or a file holding one", err,
                      "usage") from err


def verify_files(files, folder, trusted_text=None, old_files=None, skew_seconds=SKEW_SECONDS):
    trusted = trusted_key(trusted_text)
    m = step("manifest_format", read_manifest, files)
    return check_files(files, m, folder, trusted, old_files, skew_seconds)


def verify_data(data, trusted_text=None, against=None, skew_seconds=SKEW_SECONDS, limits=()):
    """Verify a bundle's bytes (``against``: an older bundle's bytes); ``limits``: (max members,
    max bytes decompressed, max zip bytes). The report, or Fail / Unreadable."""
    trusted_key(trusted_text)
    files = step("zip", read_zip, data, "bundle", *limits)
    old_files = step("zip", read_zip, against, "(older) bundle", *limits) if against is not None else None
    return verify_files(files, False, trusted_text, old_files, skew_seconds)


def verify(path, trusted_text=None, against=None, skew_seconds=SKEW_SECONDS):
    """Verify the bundle at ``path`` (a .zip or the folder it was unzipped into)."""
    trusted_key(trusted_text)
    files, folder = step("zip", read_bundle, path, "bundle")
    old_files = step("zip", read_bundle, against, "(older) bundle")[0] if against is not None else None
    return verify_files(files, folder, trusted_text, old_files, skew_seconds)


def read_log_vkey(value):
    """``--log-vkey``: the key itself, or the path of a file holding it (VERIFY.md shows both)."""
    if value is None or "+" in value and not os.path.exists(value):
        return value
    try:
        with open(value, encoding="utf-8") as f:
            return f.read(4096)
    except (OSError, UnicodeDecodeError) as err:
        raise finding(Unreadable, "--log-vkey", "a C2SP verifier key, or a readable file holding one",
                      f"{value[:100]!r}: {err}", "usage") from err


def report_text(r):
    where = (f"case {r['case']}: {r['entries']} entries, {r['subjects']} disclosures, at tree size "
             f"{r['tree_size']} of {r['origin']} (root {r['root']}); export recorded at seq {r['custody_seq']}")
    if r["authenticated"]:
        line = f"OK: {where}; signed by the log key you trust"
    else:  # never a plain OK: the bundle's own key proves only that the bundle agrees with itself
        line = (f"CONSISTENT, NOT AUTHENTICATED: {where}; checked against the bundle's own log key "
                f"{r['log_key']}, which anyone can make: pass --log-vkey with the log key you obtained "
                f"from the operator")
    if r["unauthenticated"]:
        line += ("\nNot authenticated by the log (renderings and helpers; rely on the entries): "
                 + ", ".join(r["unauthenticated"]))
    if r["ignored"]:
        line += "\nIgnored (not in the bundle): " + ", ".join(r["ignored"])
    return line


USAGE = "python3 verify_bundle.py BUNDLE [--log-vkey VKEY] [--against OLDER] [--skew-seconds N] [--json]"


def run(argv):
    """(exit code, the result as a dict) for a command line; never raises for any input."""
    as_json = "--json" in argv  # wherever it stands: the answer's form is settled before anything can fail
    args, opts = [], {}
    it = iter(a for a in argv if a != "--json")
    for a in it:
        if a in ("--log-vkey", "--against", "--skew-seconds"):
            opts[a] = next(it, None)
        else:
            args.append(a)
    skew = opts.get("--skew-seconds", str(SKEW_SECONDS))
    try:
        if len(args) != 1 or None in opts.values() or not DECIMAL.fullmatch(skew or ""):
            raise finding(Unreadable, "arguments", USAGE, " ".join(argv)[:200], "usage")
        r = verify(args[0], read_log_vkey(opts.get("--log-vkey")), opts.get("--against"), int(str(skew)))
    except Finding as e:
        code = EXIT_FAIL if isinstance(e, Fail) else EXIT_UNREADABLE
        return code, as_json, {"ok": False, "verdict": "fail" if code == EXIT_FAIL else "unreadable",
                               "check": e.check, "file": e.file, "expected": e.expected, "found": e.found,
                               "message": str(e), "exit_code": code}
    code = EXIT_OK if r["authenticated"] else EXIT_NOT_AUTHENTICATED
    return code, as_json, {"ok": code == EXIT_OK, "verdict": "authenticated" if code == EXIT_OK else NOT_AUTHENTICATED,
                           "check": None, "exit_code": code, **r}


def printable(text):
    """Text from the bundle, safe on a terminal: C0/C1 controls (but newline) and lone surrogates escaped."""
    text = re.sub("[\x00-\x09\x0b-\x1f\x7f-\x9f]", lambda c: f"\\x{ord(c.group()):02x}", str(text))
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def main(argv):
    try:
        code, as_json, result = run(argv)
    except Exception as e:  # noqa: BLE001 - a bug in this script: one line, never a traceback
        code, as_json, result = 70, "--json" in argv, {
            "ok": False, "verdict": "internal error", "check": "internal", "exit_code": 70,
            "message": f"{type(e).__name__}: {str(e)[:200]} (a bug in verify_bundle.py; please report it)"}
    if as_json:
        print(json.dumps(result, ensure_ascii=True))
    elif code in (EXIT_OK, EXIT_NOT_AUTHENTICATED):
        print(printable(report_text(result)))
    elif result["check"] == "usage" and result["file"] == "arguments":
        print(f"UNREADABLE: usage: {USAGE}")
    else:
        label = {EXIT_FAIL: "FAIL", EXIT_UNREADABLE: "UNREADABLE"}.get(code, "ERROR")
        print(printable(f"{label}: [{result['check']}] {result['message']}"))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
