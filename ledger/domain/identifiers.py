"""Subject identifiers (docs/contracts.md §2.4, §2.6). Pure: no storage.

Schemes and their rules:

- ``cn-rid``: 18-character resident identity number, GB 11643-1999 (ISO 7064
  MOD 11-2 check; ``x`` means ``X``), validated by python-stdnum including the
  birthplace code valid at the birth year (former league codes such as 152100
  stay valid for people born while they were in use: numbers are lifelong).
  Legacy 15-digit numbers are upgraded by inserting ``19`` and computing the
  check. Hong Kong / Macao / Taiwan residence permits (810000, 820000, 830000)
  and the 2023 foreigners' permanent residence card (leading 9) use the same
  format and check; they have no GB/T 2260 birthplace, so only the check and
  the birth date are validated.
- ``cn-uscc``: 18-character unified social credit code, GB 32100-2015 (31-symbol
  alphabet, MOD 31 check), validated by python-stdnum.
- ``passport``: ``<ISO 3166-1 alpha-3>/<number>`` for foreign experts (Art. 33).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pycountry
from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric, uscc

from ledger.errors import Problem, ValidationError

SCHEMES = ("cn-rid", "cn-uscc", "passport")
PERMIT_PREFIXES = ("810000", "820000", "830000")  # HK, Macao, Taiwan residence permits
PERSON_SCHEMES = ("cn-rid", "passport")


@dataclass(frozen=True)
class Identifier:
    scheme: str
    value: str  # normalised

    def __str__(self) -> str:
        return f"{self.scheme}:{self.value}"

    @property
    def kind(self) -> str:
        return "person" if self.scheme in PERSON_SCHEMES else "organisation"


def parse(text: str, field: str = "id") -> Identifier:
    """``scheme:value`` (e.g. ``cn-rid:150102199001010019``) -> a validated Identifier."""
    scheme, sep, value = text.partition(":")
    if not sep:
        raise ValidationError([Problem(field, "must be <scheme>:<number>, scheme one of " + ", ".join(SCHEMES))])
    return normalise(scheme.strip().lower(), value, field)


def normalise(scheme: str, value: str, field: str = "id") -> Identifier:
    if scheme == "cn-rid":
        return Identifier(scheme, _rid(value, field))
    if scheme == "cn-uscc":
        return Identifier(scheme, _checked(uscc.validate, value, field, "a unified social credit code (GB 32100-2015)"))
    if scheme == "passport":
        return Identifier(scheme, _passport(value, field))
    raise ValidationError([Problem(field, "scheme must be one of " + ", ".join(SCHEMES))])


def _rid(value: str, field: str) -> str:
    number = ric.compact(value)
    if len(number) == 15 and number.isdigit():
        # GB 11643-1999 upgrade of first-generation numbers: 19 + year, then the check character.
        body = number[:6] + "19" + number[6:]
        number = body + ric.calc_check_digit(body + "0")
    if number.startswith(PERMIT_PREFIXES) or (len(number) == 18 and number.startswith("9")):
        return _permit(number, field)
    return _checked(ric.validate, number, field, "a resident identity number (GB 11643-1999)")


def _permit(number: str, field: str) -> str:
    if len(number) != 18 or not number[:17].isdigit():
        raise ValidationError([Problem(field, "must be 18 characters: 17 digits and a check character")])
    if number[-1] != ric.calc_check_digit(number):
        raise ValidationError([Problem(field, f"check character is {number[-1]}, want {ric.calc_check_digit(number)} (ISO 7064 MOD 11-2)")])
    try:
        ric.get_birth_date(number)
    except stdnum_errors.ValidationError as e:
        raise ValidationError([Problem(field, "birth date digits are not a real date")]) from e
    return number


def _checked(validate: Callable[[str], str], value: str, field: str, what: str) -> str:
    """``validate`` is a python-stdnum ``validate``: the compact number, or a stdnum ValidationError."""
    try:
        return validate(value)
    except stdnum_errors.InvalidChecksum as e:
        raise ValidationError([Problem(field, f"check character is wrong for {what}")]) from e
    except stdnum_errors.InvalidLength as e:
        raise ValidationError([Problem(field, f"has the wrong length for {what}")]) from e
    except stdnum_errors.InvalidFormat as e:
        raise ValidationError([Problem(field, f"has characters not allowed in {what}")]) from e
    except stdnum_errors.InvalidComponent as e:
        raise ValidationError([Problem(field, f"birth date or birthplace code is not valid for {what}")]) from e
    except stdnum_errors.ValidationError as e:
        raise ValidationError([Problem(field, f"is not {what}")]) from e


def _passport(value: str, field: str) -> str:
    country, sep, number = value.strip().upper().partition("/")
    if not sep or pycountry.countries.get(alpha_3=country) is None:
        raise ValidationError([Problem(field, "must be <ISO 3166-1 alpha-3 country>/<passport number>")])
    number = re.sub(r"[\s-]", "", number)
    if not re.fullmatch(r"[A-Z0-9]{5,20}", number):
        raise ValidationError([Problem(field, "passport number must be 5-20 letters or digits")])
    return f"{country}/{number}"
