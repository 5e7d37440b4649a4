"""Reading an evidence bundle as hostile input: the zip container and the shape of
``manifest.json`` (docs/evidence.md, "Malformed input"). Pure: bytes in, members
and a typed manifest out, or ``UnreadableBundle`` (the CLI's exit 2: not a bundle
this verifier can read). Whether the members *verify* is ``verifier``'s job (exit 1).

Refused before anything is checked, so no later step can be misled:
- not a zip, a truncated or corrupt one, encrypted members, compression other
  than stored or deflate, symbolic links;
- a member name that is absolute, has a ``..``, ``.`` or empty segment, a
  backslash, a drive letter or a control character (extracting it would write
  outside the folder: "zip slip");
- two members whose names are equal, or equal ignoring case (a reader and an
  extracting tool could each pick a different one);
- more members or more decompressed bytes than ``Limits`` allows (zip bombs):
  the declared sizes are checked first, then every member is read with the
  bound, whatever its header claims;
- a manifest that is not strict JSON (duplicate keys, floats, NaN) or whose
  members are missing, extra or of the wrong type.

``ledger verify-bundle`` runs the bundled ``verify_bundle.py`` (``standalone``), which
applies the same rules (decision 0017); this reader, written apart, is held to the
same verdicts by tests/test_hostile_bundle.py, and ``UnreadableBundle`` and ``Limits``
are the types ``verifier`` answers with.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import stat
import zipfile
from dataclasses import dataclass
from typing import Any

from ledger.errors import InputError
from ledger.evidence.layout import FORMAT, MAX_BUNDLE_BYTES, MAX_MEMBERS, MAX_ZIP_BYTES, VERSION
from ledger.signing.keys import check_key_name


class UnreadableBundle(InputError):
    """Not an evidence bundle this verifier can read: the input is bad (exit 2)."""

    code = "unreadable_bundle"

    def __init__(self, file: str, expected: str, found: str):
        self.file, self.expected, self.found = file, expected, found
        super().__init__(f"{file}: expected {expected}; found {found}")


@dataclass(frozen=True)
class Limits:
    """Bounds on what a bundle may make the verifier read (zip bombs)."""

    max_members: int = MAX_MEMBERS
    max_bytes: int = MAX_BUNDLE_BYTES  # decompressed, all members together
    max_zip_bytes: int = MAX_ZIP_BYTES  # the zip as it comes


@dataclass(frozen=True)
class Manifest:
    """``manifest.json``, every member of its type (docs/evidence.md)."""

    case: str
    requested_by: str
    exported_at: str
    origin: str
    tree_size: int
    custody_seq: int
    log_key: str  # the log's verifier-key name
    content: tuple[str, ...]  # the files the custody entry's content_sha256 covers
    content_sha256: str
    files: dict[str, str]  # every other file -> its SHA-256 (hex)


_FIELDS = {"format": str, "version": int, "case": str, "requested_by": str, "exported_at": str, "origin": str,
           "tree_size": int, "custody_seq": int, "log_key": str, "content": list, "content_sha256": str,
           "files": dict}
_HEX64 = re.compile(r"[0-9a-f]{64}")
_DRIVE = re.compile(r"[A-Za-z]:")


def read_members(data: bytes, limits: Limits = Limits(), *, label: str = "bundle") -> dict[str, bytes]:
    """The zip's files by name (directory entries skipped), or ``UnreadableBundle``."""
    if len(data) > limits.max_zip_bytes:
        raise UnreadableBundle(label, f"a zip of at most {limits.max_zip_bytes} bytes", f"{len(data)} bytes")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            _check_listing(infos, limits, label)
            return _read_all(z, infos, limits, label)
    except UnreadableBundle:
        raise
    except Exception as e:  # noqa: BLE001
        # zipfile raises many types on hostile bytes (BadZipFile, zlib.error, EOFError,
        # struct.error, UnicodeDecodeError, NotImplementedError …): each means one thing.
        raise UnreadableBundle(label, "a readable zip file", f"{type(e).__name__}: {e}") from e


