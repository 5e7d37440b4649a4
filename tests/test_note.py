"""Signed-note, verifier-key, cosignature and checkpoint-body edge cases
(c2sp.org/signed-note, c2sp.org/tlog-cosignature, c2sp.org/tlog-checkpoint).

Pure: no database. Keys are seeded, so every value here is deterministic.
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from ledger.errors import KeyFormatError, LedgerError, SignatureError
from ledger.log import tlog_proof
from ledger.log.checkpoint import Checkpoint, open_checkpoint, parse_body
from ledger.signing import note
from ledger.signing.keys import COSIGNATURE_TYPE, ED25519_TYPE, Signer, VerifierKey, key_id, parse_vkey

EM = "\u2014"
TEXT = "test.example/ledger\n7\n" + base64.b64encode(bytes(range(32))).decode() + "\n"

LOG = Signer.from_seed("test.example/log", b"note-log")
OTHER = Signer.from_seed("test.example/other", b"note-other")
STRANGER = Signer.from_seed("stranger.example/key", b"note-stranger")
WITNESS = Signer.from_seed("witness.example/w1", b"note-witness", COSIGNATURE_TYPE)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def signed(text: str, *signers: Signer) -> note.Note:
    lines = tuple(note.SignatureLine(s.name, s.verifier.id, s.sign(text.encode())) for s in signers)
    return note.Note(text, lines)


def names(keys: list[VerifierKey]) -> list[str]:
    return [k.name for k in keys]


def corrupt(line: note.SignatureLine, at: int = -1) -> note.SignatureLine:
    sig = bytearray(line.signature)
    sig[at] ^= 0x01
    return note.SignatureLine(line.name, line.key_id, bytes(sig))


# --- which signatures count -------------------------------------------------------

def test_round_trip_one_known_key():
    n = note.sign(TEXT, LOG)
    again = note.parse(n.render())
    assert again == n
    assert names(note.verify(again, [LOG.verifier])) == [LOG.name]


def test_signed_only_by_unknown_key_is_rejected():
    n = note.parse(note.sign(TEXT, STRANGER).render())
    with pytest.raises(SignatureError):
        note.verify(n, [LOG.verifier, OTHER.verifier])


def test_no_known_keys_at_all_is_rejected():
    with pytest.raises(SignatureError):
        note.verify(note.parse(note.sign(TEXT, LOG).render()), [])


def test_unknown_key_ignored_when_known_key_also_signed():
    n = note.parse(signed(TEXT, STRANGER, LOG).render())
    assert names(note.verify(n, [LOG.verifier])) == [LOG.name]


def test_unknown_key_with_garbage_signature_is_ignored():
    # An unknown key's line is never checked, so even an invalid one is harmless.
    junk = note.SignatureLine(STRANGER.name, STRANGER.verifier.id, b"\x00" * 64)
    n = note.Note(TEXT, (junk,) + signed(TEXT, LOG).signatures)
    assert names(note.verify(note.parse(n.render()), [LOG.verifier])) == [LOG.name]


def test_same_name_different_id_is_an_unknown_key():
    # signed-note: ignore signatures from unknown keys even if they share a name
    # (but not the ID) with a known key; they must not reject the note.
    impostor = Signer.from_seed(LOG.name, b"another seed, same name")
    assert impostor.verifier.id != LOG.verifier.id
    n = note.parse(signed(TEXT, impostor, LOG).render())
    assert names(note.verify(n, [LOG.verifier])) == [LOG.name]
    with pytest.raises(SignatureError):
        note.verify(note.parse(signed(TEXT, impostor).render()), [LOG.verifier])


def test_same_id_different_name_is_an_unknown_key():
    stolen_id = note.SignatureLine("not-the-log", LOG.verifier.id, STRANGER.sign(TEXT.encode()))
    n = note.Note(TEXT, (stolen_id,) + signed(TEXT, LOG).signatures)
    assert names(note.verify(note.parse(n.render()), [LOG.verifier])) == [LOG.name]
    with pytest.raises(SignatureError):
        note.verify(note.Note(TEXT, (stolen_id,)), [LOG.verifier])


@pytest.mark.parametrize("bad_first", [True, False])
def test_bad_signature_by_known_key_rejects_even_if_another_known_key_signed(bad_first):
    good, bad = signed(TEXT, LOG, OTHER).signatures
    bad = corrupt(bad)
    lines = (bad, good) if bad_first else (good, bad)
    n = note.parse(note.Note(TEXT, lines).render())
    with pytest.raises(SignatureError):
        note.verify(n, [LOG.verifier, OTHER.verifier])
    # Without OTHER in the known set the corrupt line is just an unknown key's.
    assert names(note.verify(n, [LOG.verifier])) == [LOG.name]


def test_known_key_signature_over_other_text_rejects():
    line = signed("something else\n", LOG).signatures[0]
    with pytest.raises(SignatureError):
        note.verify(note.Note(TEXT, (line,)), [LOG.verifier])


def test_signature_of_wrong_length_by_known_key_rejects():
    line = signed(TEXT, LOG).signatures[0]
    for sig in (line.signature[:-1], line.signature + b"\x00", b"\x01"):
        with pytest.raises(SignatureError):
            note.verify(note.Note(TEXT, (note.SignatureLine(LOG.name, LOG.verifier.id, sig),)), [LOG.verifier])


def test_signature_order_does_not_matter():
    a = note.parse(signed(TEXT, LOG, STRANGER, OTHER).render())
    b = note.parse(signed(TEXT, OTHER, LOG, STRANGER).render())
    known = [LOG.verifier, OTHER.verifier]
    assert sorted(names(note.verify(a, known))) == sorted(names(note.verify(b, known))) == sorted([LOG.name, OTHER.name])
    assert sorted(names(note.verify(a, known[::-1]))) == sorted([LOG.name, OTHER.name])


def test_text_is_separated_by_the_last_blank_line():
    text = "first paragraph\n\nsecond paragraph\n"
    n = note.parse(note.sign(text, LOG).render())
    assert n.text == text
    assert names(note.verify(n, [LOG.verifier])) == [LOG.name]


def test_sixteen_signatures_accepted():
    extra = [Signer.from_seed(f"k{i}.example", bytes([i])) for i in range(15)]
    n = note.parse(signed(TEXT, LOG, *extra).render())
    assert len(n.signatures) == 16
    assert len(note.verify(n, [LOG.verifier, *(s.verifier for s in extra)])) == 16


# --- key names and verifier keys ---------------------------------------------------

BAD_NAMES = ["", "has space", "tab\there", "plus+sign", "+", "nbsp\u00a0name", "ideographic\u3000space", "nl\nname"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_key_name_rejected_by_signer(name):
    with pytest.raises(KeyFormatError):
        Signer.from_seed(name, b"seed")


@pytest.mark.parametrize("name", [n for n in BAD_NAMES if "+" not in n])
def test_bad_key_name_rejected_in_vkey(name):
    public = LOG.verifier.public
    forged_id = key_id(name, public).hex()
    with pytest.raises(KeyFormatError):
        parse_vkey(f"{name}+{forged_id}+{b64(bytes([ED25519_TYPE]) + public)}")


def test_plus_in_name_never_parses_as_that_name():
    # "a+b+<id>+<key>": the name ends at the first '+', so "a" with ID "b..." fails.
    public = LOG.verifier.public
    text = f"a+b+{key_id('a+b', public).hex()}+{b64(bytes([1]) + public)}"
    with pytest.raises(KeyFormatError):
        parse_vkey(text)


@pytest.mark.parametrize("name", ["has space", "plus+sign"])
def test_bad_key_name_rejected_in_signature_line(name):
    with pytest.raises(KeyFormatError):
        note.parse(f"{TEXT}\n{EM} {name} {b64(bytes(68))}\n")


def _seed_with_plus_in_vkey(sig_type: int) -> tuple[bytes, Signer]:
    for i in range(10_000):
        seed = f"plus-seed-{i}".encode()
        s = Signer.from_seed("plus.example/key", seed, sig_type)
        if "+" in s.verifier.vkey().split("+", 2)[2]:
            return seed, s
    raise AssertionError("no seed gives a '+' in the base64 part")  # pragma: no cover


@pytest.mark.parametrize("sig_type", [ED25519_TYPE, COSIGNATURE_TYPE])
def test_vkey_whose_base64_contains_plus_parses(sig_type):
    _, s = _seed_with_plus_in_vkey(sig_type)
    text = s.verifier.vkey()
    assert text.count("+") >= 3
    assert parse_vkey(text) == s.verifier
    assert parse_vkey(text).sig_type == sig_type


def test_vkey_round_trip_and_key_id():
    v = LOG.verifier
    raw = bytes([ED25519_TYPE]) + v.public
    assert v.vkey() == f"{v.name}+{v.id.hex()}+{b64(raw)}"
    assert v.id == hashlib.sha256(v.name.encode() + b"\n" + raw).digest()[:4]
    assert parse_vkey(v.vkey()) == v
    w = WITNESS.verifier
    assert w.id == hashlib.sha256(w.name.encode() + b"\n\x04" + w.public).digest()[:4]
    assert parse_vkey(w.vkey()) == w


def _vkey(name: str, id_hex: str, material: bytes) -> str:
    return f"{name}+{id_hex}+{b64(material)}"


@pytest.mark.parametrize("case", [
    "wrong id", "id of other type", "short id", "long id", "non-hex id",
    "key 31 bytes", "key 33 bytes", "no type byte", "type 0x02", "type 0x00", "type 0xff",
    "not base64", "two parts", "one part", "empty",
])
def test_bad_vkey_rejected(case):
    name, public = LOG.name, LOG.verifier.public
    good_id = key_id(name, public).hex()
    raw = bytes([ED25519_TYPE]) + public
    text = {
        "wrong id": _vkey(name, bytes(4).hex(), raw),
        "id of other type": _vkey(name, key_id(name, public, COSIGNATURE_TYPE).hex(), raw),
        "short id": _vkey(name, good_id[:6], raw),
        "long id": _vkey(name, good_id + "00", raw),
        "non-hex id": _vkey(name, "zzzzzzzz", raw),
        "key 31 bytes": _vkey(name, key_id(name, public[:31]).hex(), raw[:32]),
        "key 33 bytes": _vkey(name, key_id(name, public + b"\x00").hex(), raw + b"\x00"),
        "no type byte": _vkey(name, good_id, public),
        "type 0x02": _vkey(name, key_id(name, public, 0x02).hex(), b"\x02" + public),
        "type 0x00": _vkey(name, key_id(name, public, 0x00).hex(), b"\x00" + public),
        "type 0xff": _vkey(name, key_id(name, public, 0xFF).hex(), b"\xff" + public),
        "not base64": f"{name}+{good_id}+not*base64!",
        "two parts": f"{name}+{good_id}",
        "one part": name,
        "empty": "",
    }[case]
    with pytest.raises(KeyFormatError):
        parse_vkey(text)


# --- malformed notes --------------------------------------------------------------------

GOOD_SIG = b64(LOG.verifier.id + LOG.sign(TEXT.encode()))


@pytest.mark.parametrize("data", [
    pytest.param(TEXT[:-1], id="no newline at all"),
    pytest.param(f"{TEXT}\n{EM} {LOG.name} {GOOD_SIG}", id="last line without newline"),
    pytest.param(f"{TEXT}{EM} {LOG.name} {GOOD_SIG}\n", id="no blank line"),
    pytest.param(f"{TEXT}\n", id="blank line but no signatures"),
    pytest.param(f"{TEXT}\n\n", id="two blank lines"),
    pytest.param(f"{TEXT}\n- {LOG.name} {GOOD_SIG}\n", id="hyphen instead of em dash"),
    pytest.param(f"{TEXT}\n\u2013 {LOG.name} {GOOD_SIG}\n", id="en dash"),
    pytest.param(f"{TEXT}\n{LOG.name} {GOOD_SIG}\n", id="no dash"),
    pytest.param(f"{TEXT}\n{EM}{LOG.name} {GOOD_SIG}\n", id="no space after dash"),
    pytest.param(f"{TEXT}\n{EM}  {LOG.name} {GOOD_SIG}\n", id="two spaces after dash"),
    pytest.param(f"{TEXT}\n{EM} {LOG.name}  {GOOD_SIG}\n", id="two spaces before signature"),
    pytest.param(f"{TEXT}\n{EM} {LOG.name} {GOOD_SIG} \n", id="trailing space"),
    pytest.param(f"{TEXT}\n {EM} {LOG.name} {GOOD_SIG}\n", id="leading space"),
    pytest.param(f"{TEXT}\n{EM} {LOG.name}\n", id="no signature field"),
    pytest.param(f"{TEXT}\n{EM} {GOOD_SIG}\n", id="no name field"),
    pytest.param(f"{TEXT}\n{EM} {LOG.name} {GOOD_SIG} extra\n", id="extra field"),
    pytest.param(f"{TEXT}\n{EM} {LOG.name} not-base64!\n", id="non-base64"),
    pytest.param(f"{TEXT}\n{EM} {LOG.name} {GOOD_SIG[:-1]}\n", id="truncated base64"),
    pytest.param(f"{TEXT}\n{EM} {LOG.name} {b64(LOG.verifier.id)}\n", id="only a key id"),
    pytest.param(f"{TEXT}\n{EM} {LOG.name} {b64(b'ab')}\n", id="too short"),
    pytest.param(f"{TEXT}\n{EM} {LOG.name} \n", id="empty signature"),
    pytest.param(f"{TEXT}\n{EM} {LOG.name} {GOOD_SIG}\n\n", id="blank line after signatures"),
    pytest.param(f"{TEXT}\n{EM} {LOG.name} {GOOD_SIG}\ntrailing text\n", id="text after signatures"),
])
def test_malformed_note_rejected(data):
    with pytest.raises(KeyFormatError):
        note.parse(data)


def test_sign_refuses_text_without_final_newline():
    with pytest.raises(ValueError):
        note.sign(TEXT[:-1], LOG)


# --- cosignatures (type 0x04, cosignature/v1) -----------------------------------------------

T = 1_767_600_000


def cosigned(text: str = TEXT, t: int = T) -> note.Note:
    return note.add_signature(note.sign(text, LOG), note.cosign(text, WITNESS, t))


def test_cosignature_line_layout():
    line = note.cosign(TEXT, WITNESS, T)
    assert line.key_id == WITNESS.verifier.id
    assert len(line.signature) == 72
    assert int.from_bytes(line.signature[:8], "big") == T
    message = b"cosignature/v1\ntime " + str(T).encode() + b"\n" + TEXT.encode()
    WITNESS.verifier.verify(line.signature[8:], message)  # raises if not


def test_cosignature_verifies_with_witness_key():
    n = note.parse(cosigned().render())
    assert sorted(names(note.verify(n, [LOG.verifier, WITNESS.verifier]))) == sorted([LOG.name, WITNESS.name])
    assert names(note.verify(n, [WITNESS.verifier])) == [WITNESS.name]


def test_cosignature_with_altered_timestamp_is_rejected():
    line = note.cosign(TEXT, WITNESS, T)
    for t in (T + 1, T - 1, 0, T << 1):
        forged = note.SignatureLine(line.name, line.key_id, t.to_bytes(8, "big") + line.signature[8:])
        n = note.parse(note.add_signature(note.sign(TEXT, LOG), forged).render())
        with pytest.raises(SignatureError):
            note.verify(n, [LOG.verifier, WITNESS.verifier])
        # Not a known key without the witness: ignored, the log signature stands.
        assert names(note.verify(n, [LOG.verifier])) == [LOG.name]


def test_cosignature_over_plain_text_is_rejected():
    # A witness key signing the bare text (no cosignature/v1 header, no time line).
    raw = WITNESS.sign(TEXT.encode())
    line = note.SignatureLine(WITNESS.name, WITNESS.verifier.id, T.to_bytes(8, "big") + raw)
    with pytest.raises(SignatureError):
        note.verify(note.Note(TEXT, (line,)), [WITNESS.verifier])


@pytest.mark.parametrize("message", [
    pytest.param(lambda t: f"cosignature/v1\n{TEXT}", id="no time line"),
    pytest.param(lambda t: f"time {t}\n{TEXT}", id="no header"),
    pytest.param(lambda t: f"cosignature/v2\ntime {t}\n{TEXT}", id="wrong version"),
    pytest.param(lambda t: f"cosignature/v1\ntime 0{t}\n{TEXT}", id="leading zero"),
    pytest.param(lambda t: f"cosignature/v1\ntime  {t}\n{TEXT}", id="two spaces"),
    pytest.param(lambda t: f"cosignature/v1\ntime {t}\n\n{TEXT}", id="blank line before body"),
])
def test_cosignature_over_other_message_is_rejected(message):
    raw = WITNESS.sign(message(T).encode())
    line = note.SignatureLine(WITNESS.name, WITNESS.verifier.id, T.to_bytes(8, "big") + raw)
    with pytest.raises(SignatureError):
        note.verify(note.Note(TEXT, (line,)), [WITNESS.verifier])


def test_cosignature_without_timestamp_prefix_is_rejected():
    line = note.cosign(TEXT, WITNESS, T)
    bare = note.SignatureLine(line.name, line.key_id, line.signature[8:])  # 64 bytes
    with pytest.raises(SignatureError):
        note.verify(note.Note(TEXT, (bare,)), [WITNESS.verifier])


def test_same_key_as_note_signer_does_not_verify_a_cosignature():
    # The same Ed25519 key and name, registered as type 0x01, has another key ID:
    # the 0x04 line is then an unknown key's; and a 0x01 line under the 0x04 ID fails.
    as_signer = VerifierKey(WITNESS.name, WITNESS.verifier.public, ED25519_TYPE)
    assert as_signer.id != WITNESS.verifier.id
    n = note.parse(cosigned().render())
    assert names(note.verify(n, [LOG.verifier, as_signer])) == [LOG.name]
    plain = note.SignatureLine(WITNESS.name, WITNESS.verifier.id, WITNESS.sign(TEXT.encode()))
    with pytest.raises(SignatureError):
        note.verify(note.Note(TEXT, (plain,)), [WITNESS.verifier])


def test_cosign_refuses_a_note_signing_key():
    with pytest.raises(KeyFormatError):
        note.cosign(TEXT, LOG, T)


def test_add_signature_replaces_the_same_witness():
    n = note.add_signature(cosigned(t=T), note.cosign(TEXT, WITNESS, T + 60))
    assert len(n.signatures) == 2
    assert note.cosignature_time(n.signatures[-1]) == T + 60
    assert len(note.verify(note.parse(n.render()), [LOG.verifier, WITNESS.verifier])) == 2


# --- checkpoint bodies -------------------------------------------------------------------------

ROOT = bytes(range(32))
ROOT_B64 = b64(ROOT)


def test_checkpoint_body_round_trip():
    cp = Checkpoint("test.example/ledger", 7, ROOT)
    assert cp.body() == TEXT
    assert parse_body(TEXT) == cp


@pytest.mark.parametrize("size", ["0", "1", "9", "10", str(2**63)])
def test_checkpoint_sizes(size):
    assert parse_body(f"o\n{size}\n{ROOT_B64}\n").size == int(size)


@pytest.mark.parametrize("body", [
    pytest.param(f"o\n07\n{ROOT_B64}\n", id="leading zero"),
    pytest.param(f"o\n00\n{ROOT_B64}\n", id="double zero"),
    pytest.param(f"o\n-1\n{ROOT_B64}\n", id="negative"),
    pytest.param(f"o\n+7\n{ROOT_B64}\n", id="plus sign"),
    pytest.param(f"o\n 7\n{ROOT_B64}\n", id="space"),
    pytest.param(f"o\n7.0\n{ROOT_B64}\n", id="decimal point"),
    pytest.param(f"o\n\n{ROOT_B64}\n", id="empty size"),
    pytest.param("o\n7\n", id="missing root line"),
    pytest.param("o\n7\n\n", id="empty root line"),
    pytest.param("o\n", id="origin only"),
    pytest.param("", id="empty"),
    pytest.param(f"\n7\n{ROOT_B64}\n", id="empty origin"),
    pytest.param(f"o\n7\n{ROOT_B64}", id="no final newline"),
    pytest.param(f"o\n7\n{b64(ROOT[:31])}\n", id="root 31 bytes"),
    pytest.param(f"o\n7\n{b64(ROOT + b'x')}\n", id="root 33 bytes"),
    pytest.param(f"o\n7\n{ROOT.hex()}\n", id="root in hex"),
    pytest.param(f"o\n7\n{ROOT_B64[:-1]}\n", id="root bad padding"),
    pytest.param(f"o\n7\n{ROOT_B64}\n\n", id="empty extension line"),
    pytest.param(f"o\n7\n{ROOT_B64}\next\n\nmore\n", id="empty line between extensions"),
])
def test_bad_checkpoint_body_rejected(body):
    with pytest.raises(KeyFormatError):
        parse_body(body)


def test_checkpoint_extension_lines_preserved():
    body = f"test.example/ledger\n7\n{ROOT_B64}\next one\n— not a signature\nthird\n"
    cp = parse_body(body)
    assert cp.extensions == ("ext one", "— not a signature", "third")
    assert cp.body() == body
    signed_cp = note.sign(body, LOG).render()
    opened = open_checkpoint(signed_cp, LOG.verifier, "test.example/ledger")
    assert opened == cp and opened.body() == body


def test_open_checkpoint_checks_origin_and_key():
    signed_cp = note.sign(TEXT, LOG).render()
    assert open_checkpoint(signed_cp, LOG.verifier).size == 7
    with pytest.raises(KeyFormatError):
        open_checkpoint(signed_cp, LOG.verifier, "other.example/ledger")
    with pytest.raises(SignatureError):
        open_checkpoint(signed_cp, OTHER.verifier)
    # Signed by another key and cosigned by a witness: still not the log's checkpoint.
    not_ours = note.add_signature(note.sign(TEXT, OTHER), note.cosign(TEXT, WITNESS, T)).render()
    with pytest.raises(SignatureError):
        open_checkpoint(not_ours, LOG.verifier)


# --- deviations found while writing these tests (see the report) ------------------------------
# Regression tests for bugs found by the interop review (fixed in ledger/).

@pytest.mark.parametrize("ctrl", ["\t", "\r", "\x00", "\x1b"])
def test_note_with_control_character_rejected(ctrl):
    text = f"origin{ctrl}x\n"
    data = note.sign(text, LOG).render()
    try:
        note.verify(note.parse(data), [LOG.verifier])
    except KeyFormatError:
        return
    raise AssertionError(f"note containing {ctrl!r} was accepted")


@pytest.mark.parametrize("size", ["\u0663", "\uff17", "\u00b2"])  # ARABIC-INDIC 3, FULLWIDTH 7, SUPERSCRIPT 2
def test_checkpoint_size_must_be_ascii(size):
    try:
        parse_body(f"o\n{size}\n{ROOT_B64}\n")
    except KeyFormatError:
        return
    except Exception as e:
        raise AssertionError(f"size {size!r}: {type(e).__name__} instead of KeyFormatError") from e
    raise AssertionError(f"size {size!r} accepted")


@pytest.mark.parametrize("index", ["\u0662", "\u00b2"])
def test_tlog_proof_index_must_be_ascii(index):
    data = f"c2sp.org/tlog-proof@v1\nindex {index}\n\n" + note.sign(TEXT, LOG).render()
    try:
        tlog_proof.parse(data)
    except KeyFormatError:
        return
    except Exception as e:
        raise AssertionError(f"index {index!r}: {type(e).__name__} instead of KeyFormatError") from e
    raise AssertionError(f"index {index!r} accepted")


@pytest.mark.parametrize("where", ["note signature", "checkpoint root", "proof extra", "proof hash"])
def test_non_ascii_base64_is_a_format_error(where):
    parse, data = {
        "note signature": (note.parse, f"{TEXT}\n{EM} {LOG.name} AAAAAAA\u00e9\n"),
        "checkpoint root": (parse_body, f"o\n7\n{'é' * 44}\n"),
        "proof extra": (tlog_proof.parse, "c2sp.org/tlog-proof@v1\nextra \u00e9\nindex 0\n\n" + TEXT),
        "proof hash": (tlog_proof.parse, "c2sp.org/tlog-proof@v1\nindex 0\n\u00e9\n\n" + TEXT),
    }[where]
    try:
        parse(data)
    except LedgerError:
        return
    except Exception as e:
        raise AssertionError(f"{where}: {type(e).__name__} escapes instead of KeyFormatError") from e
    raise AssertionError(f"{where}: accepted")  # pragma: no cover


def test_quorum_counts_distinct_witnesses():
    entry = b"the entry"
    body = Checkpoint("o", 1, hashlib.sha256(b"\x00" + entry).digest()).body()
    log_line = note.sign(body, LOG).signatures[0]
    two_lines = note.Note(body, (log_line, note.cosign(body, WITNESS, T), note.cosign(body, WITNESS, T + 1)))
    proof = tlog_proof.parse(tlog_proof.TlogProof(0, (), two_lines.render(), entry).render())
    assert tlog_proof.verify(proof, LOG.verifier, witnesses=[WITNESS.verifier], quorum=1).size == 1
    try:
        tlog_proof.verify(proof, LOG.verifier, witnesses=[WITNESS.verifier], quorum=2)
    except SignatureError:
        return
    raise AssertionError("one witness met a quorum of 2 by cosigning twice")
