"""``ledger demo``: a realistic synthetic region, deterministic by seed.

The 12 leagues and cities of Inner Mongolia, each with its own recording
authority and key (kept in the authority-key directory, never the server's:
every record is a statement signed by its authority, docs/contracts.md §2.7); persons (resident identity numbers with real birthplace
codes, some under former league codes) and employers (unified social credit
codes); honours, grants, clawbacks with partial recoveries and waivers,
sanctions with amendments, lifts and corrections, exemptions, employment links,
and recorded pre-award checks.

Content (people, numbers, amounts, dates, request ids) depends only on the
seed; signatures, salts and ``recorded_at`` differ per run because keys,
randomness and clocks do. Re-running with the same seed writes nothing new:
every request id is retried.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypedDict

from sqlalchemy import Engine
from stdnum.cn import ric, uscc

from ledger.config import DEFAULT_ORIGIN, Settings
from ledger.domain.identifiers import parse
from ledger.domain.regions import LEAGUES_AND_CITIES, NAMES, REGION
from ledger.domain.subjects import add_subject
from ledger.domain.vault import Vault
from ledger.errors import Barred, LedgerError
from ledger.log.append import Clock, append_statements
from ledger.log.entry import Authority, Draft, Entry
from ledger.log.operator import init_log, register_authority, register_key
from ledger.log.projection import load_registry
from ledger.log.statement import sign_statement
from ledger.signing import keystore
from ledger.signing.keyring import Keyring
from ledger.signing.keys import Signer
from ledger.signing.private_files import private_dir, write_private
from ledger.store import log_store

OFFICE = Authority("nmg-talent-office", REGION)  # the region's talent office: its jurisdiction is the region
AUTHORITIES = [OFFICE] + [Authority(f"hrss-{c}", c) for c in LEAGUES_AND_CITIES]
# Birthplace counties per league/city (GB/T 2260), plus former league codes seen in older numbers.
COUNTIES = {"150100": ["150102", "150103", "150104", "150105"], "150200": ["150202", "150203", "150204", "150205"],
            "150300": ["150302", "150303"], "150400": ["150402", "150403", "150404"], "150500": ["150502"],
            "150600": ["150602"], "150700": ["150702"], "150800": ["150802"], "150900": ["150902"],
            "152200": ["152201", "152202"], "152500": ["152501", "152502"], "152900": ["152921"]}
FORMER = {"150700": ["152101"], "150500": ["152301"], "150400": ["152401"], "150600": ["152701"],
          "150800": ["152801", "152822"], "150900": ["152601"], "152200": ["152201"]}
PROGRAMMES = ["草原英才", "鸿雁行动", "青年科技人才托举", "科技领军人才", "一事一议"]
PROGRAMME_NAMES = {"草原英才": "草原英才工程", "鸿雁行动": "鸿雁行动计划", "青年科技人才托举": "青年科技人才托举工程",
                   "科技领军人才": "科技领军人才支持计划", "一事一议": "高层次人才一事一议支持"}


def programme_drafts() -> list[Draft]:
    """The demo's programmes, registered once by the region's talent office (docs/effects.md)."""
    office = AUTHORITIES[0]
    return [Draft("programme.registered", office, "demo", None, (), f"programme:{code}",
                  {"code": code, "name": PROGRAMME_NAMES[code], "region": REGION,
                   "benefits": ["honor", "subsidy", "talent_project"], "deciding_body": "自治区人才工作领导小组办公室"})
            for code in PROGRAMMES]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉斌宇浩凯健俊帆琳晨欣巴特尔其木格乌兰图雅"
COMPANY = ["稀土新材料", "乳业科技", "风电装备", "煤化工研究", "草业生物", "光伏能源", "蒙医药", "数字农牧"]
BASIS_65 = {"article": "条例第六十五条", "document_no": ""}
BASIS_66 = {"article": "条例第六十六条", "document_no": ""}


def dev_key_name(authority_id: str) -> str:
    return f"dev-{authority_id}"


def authority_name(a: Authority) -> str:
    return "内蒙古自治区人才工作领导小组办公室" if a is OFFICE else f"{NAMES[a.region]}人力资源和社会保障局"


def ensure_dev_keys(engine: Engine, settings: Settings, clock: Clock) -> dict[str, Signer]:
    """Create the dev log key (the log host's, in its key directory); register each demo
    authority (the leagues and cities under the region's office, docs/authorities.md)
    and one key for it; return each authority's signer.

    The authorities' keys are made in the authority-key directory, apart from the
    server's key directory (decision 0015): they stand for the keys each bureau keeps
    on its own machines, and ``ledger serve`` never reads them. Only their public
    halves reach the log (``key.registered``, signed by the log key). Each private
    file is 0600 and named for its authority (``dev-<authority id>.key``)."""
    log = keystore.generate(settings.log_key_name, settings.key_dir, settings.vkey_dir, settings.passphrase, exist_ok=True)
    keystore.write_vkey(log.verifier, settings.vkey_dir)
    init_log(engine, log, settings.origin or DEFAULT_ORIGIN, clock)  # a demo log: the development origin
    with engine.connect() as conn:
        registered = load_registry(conn).records
    signers = {}
    for a in AUTHORITIES:
        register_authority(engine, log, a.id, authority_name(a), a.region, clock,
                           parent=None if a is OFFICE else OFFICE.id)  # idempotent: same request id
        name = dev_key_name(a.id)
        _move_out_of_server_dir(name, settings)
        signer = keystore.generate(name, settings.authority_key_dir, settings.vkey_dir, settings.passphrase,
                                   exist_ok=True)
        keystore.write_vkey(signer.verifier, settings.vkey_dir)
        if name not in registered:
            register_key(engine, log, signer.verifier.vkey(), a.id, clock,
                         purpose=f"records of {NAMES[a.region]}", holder=f"{authority_name(a)} (dev)")
        signers[a.id] = signer
    return signers


def _move_out_of_server_dir(name: str, settings: Settings) -> None:
    """A dev ledger made before decision 0015 kept the authorities' keys in the server's key
    directory: move each (the same registered key) to the authority-key directory.
    os.replace is atomic on one file system; a crash leaves the file in one place or the
    other, and the next run finishes the move. Across file systems it is copied, then removed."""
    old = keystore.private_path(settings.key_dir, name)
    new = keystore.private_path(settings.authority_key_dir, name)
    if not old.exists() or new.exists() or old.resolve() == new.resolve():
        return
    private_dir(settings.authority_key_dir)
    try:
        os.replace(old, new)
    except OSError:  # another file system: write it privately, then remove the old one
        write_private(new, old.read_bytes(), exclusive=True)
        old.unlink()


def person_id(rng: random.Random, league: str) -> str:
    """A check-valid resident identity number born in ``league`` (sometimes under its former league code)."""
    # python-stdnum knows which county codes were valid in which years: try until one fits.
    candidates = COUNTIES[league] + FORMER.get(league, [])
    for _ in range(500):
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 40))
        county = rng.choice(candidates)
        body = f"{county}{born:%Y%m%d}{rng.randrange(1000):03d}"
        number = body + ric.calc_check_digit(body + "0")
        try:
            return str(parse(f"cn-rid:{number}"))
        except LedgerError:
            continue
    raise RuntimeError("no valid identity number generated")


def org_id(rng: random.Random, league: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for _ in range(1000):
        body = "91" + league + "".join(rng.choice(alphabet) for _ in range(9))
        number = body + uscc.calc_check_digit(body)
        if uscc.is_valid(number):
            return f"cn-uscc:{number}"
    raise RuntimeError("no valid credit code generated")


class _Story:
    """Appends one subject's history, entry by entry (refs need earlier seqs), each a
    statement signed with its authority's own key (``signers``) and appended as such."""

    def __init__(self, engine, signers: dict[str, Signer], clock, seed: int, key: str, subject: str,
                 authority: Authority):
        self.engine, self.signers, self.clock = engine, signers, clock
        self.prefix, self.subject, self.authority, self.n = f"demo-{seed}-{key}", subject, authority, 0
        self.written = 0

    def add(self, type_: str, body: dict, refs=(), actor: str | None = None,
            authority: Authority | None = None) -> Entry | None:
        """Append as the league's authority, or as ``authority`` where the record reaches
        beyond the league (docs/authorities.md: a region-wide bar is the region's)."""
        self.n += 1
        who = authority or self.authority
        draft = Draft(type_, who, actor or f"officer-{self.n % 17:02d}@{who.id}", self.subject,
                      tuple(refs), f"{self.prefix}-{self.n}", body)
        try:
            e = append_statements(self.engine, [sign_statement(draft, self.signers[who.id], self.clock())],
                                  self.clock)[0]
            self.written += 1
            return e
        except Barred:
            return None  # the award guard did its job; the story moves on


def _day(rng: random.Random, start: date, span: int) -> str:
    return (start + timedelta(days=rng.randrange(span))).isoformat()


def _tell_person(st: _Story, rng: random.Random, region: str, employers: list[str], barred: set[str]) -> None:
    programme = rng.choice(PROGRAMMES)
    body_name = f"{NAMES[region]}人力资源和社会保障局"
    if employers and rng.random() < 0.6:
        org = rng.choice(employers)
        # A link to an employer barred region-wide reaches the whole region: the region's office records it.
        st.add("subject.linked", {"organisation": org, "relation": "employee",
                                  "valid_from": _day(rng, date(2018, 1, 1), 1500)},
               authority=OFFICE if org in barred else None)
    grants = []
    if rng.random() < 0.3:
        h = st.add("honor.granted", {"title": f"{programme}人才", "level": rng.choice(["regional", "league_city"]),
                                     "programme": programme, "awarding_body": "内蒙古自治区人民政府",
                                     "decision_date": _day(rng, date(2024, 1, 1), 700), "region": region})
        if h and rng.random() < 0.05:
            st.add("honor.revoked", {"grounds": "申报材料弄虚作假", "legal_basis": {**BASIS_65, "document_no": f"内政发〔2026〕{rng.randrange(1, 99)}号"},
                                     "decision_date": "2026-06-01", "deciding_body": "内蒙古自治区人民政府"}, refs=[h.seq])
    for _ in range(rng.choice([0, 1, 1, 2])):
        amount = rng.choice([5_000_00, 20_000_00, 50_000_00, 100_000_00, 300_000_00, 1_000_000_00])
        g = st.add("subsidy.granted", {"programme": programme, "kind": rng.choice(["research_funding", "living_allowance", "housing", "startup"]),
                                       "amount_fen": amount, "grant_ref": f"NMG-{region}-{st.prefix[-10:]}-{st.n}",
                                       "budget_account": f"2130{rng.randrange(100, 999)}",
                                       "decision_date": _day(rng, date(2024, 1, 1), 600), "region": region})
        if g:
            grants.append(g)
    if grants and rng.random() < 0.12:
        g = grants[0]
        amount = g.body["amount_fen"] // rng.choice([1, 2, 4])
        c = st.add("clawback.ordered", {"amount_fen": amount, "deadline": _day(rng, date(2026, 3, 1), 300),
                                        "grounds": "未按约定履行服务期", "legal_basis": {**BASIS_65, "document_no": f"{region}人社追〔2026〕{st.n}号"},
                                        "decision_date": "2026-02-15", "deciding_body": body_name}, refs=[g.seq])
        if c and rng.random() < 0.6:
            st.add("clawback.recovered", {"amount_fen": amount // 2, "recovered_on": "2026-04-01"}, refs=[c.seq])
        if c and rng.random() < 0.1:
            st.add("clawback.waived", {"amount_fen": amount - amount // 2, "reason": "项目依法终止，剩余部分减免",
                                       "decision_date": "2026-05-01", "deciding_body": body_name}, refs=[c.seq])
        if c and rng.random() < 0.1:
            st.add("exemption.granted", {"project": f"{programme}资助项目", "finding": "依法依规、勤勉尽责、未谋取不正当利益",
                                         "decision_date": "2026-05-20", "deciding_body": "内蒙古自治区科学技术厅"}, refs=[c.seq])
    if rng.random() < 0.06:
        start = _day(rng, date(2025, 6, 1), 400)
        body: dict[str, Any] = {
            "severity": "serious", "grounds": rng.choice(["伪造学历证明申报人才项目", "重复申报财政资助", "科研经费违规使用"]),
            "legal_basis": {**BASIS_66, "document_no": f"内人社失信〔2026〕{st.n}号"}, "deciding_body": "内蒙古自治区人力资源和社会保障厅",
            "decision_date": start, "effective_from": start,
            "effective_until": (date.fromisoformat(start) + timedelta(days=rng.choice([365, 730, 1095]))).isoformat(),
            "scope": {"benefits": rng.choice([["honor", "subsidy", "talent_project"], ["subsidy"]]),
                      "regions": [rng.choice([REGION, region])]}}
        # A region-wide bar, and every later act on it, is recorded by the region's office.
        who = OFFICE if body["scope"]["regions"] == [REGION] else None
        s = st.add("sanction.imposed", body, authority=who)
        roll = rng.random()
        if s and roll < 0.2:
            st.add("sanction.ended", {"reason": "credit_repair", "ended_on": "2026-09-01",
                                      "deciding_body": "内蒙古自治区人力资源和社会保障厅"}, refs=[s.seq], authority=who)
        elif s and roll < 0.3:
            st.add("entry.corrected", {"reason": "录入对象错误", "deciding_body": "内蒙古自治区人力资源和社会保障厅"},
                   refs=[s.seq], authority=who)
        elif s and roll < 0.4:
            st.add("sanction.amended", {"effective_until": "2029-12-31", "reason": "复核后延长期限",
                                        "decision_date": "2026-08-01", "deciding_body": "内蒙古自治区人力资源和社会保障厅"},
                   refs=[s.seq], authority=who)
        if s and rng.random() < 0.5:
            st.add("eligibility.checked", {"officer": "审核员", "programme": programme, "award_ref": f"AW-{st.prefix[-8:]}",
                                           "benefit": "subsidy", "region": region, "on": "2026-10-01", "answer": "barred",
                                           "tree_size": s.seq + 1, "blocking": [s.seq], "decision": "refuse"})


def build_demo(engine: Engine, settings: Settings, clock: Clock, *, entries: int, seed: int,
               progress: Callable[[int], None] | None = None) -> int:
    """Grow the synthetic region by whole subjects' stories until at least ``entries``
    domain entries of this seed exist; return how many entries were new (set-up included)."""
    with engine.connect() as conn:
        before = log_store.size(conn)
    signers = ensure_dev_keys(engine, settings, clock)
    at = clock()  # the office signs its programmes once; a re-run returns the originals (same content)
    append_statements(engine, [sign_statement(d, signers[d.authority.id], at) for d in programme_drafts()], clock)
    v: Vault = settings.vault(create=True)
    rng = random.Random(seed)
    employers: dict[str, list[str]] = {}
    barred: set[str] = set()  # employers under a region-wide bar
    made, k = 0, 0
    while made < entries:
        k += 1
        league = rng.choice(list(LEAGUES_AND_CITIES))
        authority = next(a for a in AUTHORITIES if a.region == league)
        sub_rng = random.Random(f"{seed}:{k}")
        if k % 8 == 1:
            ident, name = org_id(sub_rng, league), f"内蒙古{sub_rng.choice(COMPANY)}有限公司{k}"
        else:
            ident, name = person_id(sub_rng, league), sub_rng.choice(SURNAMES) + "".join(sub_rng.sample(GIVEN, 2))
        ref, _ = add_subject(engine, v, ident, name, clock)
        st = _Story(engine, signers, clock, seed, str(k), ref, authority)
        if ident.startswith("cn-uscc"):
            employers.setdefault(league, []).append(ref)
            g = st.add("subsidy.granted", {"programme": "一事一议", "kind": "project", "amount_fen": sub_rng.choice([500_000_00, 2_000_000_00]),
                                           "grant_ref": f"NMG-ORG-{seed}-{k}", "budget_account": "2130199",
                                           "decision_date": _day(sub_rng, date(2024, 1, 1), 600), "region": league})
            if g and sub_rng.random() < 0.08:
                barred.add(ref)
                st.add("sanction.imposed", {"severity": "serious", "grounds": "不履行人才引进协议，损害人才权益",
                                            "legal_basis": {**BASIS_66, "document_no": f"内人社失信〔2026〕{k}号"},
                                            "deciding_body": "内蒙古自治区人力资源和社会保障厅", "decision_date": "2026-03-01",
                                            "effective_from": "2026-03-01", "effective_until": "2028-02-29",
                                            "scope": {"benefits": ["subsidy", "talent_project"], "regions": [REGION]}},
                       authority=OFFICE)
        else:
            _tell_person(st, sub_rng, league, employers.get(league, []), barred)
        made += st.written
        if progress:
            progress(st.written)
    with engine.connect() as conn:
        return log_store.size(conn) - before


class _Scope(TypedDict, total=False):
    """A token's scope, as ``ledger.access.tokens.issue`` takes it."""

    authority_id: str
    region: str
    case_ref: str
    subjects: list[str]


def demo_tokens(engine: Engine, keyring: Keyring, clock: Clock, *, days: int = 7) -> list[tuple[str, str, str]]:
    """One short-lived token per role for the demo server: (role, scope, token), each
    issuance recorded in the log (``token.issued``, actor ``operator:demo``).
    The court's case names the first subject with a sanction in force."""
    from datetime import timedelta

    from sqlalchemy import select

    from ledger.access.tokens import issue
    from ledger.store.schema import sanction_versions

    with engine.connect() as conn:
        sanctioned = conn.execute(select(sanction_versions.c.subject).order_by(sanction_versions.c.version_seq)
                                  .limit(1)).scalar()
    until = clock() + timedelta(days=days)
    plans: list[tuple[str, _Scope, str]] = [
        ("recorder", _Scope(authority_id="hrss-150100", region="150100"), "hrss-150100 in 150100 (呼和浩特市)"),
        ("programme_officer", _Scope(authority_id="nmg-talent-office", region=REGION), "nmg-talent-office in 150000"),
        ("auditor", _Scope(), "reads everything"),
        ("admin", _Scope(), "tokens and erasure"),
    ]
    if sanctioned:
        plans.append(("court", _Scope(case_ref="(2026)内01行初1号", subjects=[sanctioned]), f"case (2026)内01行初1号: {sanctioned[:12]}…"))
    out = []
    for role, kw, scope in plans:
        text, _ = issue(engine, keyring, role, clock, actor="operator:demo", label=f"demo {role}", expires_at=until,
                        **kw)
        out.append((role, scope, text))
    return out
