"""``ledger record`` against hostile input: a corpus of encodings,
line ends, sizes, nesting, repeated names, odd characters and numbers, each
with the answer docs/cli.md promises, then Hypothesis mutating a valid line.

Every refusal must exit 2 with a JSON error naming the line and the field,
print no traceback, and leave the log exactly as it was (the batch is all or
nothing). Every acceptance must store the text exactly as sent.
"""

from __future__ import annotations

import codecs
import itertools
import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.cli import main
from ledger.cli.draft_lines import MAX_DEPTH, MAX_LINE_BYTES
from ledger.log.operator import init_log, register_authority, register_key
from ledger.signing import keystore
from ledger.store import log_store
from ledger.store.engine import make_engine
from ledger.store.migrate import upgrade
from tests.conftest import AUTHORITY_NAMES, HOHHOT, ORIGIN, FixedClock

PASSPHRASE = "hostile input never crashes"
_ids = itertools.count()


@dataclass
class World:
    """A log with genesis and one registered authority (呼和浩特) whose key is on disk,
    driven through the CLI with ``env``. Two keys only: each run decrypts them."""

    env: dict[str, str | None]
    url: str

    def size(self) -> int:
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                return log_store.size(conn)
        finally:
            engine.dispose()

    def canonical(self, seq: int) -> bytes:
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                data = log_store.get_canonical(conn, seq)
        finally:
            engine.dispose()
        assert data is not None
        return data

    def record(self, data: bytes, *args: str) -> Result:
        return CliRunner().invoke(main, ["record", "-", *args], input=data, env=self.env)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    tmp = tmp_path_factory.mktemp("hostile-record")
    key_dir, vkey_dir = tmp / "private", tmp / "keys"
    url = f"sqlite:///{tmp}/ledger.db"
    engine = make_engine(url)
    upgrade(engine)
    clock = FixedClock()
    log = keystore.generate("dev-log", key_dir, vkey_dir, PASSPHRASE.encode())
    init_log(engine, log, ORIGIN, clock)
    register_authority(engine, log, HOHHOT.id, AUTHORITY_NAMES[HOHHOT.id], HOHHOT.region, clock)
    hohhot = keystore.generate("hohhot", key_dir, vkey_dir, PASSPHRASE.encode())
    register_key(engine, log, hohhot.verifier.vkey(), HOHHOT.id, clock)
    engine.dispose()
    env: dict[str, str | None] = {
        "LEDGER_KEY_PASSPHRASE": PASSPHRASE, "LEDGER_KEY_PASSPHRASE_FILE": None, "LEDGER_KEY_DIR": str(key_dir),
        "LEDGER_VKEY_DIR": str(vkey_dir), "LEDGER_STATE_DIR": str(tmp / "state"), "LEDGER_DATABASE_URL": url,
        "LEDGER_LOG_KEY": "dev-log", "COLUMNS": "40"}
    return World(env, url)


def draft(text: str = "考核记录", **members) -> dict:
    """A valid note, with a request id no other test uses."""
    return {"type": "note.recorded", "authority": {"id": HOHHOT.id, "region": HOHHOT.region}, "actor": "officer-1",
            "request_id": f"hostile-{next(_ids):08d}", "body": {"text": text}, **members}


def line(obj=None, **members) -> bytes:
    return json.dumps(obj if obj is not None else draft(**members), ensure_ascii=False).encode()


def raw_note(text_json: bytes, rid: str | None = None) -> bytes:
    """A note whose body.text is written as the raw JSON bytes given (escapes, odd bytes …)."""
    rid = rid or f"hostile-{next(_ids):08d}"
    return (b'{"type": "note.recorded", "authority": {"id": "hrss-150100", "region": "150100"}, '
            b'"actor": "officer-1", "request_id": "' + rid.encode() + b'", "body": {"text": ' + text_json + b"}}")


def nested(levels: int) -> bytes:
    return raw_note(b'"x"').replace(b'"body": {', b'"body": {"deep": ' + b"[" * levels + b"]" * levels + b", ")


@dataclass(frozen=True)
class Refused:
    name: str
    data: Callable[[], bytes]
    field: str  # a problem's field
    rule: str  # part of the message
    line: int | None = 1


@dataclass(frozen=True)
class Accepted:
    name: str
    data: Callable[[], bytes]
    written: int = 1
    stored: tuple[bytes, ...] = field(default=())  # bytes the last entry's canonical form must hold


