"""Canonical bytes: the fast derivation equals a full RFC 8785 encode, and
decode/encode round-trip (hypothesis)."""

from __future__ import annotations

import base64
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.log import canonical
from ledger.log.entry import Authority, Entry, from_canonical

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4), max_leaves=12)


@st.composite
def entries(draw):
    return Entry(
        v=1, seq=draw(st.integers(0, 2**40)), prev=draw(st.text("0123456789abcdef", min_size=64, max_size=64)),
        type=draw(st.sampled_from(["note.recorded", "sanction.imposed"])),
        recorded_at="2026-01-01T00:00:00.000000Z",
        authority=Authority(draw(st.text(string.ascii_letters, min_size=1, max_size=8)), "150100"),
        actor=draw(text), subject=draw(st.none() | st.text("0123456789abcdef", min_size=64, max_size=64)),
        refs=tuple(draw(st.lists(st.integers(0, 10**6), max_size=3))), request_id=draw(text),
        # bodies may themselves use the member names "sig" and "signer"
        body=draw(st.dictionaries(st.sampled_from(["signer", "sig", "text", "x"]) | text, json_values, max_size=4)),
        signer=draw(st.text(string.ascii_letters + "-.", min_size=1, max_size=12)),
        sig=base64.b64encode(draw(st.binary(max_size=64))).decode(),
    )


@settings(max_examples=300)
@given(entries())
def test_fast_canonical_bytes_equal_a_full_encode(e):
    assert e.canonical == canonical.encode(e.to_json())
    assert from_canonical(e.canonical) == e


@settings(max_examples=200)
@given(json_values)
def test_decode_encode_round_trip(value):
    data = canonical.encode(value)
    assert canonical.decode(data) == value and canonical.encode(canonical.decode(data)) == data


# Keys that stress RFC 8785 §3.2.3 ordering: BMP private use vs astral characters
# (code point order and UTF-16 order disagree), controls, quotes, CJK.
tricky = st.text(alphabet=st.sampled_from(["a", "\ue000", "\U0001f600", "\U00020000", "\x00", "\x1f", "\x7f",
                                           '"', "\\", "\u2028", "中", "é"]), max_size=4)
tricky_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | text | tricky,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text | tricky, inner, max_size=5), max_leaves=16)


@settings(max_examples=500)
@given(tricky_values)
def test_the_fast_encoder_writes_exactly_what_the_reference_rfc8785_writes(value):
    import rfc8785

    assert canonical.encode(value) == rfc8785.dumps(value)


def test_keys_beyond_the_bmp_sort_by_utf16_code_units():
    value = {"\ue000": 1, "\U0001f600": 2}  # code points: U+E000 < U+1F600; UTF-16: 0xD83D < 0xE000
    assert canonical.encode(value) == '{"😀":2,"\ue000":1}'.encode()


def test_refused_values_name_their_path():
    import pytest

    from ledger.errors import ValidationError

    for value, path in (({"a": [1, 2.5]}, "$.a[1]"), ({"b": {"c": 2**60}}, "$.b.c"), ({"d": "\ud800"}, "$.d"),
                        ({1: "x"}, "$"), ({"e": {1, 2}}, "$.e")):
        with pytest.raises(ValidationError) as e:
            canonical.encode(value)
        assert e.value.problems[0].field == path, value


@settings(max_examples=300)
@given(entries())
def test_signing_bytes_cut_from_the_stored_bytes_equal_a_full_encode(e):
    parsed = from_canonical(e.canonical)
    assert "signing_bytes" in parsed.__dict__  # the verifier's path: cut, not encoded
    assert parsed.signing_bytes == canonical.encode(e.to_json(with_sig=False))
    assert parsed.canonical == canonical.encode(e.to_json())


# Spellings of the same JSON value that are not RFC 8785: decode's fast path
# must refuse every one the reference would not write.
@settings(max_examples=500)
@given(tricky_values, st.sampled_from(["space", "escape", "reorder", "bigint", "float", "minus-zero", "dup"]))
def test_decode_refuses_every_non_canonical_spelling(value, how):
    import json

    import pytest
    import rfc8785

    from ledger.errors import ValidationError

    good = rfc8785.dumps(value)
    assert canonical.decode(good) == value
    text = good.decode()
    bad = {
        "space": text + " ",
        "escape": text.replace('"', '"\\u0061', 1) if '"' in text else None,  # an escape the reference never writes
        "reorder": json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
        if isinstance(value, dict) and list(value) != sorted(value) and len(value) > 1 else None,
        "bigint": f'{{"n":{2**53}}}', "float": '{"n":1.0}', "minus-zero": '{"n":-0}', "dup": '{"a":1,"a":1}',
    }[how]
    if bad is None or bad.encode() == good:
        return
    with pytest.raises(ValidationError):
        canonical.decode(bad.encode())


