"""Identifier rules (docs/contracts.md §2.6), with its synthetic check-valid values."""

from __future__ import annotations

import pytest
from stdnum.cn import ric

from ledger.domain.identifiers import parse
from ledger.errors import ValidationError


@pytest.mark.parametrize("text, want", [
    ("cn-rid:150102199001010019", "cn-rid:150102199001010019"),
    ("cn-rid:152201198006150025", "cn-rid:152201198006150025"),
    ("cn-rid:152100197001010035", "cn-rid:152100197001010035"),  # former 呼伦贝尔盟 code: numbers are lifelong
    ("CN-RID: 15282219730927077x", "cn-rid:15282219730927077X"),  # x means X
    ("cn-uscc:911522010783762860", "cn-uscc:911522010783762860"),
    ("cn-uscc:91152201078377449p", "cn-uscc:91152201078377449P"),
    ("passport:deu/c01x00t47", "passport:DEU/C01X00T47"),
])
def test_valid_identifiers_normalise(text, want):
    assert str(parse(text)) == want


def test_legacy_15_digit_numbers_are_upgraded():
    legacy = "150102900101001"  # born 1990-01-01, first-generation card
    upgraded = parse(f"cn-rid:{legacy}")
    body = "15010219900101001"
    assert upgraded.value == body + ric.calc_check_digit(body + "0") == "150102199001010019"


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000"])
def test_hong_kong_macao_taiwan_residence_permits(prefix):
    body = f"{prefix}19900101001"
    number = body + ric.calc_check_digit(body + "0")
    assert parse(f"cn-rid:{number}").value == number
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    with pytest.raises(ValidationError) as e:
        parse(f"cn-rid:{wrong}")
    assert "check character" in str(e.value)


def test_foreigners_permanent_residence_card_2023():
    body = "91584019850315001"  # 9 + province + nationality + birth date + sequence
    number = body + ric.calc_check_digit(body + "0")
    assert parse(f"cn-rid:{number}").kind == "person"


@pytest.mark.parametrize("text, rule", [
    ("cn-rid:150102199001010018", "check character"),
    ("cn-uscc:91152201078377449Q", "check character"),
    ("cn-uscc:9111000060003IOZSV", "characters not allowed"),
    ("cn-rid:15010219900230001" + ric.calc_check_digit("150102199002300010"), "birth date or birthplace"),
    ("cn-rid:15060219700101001" + ric.calc_check_digit("150602197001010010"), "birth date or birthplace"),
    ("cn-rid:999999", "wrong length"),
    ("passport:XXX/123456", "ISO 3166-1 alpha-3"),
    ("passport:DEU/12", "5-20 letters or digits"),
    ("ssn:123", "scheme must be one of"),
    ("150102199001010019", "<scheme>:<number>"),
])
def test_invalid_identifiers_name_the_rule(text, rule):
    with pytest.raises(ValidationError) as e:
        parse(text)
    assert rule in str(e.value) and e.value.problems[0].field == "id"