NFD = unicodedata.normalize("NFD", "Café 呼和浩特")  # "e" + U+0301: not NFC
REFUSED = [
    # encodings
    Refused("GBK bytes", lambda: line().replace("考核记录".encode(), "考核记录".encode("gbk")), "input", "not UTF-8"),
    Refused("Latin-1 on line 3", lambda: b"\n".join([line(), line(), raw_note(b'"caf\xe9"')]), "input", "not UTF-8",
            line=3),
    Refused("UTF-16 with BOM", lambda: codecs.BOM_UTF16_LE + line().decode().encode("utf-16-le"), "input", "UTF-16"),
    Refused("a BOM on line 2", lambda: line() + b"\n" + codecs.BOM_UTF8 + line(), "$", "not JSON", line=2),
    Refused("UTF-8 cut inside a character", lambda: raw_note('"考核'.encode()[:-1] + b'"'), "input", "not UTF-8"),
    Refused("CESU-8 surrogate bytes", lambda: raw_note(b'"\xed\xa0\x80"'), "input", "not UTF-8"),
    # sizes and nesting
    Refused("an oversized line", lambda: line(text="记" * (MAX_LINE_BYTES // 3 + 1)), "$", f"more than {MAX_LINE_BYTES}"),
    Refused("nesting beyond the bound", lambda: nested(MAX_DEPTH), "$", f"more than {MAX_DEPTH}"),
    Refused("nesting 30 000 deep (the recursion limit is 1 000)", lambda: nested(30_000), "$", "levels deep"),
    Refused("nesting 60 000 deep, unclosed", lambda: b"[" * 60_000, "$", "levels deep"),
    # repeated names, at every depth: nothing is written, the first line included
    Refused("a repeated top-level name", lambda: line().replace(b'"actor"', b'"request_id": "other", "actor"'),
            "request_id", "repeated"),
    Refused("a repeated body name after a good line", lambda: line() + b"\n" + raw_note(b'"a", "text": "b"'),
            "body.text", "RFC 8259 §4", line=2),
    Refused("amount_fen twice, the last one large",
            lambda: line(body={"amount_fen": 100}).replace(b'"amount_fen": 100', b'"amount_fen": 100, "amount_fen": 999999999'),
            "body.amount_fen", "repeated"),
    Refused("a repeated name deep in the body",
            lambda: line(body={"scope": {"regions": [{"a": 1}]}}).replace(b'{"a": 1}', b'{"a": 1, "a": 2}'),
            "body.scope.regions[0].a", "repeated"),
    Refused("a repeated authority id", lambda: line().replace(b'"id": "hrss-150100"', b'"id": "hrss-150100", "id": "x"'),
            "authority.id", "repeated"),
    # characters
    Refused("a raw NUL in a string", lambda: raw_note(b'"a\x00b"'), "$", "not JSON"),
    Refused("an escaped NUL in body.text", lambda: raw_note(b'"a\\u0000b"'), "body.text", "control characters"),
    Refused("a raw NUL between members", lambda: line().replace(b', "actor"', b',\x00 "actor"'), "$", "not JSON"),
    Refused("a lone high surrogate", lambda: raw_note(b'"\\ud800"'), "body.text", "lone surrogate"),
    Refused("a lone low surrogate in a name", lambda: line().replace(b'"body": {', b'"body": {"\\udc00": 1, '),
            'body["\\udc00"]', "lone surrogate"),
    Refused("a reversed surrogate pair", lambda: raw_note(b'"\\ude00\\ud83d"'), "body.text", "lone surrogate"),
    Refused("U+2028 between tokens", lambda: line().replace(b', "actor"', ", \u2028\"actor\"".encode()), "$", "not JSON"),
    Refused("a raw U+001C in a string (splitlines would cut here)", lambda: raw_note(b'"a\x1cb"'), "$", "not JSON"),
    Refused("a lone CR ends nothing", lambda: line() + b"\r" + line(), "$", "not JSON"),
    Refused("a form feed between lines", lambda: line() + b"\x0c\n", "$", "not JSON"),
    Refused("markup and ANSI in the type", lambda: json.dumps(draft(type="[/red][bold]\u001b[2J")).encode(),
            "type", "unknown entry type"),
    # numbers (RFC 7493 §2.2; the entry format carries integers within ±(2^53-1) only)
    Refused("2^53 in refs", lambda: line(refs=[2**53]), "refs[0]", "outside ±(2^53-1)"),
    Refused("-2^53 in the body", lambda: line(body={"n": -(2**53)}), "body.n", "outside ±(2^53-1)"),
    Refused("a 5000-digit integer", lambda: raw_note(b"1" * 5000), "body.text", "5000 digits"),
    Refused("1e400", lambda: raw_note(b"1e400"), "body.text", "must be an integer"),
    Refused("1.0", lambda: line(refs=[1.0]), "refs[0]", "must be an integer"),
    Refused("NaN", lambda: raw_note(b"NaN"), "body.text", "RFC 8259 §6"),
    Refused("-Infinity in refs", lambda: line().replace(b'"body"', b'"refs": [-Infinity], "body"'), "refs[0]", "RFC 8259 §6"),
    # not JSON, or not a draft
    Refused("truncated JSON", lambda: line(text="plain")[:-7], "$", "not JSON"),
    Refused("trailing garbage", lambda: line() + b" x", "$", "not JSON"),
    Refused("an array", lambda: b"[" + line() + b"]", "$", "must be a JSON object"),
    Refused("null", lambda: b"null", "$", "must be a JSON object"),
    Refused("an empty object", lambda: b"{}", "type", "is required"),
    Refused("an unknown member", lambda: line(seq=7), "seq", "is not a member"),
    Refused("an unknown authority member", lambda: line(authority={"id": HOHHOT.id, "region": HOHHOT.region, "x": 1}),
            "authority.x", "is not a member"),
    Refused("type not text", lambda: line(type={"a": 1}), "type", "must be text"),
    Refused("authority not an object", lambda: line(authority="hrss-150100"), "authority", "must be a JSON object"),
    Refused("refs not an array", lambda: line(refs=5), "refs", "must be an array"),
    Refused("body not an object", lambda: line(body=["text"]), "body", "must be a JSON object"),
    Refused("a field the type does not have, on line 3",
            lambda: b"\n".join([line(), b"", line(body={"text": "x", "amount": 1})]), "body.amount", "not a field", line=3),
    Refused("a request id reused in one batch with other content",
            lambda: (lambda d: line(d) + b"\n" + line({**d, "body": {"text": "other"}}))(draft()), "request_id", "",
            line=None),
]

ACCEPTED = [
    Accepted("plain UTF-8", lambda: line()),
    Accepted("UTF-8 with a BOM", lambda: codecs.BOM_UTF8 + line()),
    Accepted("CRLF line ends", lambda: line() + b"\r\n" + line() + b"\r\n", written=2),
    Accepted("blank and whitespace-only lines", lambda: b"\n \t\n" + line() + b"\n\r\n\n" + line() + b"\n  \n", written=2),
    Accepted("no final newline", lambda: line()),
    Accepted("leading whitespace", lambda: b" \t " + line()),
    Accepted("empty input", lambda: b"", written=0),
    Accepted("U+2028 and U+2029 inside a string", lambda: line(text="甲\u2028乙\u2029丙"),
             stored=("甲\u2028乙\u2029丙".encode(),)),
    Accepted("U+0085 inside a string", lambda: line(text="a\u0085b"), stored=("a\u0085b".encode(),)),
    Accepted("escaped U+2028", lambda: raw_note(b'"a\\u2028b"'), stored=("a\u2028b".encode(),)),
    Accepted("a surrogate pair", lambda: raw_note(b'"\\ud83d\\ude00"'), stored=("\U0001F600".encode(),)),
    Accepted("non-NFC text is kept as sent", lambda: line(text=NFD), stored=(NFD.encode(),)),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_hostile_input_is_refused_naming_line_and_field_and_nothing_is_written(world, case):
    before = world.size()
    r = world.record(case.data(), "--json")
    assert r.exit_code == 2, r.output + r.stderr
    assert "Traceback" not in r.output + r.stderr
    error = json.loads(r.stdout)
    assert error["ok"] is False and error["exit_code"] == 2, error
    if case.line is not None:
        assert error.get("line") == case.line, error
    problems = error.get("problems") or [{"field": error["message"].split(":")[0], "rule": error["message"]}]
    assert any(p["field"] == case.field for p in problems) or case.field in error["message"], error
    assert case.rule in error["message"], error
    assert world.size() == before


@pytest.mark.parametrize("case", ACCEPTED, ids=[c.name for c in ACCEPTED])
def test_odd_but_valid_input_is_recorded_exactly(world, case):
    before = world.size()
    r = world.record(case.data(), "--json")
    assert r.exit_code == 0, r.output + r.stderr
    assert world.size() == before + case.written
    assert len(json.loads(r.stdout)) == case.written
    for fragment in case.stored:
        assert fragment in world.canonical(before + case.written - 1)


def test_a_body_nested_to_the_bound_reaches_the_entry_rules(world):
    """One level below the bound the line parses; the note type then refuses its
    unknown member: the bound is the parser's, not a second rule on bodies."""
    r = world.record(nested(MAX_DEPTH - 3), "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["problems"] == [
        {"field": "body.deep", "rule": "is not a field of this entry type"}]


def test_a_refused_batch_leaves_its_good_lines_unrecorded(world):
    """All or nothing: the good lines of a refused batch go in later, as new entries."""
    good = [draft(), draft()]
    before = world.size()
    bad = b"\n".join([line(good[0]), line(good[1]), raw_note(b'"a", "text": "b"')])
    assert world.record(bad, "--json").exit_code == 2 and world.size() == before
    out = world.record(b"\n".join(line(d) for d in good), "--json")
    assert out.exit_code == 0 and [e["seq"] for e in json.loads(out.stdout)] == [before, before + 1]


def test_without_json_a_refusal_is_one_safe_unwrapped_line_on_stderr(world):
    long_name = "n" * 120
    data = line().replace(b'"body": {', f'"body": {{"{long_name}": 1, "{long_name}": 2, '.encode())
    r = world.record(data)  # COLUMNS=40: rich would wrap this at 40 columns on a terminal
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith(f'error: line 1: body["{"n" * 64}')
    assert len(r.stderr) > 120
    shown = world.record(json.dumps(draft(type="[/red]\u001b[2J\u0007")).encode())
    assert shown.exit_code == 2 and "\x1b" not in shown.stderr and "\x07" not in shown.stderr
    assert "[/red]" in shown.stderr  # shown as text, not taken as markup


# --- Hypothesis: a valid line, mutated -------------------------------------------------------

TOKENS = [b'"text": "x", ', b"\\ud800", "\u2028".encode(), b"\x00", b"NaN", b"9007199254740993", b"1e400",
          b"[" * 70, b'{"a": ', b"\r\n", b"\n", codecs.BOM_UTF8, b"\\u0000", b'"', b",", b"}", b"{", b"\xff",
          "é".encode(), "\u0301".encode(), b"\\", b"-0", b"true", b"null", b"[]", b"\t", b" "]


@st.composite
def mutated_line(draw) -> bytes:
    data = bytearray(line())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "replace", "delete", "truncate", "token"]))
        if kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=6))
        elif kind == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        elif kind == "truncate":
            del data[at:]
        else:
            data[at:at] = draw(st.sampled_from(TOKENS))
    return bytes(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(codec=None, blacklist_categories=())),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=8)