# --- parse_time: the fast parser accepts exactly what the strptime round trip did ---

def _reference_parse_time(text):
    """The earlier definition, kept as the model: strptime, then format_time must give the text back."""
    from datetime import UTC, datetime

    from ledger.log.entry import format_time

    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    if format_time(moment) != text:
        raise ValueError(text)
    return moment


_TIME_ALPHABET = "0123456789-T:.Z +z٣"


@st.composite
def _near_times(draw):
    """Valid times, and valid times with one to three characters replaced, inserted or deleted."""
    from datetime import UTC, datetime

    from ledger.log.entry import format_time

    moment = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
    text = list(format_time(moment.replace(tzinfo=UTC)) if moment.year >= 1000 else
                f"{moment.year:04d}" + moment.strftime("-%m-%dT%H:%M:%S.%fZ"))
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["replace", "insert", "delete"]))
        ch = draw(st.sampled_from(_TIME_ALPHABET))
        if op == "replace" and i < len(text):
            text[i] = ch
        elif op == "insert":
            text.insert(i, ch)
        elif text and i < len(text):
            del text[i]
    return "".join(text)


@settings(max_examples=3000, deadline=None)
@given(_near_times())
def test_parse_time_accepts_exactly_the_strings_the_strptime_round_trip_accepts(text):
    from ledger.log.entry import parse_time

    try:
        want = _reference_parse_time(text)
    except ValueError:
        with pytest.raises(ValueError):
            parse_time(text)
        return
    assert parse_time(text) == want


@pytest.mark.parametrize("text", ["0999-01-01T00:00:00.000000Z", "2026-02-29T00:00:00.000000Z",
                                  "2026-01-01T24:00:00.000000Z", "2026-01-01T00:00:60.000000Z",
                                  "2026-01-01T00:00:00.000000z", "2026-01-01 00:00:00.000000Z",
                                  "٢026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000+00:00",
                                  "2026-01-01T00:00:00.00000Z", "2026-01-01T00:00:00.000000Z\n"])
def test_parse_time_refuses_other_spellings(text):
    from ledger.log.entry import parse_time

    with pytest.raises(ValueError):
        parse_time(text)


# --- decode against a model that shares no code with it: the standard parser and rfc8785 ---

def _reference_accepts(data: bytes) -> bool:
    """RFC 8785 canonical, by the book: strict UTF-8 and JSON, no floats, integers
    within ±2^53-1, and the reference encoder writes exactly these bytes."""
    import json

    import rfc8785

    def no_float(token):
        raise ValueError(token)

    def safe_int(token):
        if abs(int(token)) > 2**53 - 1:
            raise ValueError(token)
        return int(token)

    try:
        value = json.loads(data.decode("utf-8"), parse_float=no_float, parse_constant=no_float, parse_int=safe_int)
        return rfc8785.dumps(value) == data
    except (ValueError, RecursionError, rfc8785.CanonicalizationError, UnicodeError):
        return False


_MUTATIONS = [b" ", b'"', b"\\", b"u", b"0", b"9", b"1", b"-", b".", b"e", b",", b":", b"{", b"}", b"[", b"]",
              b"\\u0061", b"\\ud800", b"\xf0\x9f\x98\x80", b"\xed\xa0\x80", b"\xff", b"\x00", b"\x7f",
              b"9007199254740992", b"9007199254740991", b"-9007199254740991", b"1.0", b"-0", b"NaN", b"\\n"]


@settings(max_examples=2000, deadline=None)
@given(tricky_values, st.lists(st.tuples(st.integers(0, 400), st.sampled_from(["replace", "insert", "delete"]),
                                         st.sampled_from(_MUTATIONS)), max_size=3))
def test_decode_accepts_exactly_what_rfc8785_would_write(value, mutations):
    import rfc8785

    from ledger.errors import ValidationError

    data = bytearray(rfc8785.dumps(value))
    for at, op, chunk in mutations:
        at = min(at, len(data))
        if op == "replace":
            data[at:at + len(chunk)] = chunk
        elif op == "insert":
            data[at:at] = chunk
        else:
            del data[at:at + len(chunk)]
    data = bytes(data)
    try:
        canonical.decode(data)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == _reference_accepts(data), data


@pytest.mark.parametrize("data", [b'{"n":9007199254740992}', b'{"n":-9007199254740992}', b'{"n":100000000000000000000}',
                                  b'{"n":1.0}', b'{"n":1e5}', b'{"n":-0}', b'{"a":1,"a":1}', b'"\\ud800"',
                                  b'"\xed\xa0\x80"', b'[' * 5000 + b']' * 5000, b'{"b":1,"a":2}', b'{"a":"\\u0061"}'])
def test_decode_refuses_the_classic_non_canonical_inputs(data):
    from ledger.errors import ValidationError

    assert not _reference_accepts(data)
    with pytest.raises(ValidationError):
        canonical.decode(data)