def _check_listing(infos: list[zipfile.ZipInfo], limits: Limits, label: str) -> None:
    if len(infos) > limits.max_members:
        raise UnreadableBundle(label, f"at most {limits.max_members} members", f"{len(infos)}")
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_bytes:
        raise UnreadableBundle(label, f"at most {limits.max_bytes} bytes decompressed", f"{declared} declared")
    seen: dict[str, str] = {}
    for info in infos:
        name = info.filename
        problem = unsafe_name(name)
        if problem:
            raise UnreadableBundle(repr(name), "a relative member name inside the bundle", problem)
        if info.flag_bits & 0x1:
            raise UnreadableBundle(name, "an unencrypted member", "an encrypted one")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise UnreadableBundle(name, "stored or deflate compression", f"method {info.compress_type}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UnreadableBundle(name, "a regular file", "a symbolic link")
        key = name.rstrip("/").casefold()
        if key in seen:
            raise UnreadableBundle(name, "one member of this name (ignoring case)", f"also {seen[key]!r}")
        seen[key] = name


def unsafe_name(name: str) -> str | None:
    """Why a member name could escape the folder it is extracted to, or None."""
    path = name[:-1] if name.endswith("/") else name
    if not path:
        return "an empty name"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        return "a control character"
    if "\\" in name:
        return "a backslash"
    if path.startswith("/") or _DRIVE.match(path):
        return "an absolute path"
    if any(seg in ("", ".", "..") for seg in path.split("/")):
        return "an empty, '.' or '..' segment"
    return None


def _read_all(z: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits, label: str) -> dict[str, bytes]:
    files, total = {}, 0
    for info in infos:
        if info.filename.endswith("/"):
            continue
        with z.open(info) as f:
            # Read at most what is left of the bound, plus one byte to see it exceeded,
            # whatever the header declared.
            body = f.read(limits.max_bytes - total + 1)
        total += len(body)
        if total > limits.max_bytes:
            raise UnreadableBundle(label, f"at most {limits.max_bytes} bytes decompressed", "more")
        files[info.filename] = body
    return files


def strict_json(data: bytes, file: str, error: type[Exception]) -> Any:
    """JSON as RFC 8259 §4 recommends for interoperability: UTF-8, unique member
    names; plus no fractions or NaN (nothing in a bundle has one). ``error(file, …)`` otherwise."""
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_unique, parse_float=_no_number,
                          parse_constant=_no_number)
    except (ValueError, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise error(file, "strict JSON (UTF-8, unique keys, integers only)", str(e)[:200]) from e


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        dup = next(k for i, (k, _) in enumerate(pairs) if k in dict(pairs[:i]))
        raise ValueError(f"duplicate key {dup!r}")
    return obj


def _no_number(token: str) -> Any:
    raise ValueError(f"number {token} is not an integer")


def read_manifest(files: dict[str, bytes]) -> Manifest:
    """``manifest.json`` with every member present and of its type, or ``UnreadableBundle``."""
    name = "manifest.json"
    if name not in files:
        raise UnreadableBundle(name, "present (an evidence bundle)", "missing")
    m = strict_json(files[name], name, UnreadableBundle)
    if not isinstance(m, dict):
        raise UnreadableBundle(name, "a JSON object", type(m).__name__)
    if m.get("format") != FORMAT:
        raise UnreadableBundle(name, f"format {FORMAT}", repr(m.get("format"))[:100])
    if m.get("version") != VERSION or type(m.get("version")) is not int:
        raise UnreadableBundle(name, f"version {VERSION} (this verifier's)", repr(m.get("version"))[:100])
    if set(m) != set(_FIELDS):
        raise UnreadableBundle(name, f"exactly the members {sorted(_FIELDS)}",
                               f"missing {sorted(set(_FIELDS) - set(m))}, extra {sorted(set(m) - set(_FIELDS))}")
    for field, kind in _FIELDS.items():
        if type(m[field]) is not kind:  # bool is not an int here
            raise UnreadableBundle(name, f"{field}: {kind.__name__}", type(m[field]).__name__)
    for field in ("tree_size", "custody_seq"):
        if m[field] < 0:
            raise UnreadableBundle(name, f"{field}: not negative", str(m[field]))
    _check_manifest_lists(m)
    return Manifest(m["case"], m["requested_by"], m["exported_at"], m["origin"], m["tree_size"], m["custody_seq"],
                    m["log_key"], tuple(m["content"]), m["content_sha256"], dict(m["files"]))


def _check_manifest_lists(m: dict[str, Any]) -> None:
    name = "manifest.json"
    try:
        check_key_name(m["log_key"])
    except Exception as e:  # noqa: BLE001 - KeyFormatError; any failure is the same finding
        raise UnreadableBundle(name, "log_key: a key name", repr(m["log_key"])[:100]) from e
    if not _HEX64.fullmatch(m["content_sha256"]):
        raise UnreadableBundle(name, "content_sha256: 64 lowercase hex digits", repr(m["content_sha256"])[:100])
    for path, digest in m["files"].items():
        if path == name or unsafe_name(path) or path.endswith("/"):
            raise UnreadableBundle(name, "files: names of members other than manifest.json", repr(path)[:100])
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise UnreadableBundle(name, f"files[{path!r}]: 64 lowercase hex digits", repr(digest)[:100])
    content = m["content"]
    if not all(isinstance(p, str) for p in content) or len(set(content)) != len(content):
        raise UnreadableBundle(name, "content: distinct names", repr(content)[:200])


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