@st.composite
def replaced_member(draw) -> bytes:
    """A valid draft with one member (or body member) replaced by any JSON-ish value."""
    d = draft()
    where = draw(st.sampled_from(["type", "authority", "actor", "subject", "refs", "request_id", "body", "body.text"]))
    value = draw(json_values)
    if where == "body.text":
        d["body"]["text"] = value
    else:
        d[where] = value
    text = json.dumps(d, ensure_ascii=draw(st.booleans()))  # NaN/Infinity spelled as Python does
    return text.encode("utf-8", "surrogatepass")  # lone surrogates become invalid UTF-8 bytes


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(mutated_line() | replaced_member(), min_size=1, max_size=3),
       ending=st.sampled_from([b"\n", b"\r\n"]))
def test_mutated_lines_never_crash_and_a_refusal_writes_nothing(world, lines, ending):
    before = world.size()
    r = world.record(ending.join(lines), "--json")
    assert "Traceback" not in r.output + r.stderr
    assert r.exit_code in (0, 2), r.output + r.stderr  # never 70 (a bug), never 1 (a verdict)
    if r.exit_code:
        error = json.loads(r.stdout)
        assert error["ok"] is False and error["exit_code"] == 2 and error["message"]
        assert world.size() == before
    else:
        assert before <= world.size() <= before + len(lines)  # a retried request id writes nothing
