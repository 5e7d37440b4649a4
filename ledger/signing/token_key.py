"""Authority keys held in a hardware token, reached through PKCS#11.

Officials in China already sign with personal keys on USB tokens; an authority
that keeps its statement key in a token (or an HSM) signs with it here and the
private half never exists outside the device: the key pair is generated on the
token as sensitive and non-extractable (PKCS#11 v3.0 §4.9, CKA_SENSITIVE and
CKA_EXTRACTABLE), and only ``C_Sign`` with ``CKM_EDDSA`` (PKCS#11 v3.0 §2.3.14,
pure Ed25519 as RFC 8032 §5.1) is ever asked of it.

A :class:`TokenKey` has the shape every signer of statements has (``name``,
``verifier``, ``sign``), so ``ledger sign`` and ``sign_statement`` take it in
place of a key file. The PIN is a parameter, never read here from the
environment or the command line (the CLI reads it from a file or a variable).

Tested against SoftHSM2 (Debian's ``softhsm2``, 2.6), whose Ed25519 support
(``CKM_EC_EDWARDS_KEY_PAIR_GEN``, ``CKM_EDDSA``) is built in."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

from ledger.errors import ConfigError, SignatureError
from ledger.signing.keys import ED25519_TYPE, VerifierKey, check_key_name

# RFC 8410 §3: id-Ed25519. CKA_EC_PARAMS holds it DER-encoded (PKCS#11 v3.0 §2.3.10).
ED25519_OID = "1.3.101.112"


@dataclass(frozen=True)
class TokenSlot:
    """Where the key lives: the PKCS#11 module (a shared library), the token's label, its user PIN."""

    module: str
    token_label: str
    pin: str

    def __repr__(self) -> str:  # never the PIN
        return f"TokenSlot({self.module!r}, {self.token_label!r})"


def _library(module: str) -> Any:
    try:
        import pkcs11
    except ImportError as e:  # pragma: no cover - a core dependency
        raise ConfigError("PKCS#11 signing needs python-pkcs11 (a dependency of integrity-ledger)") from e
    try:
        return pkcs11.lib(module)
    except Exception as e:  # the loader says only that dlopen failed; name the path
        raise ConfigError(f"PKCS#11 module {module!r} cannot be loaded: {e}") from e


def _open(slot: TokenSlot, *, rw: bool) -> Any:
    import pkcs11

    lib = _library(slot.module)
    try:
        token = lib.get_token(token_label=slot.token_label)
    except pkcs11.exceptions.NoSuchToken:
        raise ConfigError(f"PKCS#11 token {slot.token_label!r}: not present in {slot.module}") from None
    except pkcs11.exceptions.MultipleTokensReturned:
        raise ConfigError(f"PKCS#11 token {slot.token_label!r}: more than one token has this label") from None
    try:
        return token.open(user_pin=slot.pin, rw=rw)
    except pkcs11.exceptions.PinIncorrect:
        raise ConfigError(f"PKCS#11 token {slot.token_label!r}: the PIN is incorrect") from None
    except pkcs11.exceptions.PinLocked:
        raise ConfigError(f"PKCS#11 token {slot.token_label!r}: the PIN is locked") from None


def _public_from_point(point: bytes) -> bytes:
    """CKA_EC_POINT of an Edwards key: the 32-byte key, DER OCTET STRING-wrapped by
    most modules (SoftHSM2 among them), bare by some (PKCS#11 v3.0 §2.3.5 allows both)."""
    if len(point) == 34 and point[0] == 0x04 and point[1] == 32:
        return point[2:]
    if len(point) == 32:
        return point
    raise SignatureError(f"the token's CKA_EC_POINT is not an Ed25519 public key ({len(point)} bytes)")


def _find_private(session: Any, name: str) -> Any:
    import pkcs11
    from pkcs11 import KeyType, ObjectClass

    try:
        return session.get_key(object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC_EDWARDS, label=name)
    except pkcs11.exceptions.NoSuchKey:
        raise ConfigError(f"PKCS#11: no Ed25519 private key labelled {name!r} on the token") from None
    except pkcs11.exceptions.MultipleObjectsReturned:
        raise ConfigError(f"PKCS#11: more than one private key labelled {name!r} on the token") from None


def _public_key(session: Any, name: str) -> bytes:
    import pkcs11
    from pkcs11 import Attribute, KeyType, ObjectClass

    try:
        pub = session.get_key(object_class=ObjectClass.PUBLIC_KEY, key_type=KeyType.EC_EDWARDS, label=name)
    except pkcs11.exceptions.NoSuchKey:
        raise ConfigError(f"PKCS#11: no Ed25519 public key labelled {name!r} on the token") from None
    return _public_from_point(bytes(pub[Attribute.EC_POINT]))


def generate_on_token(slot: TokenSlot, name: str) -> VerifierKey:
    """Generate key ``name`` on the token: private half sensitive, non-extractable, sign-only.

    Refuses a name already on the token (two keys under one label would make
    every later signature ambiguous). A crash during generation leaves at most
    a key pair on the token that is registered nowhere: harmless, and found by
    its label."""
    check_key_name(name)
    import pkcs11
    from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
    from pkcs11.util.ec import encode_named_curve_parameters

    with _open(slot, rw=True) as session:
        existing = list(session.get_objects({Attribute.LABEL: name, Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
        if existing:
            raise ConfigError(f"PKCS#11: a private key labelled {name!r} is already on the token")
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters(ED25519_OID)}, local=True)
        try:
            params.generate_keypair(
                mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN, store=True, label=name,
                public_template={Attribute.VERIFY: True},
                private_template={Attribute.SIGN: True, Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False,
                                  Attribute.DECRYPT: False, Attribute.UNWRAP: False, Attribute.DERIVE: False})
        except pkcs11.exceptions.MechanismInvalid:
            raise ConfigError(f"PKCS#11 module {slot.module}: no Ed25519 key generation (CKM_EC_EDWARDS_KEY_PAIR_GEN)"
                              ) from None
        return VerifierKey(name, _public_key(session, name), ED25519_TYPE)


class TokenKey:
    """Statement key ``name`` on a PKCS#11 token; use as a context manager (one session)."""

    def __init__(self, slot: TokenSlot, name: str):
        check_key_name(name)
        self.name = name
        self._slot = slot
        self._session: Any = None
        self._private: Any = None
        self.verifier: VerifierKey = VerifierKey(name, b"\0" * 32, ED25519_TYPE)

    def __enter__(self) -> TokenKey:
        self._session = _open(self._slot, rw=False)
        self._private = _find_private(self._session, self.name)
        self.verifier = VerifierKey(self.name, _public_key(self._session, self.name), ED25519_TYPE)
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self._session is not None:
            self._session.close()
        self._session = self._private = None

    def sign(self, message: bytes) -> bytes:
        from pkcs11 import Mechanism

        if self._private is None:
            raise SignatureError(f"token key {self.name}: not open (use it in a with block)")
        sig = bytes(self._private.sign(message, mechanism=Mechanism.EDDSA))
        # A token that returns a wrong signature (a faulty or hostile device) must
        # not get one into a statement: the log would refuse it later, far from here.
        self.verifier.verify(sig, message)
        return sig

    def __repr__(self) -> str:
        return f"TokenKey({self.name!r}, {self._slot!r})"
