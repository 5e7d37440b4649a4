"""Interoperability: the ledger's checkpoints, cosignatures and tlog-proofs
against a second implementation written from the specs alone
(``tests/independent_verifier.py``), and back again.

The database tests use the ``ledger`` fixture, so they run on SQLite and
PostgreSQL. Every mutation must be rejected by BOTH implementations; every
honest artefact must be accepted by both.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.errors import LedgerError
from ledger.log import prove, tlog_proof
from ledger.log.checkpoint import open_checkpoint
from ledger.log.merkle_verify import verify_inclusion as ledger_verify_inclusion
from ledger.log.publish import publish, record_cosignature
from ledger.log.witness import cosign
from ledger.signing import note
from ledger.signing.keys import COSIGNATURE_TYPE, Signer, parse_vkey
from ledger.store import log_store
from tests import independent_verifier as iv

ORIGIN = "test.example/ledger"
EM = "\u2014"


# --- helpers ------------------------------------------------------------------------------

def ledger_verify(text: str, log_vkey: str, entry: bytes | None = None, **kw):
    return tlog_proof.verify(tlog_proof.parse(text), parse_vkey(log_vkey), entry, **kw)


def both_accept(text: str, log_vkey: str, entry: bytes | None = None) -> tuple[int, int]:
    cp = ledger_verify(text, log_vkey, entry)
    index, size = iv.verify_tlog_proof(text, log_vkey, entry)
    assert size == cp.size
    return index, size


def both_reject(text: str, log_vkey: str, entry: bytes | None = None, what: str = "") -> None:
    try:
        iv.verify_tlog_proof(text, log_vkey, entry)
    except ValueError:
        pass
    else:
        pytest.fail(f"independent verifier accepted: {what}")
    try:
        ledger_verify(text, log_vkey, entry)
    except LedgerError:
        pass
    else:
        pytest.fail(f"ledger.log.tlog_proof.verify accepted: {what}")


def split_proof(text: str) -> tuple[list[str], str]:
    head, _, checkpoint = text.partition("\n\n")
    return head.split("\n"), checkpoint


def join_proof(lines: list[str], checkpoint: str) -> str:
    return "\n".join(lines) + "\n\n" + checkpoint


def hash_lines(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if i and not line.startswith(("extra ", "index "))]


def resign(text: str, signer: Signer) -> str:
    """The same proof with its checkpoint body re-signed by ``signer`` (no other lines)."""
    lines, checkpoint = split_proof(text)
    body = note.parse(checkpoint).text
    return join_proof(lines, note.sign(body, signer).render())


def canonical(engine, seq: int) -> bytes:
    with engine.connect() as conn:
        return log_store.get_canonical(conn, seq)


def publish_now(lg) -> tuple[str, int]:
    signed, _ = publish(lg.engine, lg.keyring.log, ORIGIN, lg.clock)
    return signed, open_checkpoint(signed, lg.keyring.log.verifier, ORIGIN).size


# --- database tests (sqlite and postgresql) -------------------------------------------------

def test_tlog_proofs_verify_with_both_implementations(ledger):
    log_vkey = ledger.keyring.log.verifier.vkey()
    assert iv.parse_vkey(log_vkey)[0] == ledger.keyring.log.name
    assert iv.parse_vkey(log_vkey)[3] == ledger.keyring.log.verifier.public

    sizes = []
    for batch in (2, 6, 9):  # bootstrap wrote 5 entries: sizes 7, 13, 22
        ledger.notes(batch, prefix=f"b{batch}-")
        signed, size = publish_now(ledger)
        sizes.append(size)
        # The checkpoint itself, independently.
        assert iv.verify_note(signed, [log_vkey]) == [ledger.keyring.log.name]
        origin, cp_size, root = iv.parse_checkpoint(iv.split_note(signed)[0])
        assert (origin, cp_size) == (ORIGIN, size)
    assert sizes == [7, 13, 22]

    checked = 0
    for size in sizes:
        for seq in sorted({0, 1, size // 2, size - 2, size - 1}):
            text = prove.tlog_proof(ledger.engine, seq, size)
            entry = canonical(ledger.engine, seq)
            extra, index, path, _ = iv.parse_tlog_proof(text)
            assert (extra, index) == (entry, seq)
            assert both_accept(text, log_vkey) == (seq, size)
            assert both_accept(text, log_vkey, entry) == (seq, size)
            checked += 1
    # The default: the latest checkpoint.
    assert both_accept(prove.tlog_proof(ledger.engine, 7), log_vkey) == (7, 22)
    assert checked >= 12


def test_witness_cosignature_verifies_independently(ledger, tmp_path):
    log_key = ledger.keyring.log.verifier
    log_vkey = log_key.vkey()
    witness = Signer.from_seed("witness.example/w1", b"interop-witness", COSIGNATURE_TYPE)
    witness_vkey = witness.verifier.vkey()
    state = tmp_path / "witness" / "state.json"

    ledger.notes(4)
    first, size1 = publish_now(ledger)
    cosigned1, line1 = cosign(state, witness, log_key, first, [], ledger.clock, origin=ORIGIN)
    assert sorted(iv.verify_note(cosigned1, [log_vkey, witness_vkey])) == sorted([log_key.name, witness.name])
    assert iv.verify_note(cosigned1, [witness_vkey]) == [witness.name]
    assert iv.verify_note(cosigned1, [log_vkey]) == [log_key.name]  # witness line ignored when unknown

    # The second cosignature needs the consistency proof from the state's size.
    ledger.notes(5, prefix="more")
    second, size2 = publish_now(ledger)
    with ledger.engine.connect() as conn:
        proof = prove.consistency(conn, size1, size2).proof
    cosigned2, line2 = cosign(state, witness, log_key, second, proof, ledger.clock)
    assert note.cosignature_time(line2) >= note.cosignature_time(line1)
    assert sorted(iv.verify_note(cosigned2, [log_vkey, witness_vkey])) == sorted([log_key.name, witness.name])

    # Recorded, the cosignature travels inside tlog-proofs.
    assert record_cosignature(ledger.engine, size2, line2, ledger.clock)
    text = prove.tlog_proof(ledger.engine, size2 - 1, size2)
    assert line2.render() in text
    assert iv.verify_tlog_proof(text, log_vkey, witness_vkeys=[witness_vkey]) == (size2 - 1, size2)
    ledger_verify(text, log_vkey, witnesses=[witness.verifier], quorum=1)

    # A cosignature with its timestamp altered: rejected by both when the witness is known.
    raw = base64.b64decode(line2.render().split(" ")[-1])
    forged_sig = raw[:4] + (int.from_bytes(raw[4:12], "big") + 1).to_bytes(8, "big") + raw[12:]
    forged = text.replace(line2.render(), f"{EM} {witness.name} {iv.b64(forged_sig)}\n")
    assert forged != text
    with pytest.raises(ValueError):
        iv.verify_tlog_proof(forged, log_vkey, witness_vkeys=[witness_vkey])
    with pytest.raises(LedgerError):
        ledger_verify(forged, log_vkey, witnesses=[witness.verifier], quorum=1)
    # ... but only the log key is asked for, both still accept (unknown lines are ignored).
    assert both_accept(forged, log_vkey) == (size2 - 1, size2)

    # The cosignature also verifies with the independent signer's view of the message.
    body = iv.split_note(cosigned2)[0]
    t = note.cosignature_time(line2)
    witness.verifier.verify(line2.signature[8:], b"cosignature/v1\ntime %d\n" % t + body.encode())


def test_mutated_proofs_rejected_by_both(ledger):
    log_vkey = ledger.keyring.log.verifier.vkey()
    ledger.notes(8)  # size 13
    publish_now(ledger)
    good = prove.tlog_proof(ledger.engine, 5)
    other = prove.tlog_proof(ledger.engine, 9)
    entry = canonical(ledger.engine, 5)
    assert both_accept(good, log_vkey, entry) == (5, 13)
    lines, checkpoint = split_proof(good)
    other_lines, _ = split_proof(other)
    hashes, other_hashes = hash_lines(lines), hash_lines(other_lines)
    assert len(hashes) >= 3

    def with_lines(edit: Callable[[list[str]], None]) -> str:
        copy = list(lines)
        edit(copy)
        return join_proof(copy, checkpoint)

    def flip_entry(copy: list[str]) -> None:
        data = bytearray(base64.b64decode(copy[1][len("extra "):]))
        data[len(data) // 2] ^= 0x01
        copy[1] = "extra " + iv.b64(bytes(data))

    def swap_in_other(copy: list[str]) -> None:
        i = next(i for i, j in zip(hashes, other_hashes) if lines[i] != other_lines[j])
        copy[i] = other_lines[other_hashes[hashes.index(i)]]

    def set_line(i: int, value: str) -> Callable[[list[str]], None]:
        return lambda copy: copy.__setitem__(i, value)

    index_line = lines.index("index 5")
    first_hash = base64.b64decode(lines[hashes[0]])
    flipped_hash = iv.b64(bytes([first_hash[0] ^ 1]) + first_hash[1:])
    not_ours = Signer.from_seed("stranger.example/log", b"interop-stranger")
    same_name = Signer.from_seed(ledger.keyring.log.name, b"interop-same-name")

    mutations = {
        "entry byte flipped": with_lines(flip_entry),
        "proof line swapped with another proof's": with_lines(swap_in_other),
        "whole path of another proof": join_proof(lines[:index_line + 1] + [other_lines[i] for i in other_hashes], checkpoint),
        "two proof lines swapped": with_lines(lambda c: c.__setitem__(slice(hashes[0], hashes[1] + 1), [c[hashes[1]], c[hashes[0]]])),
        "proof hash bit flipped": with_lines(set_line(hashes[0], flipped_hash)),
        "proof line dropped": with_lines(lambda c: c.pop(hashes[-1])),
        "proof line added": with_lines(lambda c: c.append(lines[hashes[0]])),
        "index 4": with_lines(set_line(index_line, "index 4")),
        "index 6": with_lines(set_line(index_line, "index 6")),
        "index 13 (= size)": with_lines(set_line(index_line, "index 13")),
        "index 05": with_lines(set_line(index_line, "index 05")),
        "no index line": with_lines(lambda c: c.pop(index_line)),
        "wrong header": with_lines(set_line(0, "c2sp.org/tlog-proof@v2")),
        "checkpoint signed by another key": resign(good, not_ours),
        "checkpoint signed by same name, other key": resign(good, same_name),
        "checkpoint size changed": good.replace(f"{ORIGIN}\n13\n", f"{ORIGIN}\n12\n"),
        "checkpoint signature dropped": join_proof(lines, note.parse(checkpoint).text + "\n"),
    }
    for what, text in mutations.items():
        assert text != good, what
        both_reject(text, log_vkey, what=what)

    # The entry passed separately must be the entry proved.
    flipped = bytearray(entry)
    flipped[0] ^= 0x01
    both_reject(good, log_vkey, bytes(flipped))
    both_reject(good, log_vkey, canonical(ledger.engine, 6))
    # No extra line: the entry must be given, and then it is enough.
    bare = join_proof([line for line in lines if not line.startswith("extra ")], checkpoint)
    both_reject(bare, log_vkey)
    assert both_accept(bare, log_vkey, entry) == (5, 13)
    # Verified with some other log's key.
    both_reject(good, not_ours.verifier.vkey())
    both_reject(good, same_name.verifier.vkey())


# --- pure tests: the reverse direction and the low-level pieces --------------------------------

PRIVATE = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"independent signer").digest())
NAME = "independent.example/signer"
TEXT = f"{ORIGIN}\n3\n{iv.b64(hashlib.sha256(b'root').digest())}\n"


def test_independent_vkey_is_the_ledgers_vkey():
    public = iv.public_bytes(PRIVATE)
    for sig_type in (iv.TYPE_ED25519, iv.TYPE_COSIGNATURE_V1):
        text = iv.format_vkey(NAME, public, sig_type)
        key = parse_vkey(text)
        assert (key.name, key.public, key.sig_type) == (NAME, public, sig_type)
        assert key.vkey() == text
        assert iv.parse_vkey(key.vkey()) == (NAME, key.id, sig_type, public)


def test_note_signed_independently_verifies_with_ledger():
    signed = iv.sign_note(TEXT, NAME, PRIVATE)
    vkey = parse_vkey(iv.format_vkey(NAME, iv.public_bytes(PRIVATE)))
    n = note.parse(signed)
    assert n.text == TEXT
    assert [k.name for k in note.verify(n, [vkey])] == [NAME]
    assert open_checkpoint(signed, vkey, ORIGIN).size == 3
    # And the ledger's own signature over the same text is byte-identical (RFC 8032 is deterministic).
    ledger_signer = Signer(NAME, PRIVATE)
    assert note.sign(TEXT, ledger_signer).render() == signed


def test_cosignature_made_independently_verifies_with_ledger():
    log_private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"independent log").digest())
    signed = iv.sign_note(TEXT, "independent.example/log", log_private)
    cosigned = iv.cosign_note(signed, NAME, PRIVATE, 1_767_600_000)
    log_key = parse_vkey(iv.format_vkey("independent.example/log", iv.public_bytes(log_private)))
    witness_key = parse_vkey(iv.format_vkey(NAME, iv.public_bytes(PRIVATE), iv.TYPE_COSIGNATURE_V1))
    n = note.parse(cosigned)
    assert sorted(k.name for k in note.verify(n, [log_key, witness_key])) == sorted([NAME, "independent.example/log"])
    assert note.cosignature_time(n.signatures[-1]) == 1_767_600_000
    # The ledger's cosign gives the same line.
    assert note.cosign(TEXT, Signer(NAME, PRIVATE, COSIGNATURE_TYPE), 1_767_600_000) == n.signatures[-1]


def test_independent_rejects_bad_known_signature_and_ignores_unknown():
    vkey = iv.format_vkey(NAME, iv.public_bytes(PRIVATE))
    stranger = Ed25519PrivateKey.from_private_bytes(bytes(32))
    good = iv.sign_note(TEXT, NAME, PRIVATE)
    by_stranger = iv.sign_note(TEXT, "stranger.example", stranger)
    both = by_stranger + good.split("\n\n")[-1]
    assert iv.verify_note(both, [vkey]) == [NAME]
    with pytest.raises(ValueError):
        iv.verify_note(by_stranger, [vkey])
    sig = bytearray(base64.b64decode(good.rstrip("\n").split(" ")[-1]))
    sig[-1] ^= 1
    bad = f"{TEXT}\n{EM} {NAME} {iv.b64(bytes(sig))}\n"
    with pytest.raises(ValueError):
        iv.verify_note(bad + good.split("\n\n")[-1], [vkey])
    with pytest.raises(LedgerError):
        note.verify(note.parse(bad + good.split("\n\n")[-1]), [parse_vkey(vkey)])


MALFORMED = {
    "no final newline": lambda s: s[:-1],
    "no blank line": lambda s: s.replace("\n\n", "\n"),
    "hyphen for em dash": lambda s: s.replace(EM, "-"),
    "double space": lambda s: s.replace(f"{EM} ", f"{EM}  "),
    "trailing space": lambda s: s[:-1] + " \n",
    "non-base64": lambda s: s[: s.rindex(" ") + 1] + "!!!!\n",
    "too short": lambda s: s[: s.rindex(" ") + 1] + "AAAA\n",
    "name with plus": lambda s: s.replace(f"{EM} {NAME}", f"{EM} a+b"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_notes_rejected_by_both(case):
    signed = iv.sign_note(TEXT, NAME, PRIVATE)
    data = MALFORMED[case](signed)
    assert data != signed
    with pytest.raises(ValueError):
        iv.verify_note(data, [iv.format_vkey(NAME, iv.public_bytes(PRIVATE))])
    with pytest.raises(LedgerError):
        note.parse(data)


def _mth(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return iv.leaf_hash(leaves[0])
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return iv.node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), written out here (not shared with any other test helper)."""
    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if m < k:
        return _path(m, leaves[:k]) + [_mth(leaves[k:])]
    return _path(m - k, leaves[k:]) + [_mth(leaves[:k])]


def test_inclusion_verifiers_agree():
    leaves = [b"leaf %d" % i for i in range(17)]
    for size in range(1, 18):
        root = _mth(leaves[:size])
        for index in range(size):
            path = _path(index, leaves[:size])
            leaf = iv.leaf_hash(leaves[index])
            assert iv.verify_inclusion(index, size, leaf, path, root)
            ledger_verify_inclusion(index, size, leaf, path, root)
            wrong = [
                (index, size, iv.leaf_hash(b"other"), path),
                (index, size, leaf, path + [root]),
                (size, size, leaf, path),
            ]
            if path:
                wrong += [(index, size, leaf, path[:-1]), (index, size, leaf, path[::-1]) if len(path) > 1 else
                          (index, size, leaf, [bytes(32)])]
            if index:
                wrong.append((index - 1, size, leaf, path))
            for args in wrong:
                assert not iv.verify_inclusion(*args, root), (index, size, args)
                with pytest.raises(LedgerError):
                    ledger_verify_inclusion(*args, root)
