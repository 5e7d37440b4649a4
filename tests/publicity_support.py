"""A small ledger of publicised sanctions for the publicity tests (SQLite only)."""

from __future__ import annotations

from dataclasses import dataclass

from stdnum.cn import ric, uscc

from ledger.domain.subjects import erase_subject
from tests.conftest import HOHHOT, DomainLedger


def rid(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")  # stdnum wants the 18-character form


def org(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17)


PERSON = rid("15010219900101001")  # 张小三
SHORT = rid("15010219900101002")  # 张三
ETHNIC = rid("15010219900101003")  # 乌兰·巴特尔
ERASED = rid("15010219900101004")  # 李四五
ORG_ID = org("91150100MA0N00000")  # 草原科技有限公司
FOREIGN = "USA/X12345678"  # John Smith

PEOPLE = {f"cn-rid:{PERSON}": "张小三", f"cn-rid:{SHORT}": "张三", f"cn-rid:{ETHNIC}": "乌兰·巴特尔",
          f"cn-rid:{ERASED}": "李四五", f"cn-uscc:{ORG_ID}": "草原科技有限公司", f"passport:{FOREIGN}": "John Smith"}


@dataclass
class World:
    refs: dict[str, str]  # "scheme:id" -> subject reference


def build(domain: DomainLedger, erase: bool = True) -> World:
    refs = {ident: domain.subject(ident, name) for ident, name in PEOPLE.items()}
    r = refs
    domain.sanction(r[f"cn-rid:{PERSON}"], publicity_until="2026-12-31")
    domain.sanction(r[f"cn-rid:{SHORT}"], publicity_until="2026-06-30")
    domain.sanction(r[f"cn-rid:{ETHNIC}"], publicity_until="2027-12-31")
    domain.sanction(r[f"cn-uscc:{ORG_ID}"], publicity_until="2027-12-31")
    domain.sanction(r[f"passport:{FOREIGN}"], publicity_until="2027-12-31")
    # Ended long ago (retention run: erasure allowed), yet still within a long publicity period.
    domain.sanction(r[f"cn-rid:{ERASED}"], start="2015-01-01", until="2018-12-31", publicity_until="2027-12-31")
    if erase:
        erase_subject(domain.engine, domain.keyring, r[f"cn-rid:{ERASED}"], "本人申请", "个人信息保护法第四十七条",
                      "dpo", HOHHOT, domain.clock, vault=domain.vault)
    return World(refs)
