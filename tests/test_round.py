"""The award round (docs/award-rounds.md): the candidate list read from CSV and
XLSX (hostile rows included), the screening report's cells and text, and the
console routes: who may record a round, and that a bad row or a bad statement
writes nothing."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from openpyxl import Workbook, load_workbook

from ledger.domain import candidates
from ledger.domain.candidates import read
from ledger.evidence import round_report
from ledger.log import canonical
from ledger.log.entry import Draft
from ledger.log.statement import sign_statement
from ledger.store import log_store
from tests.api_support import make_api
from tests.conftest import BAOTOU, EMPLOYER, HOHHOT, PERSON, PERSON_2
from tests.pdf_text import pdf_text

HEADER = "identifier,programme,benefit,region,date\n"
CLEAN_3 = "cn-rid:150102198503120037"  # valid, never recorded


def csv_of(*rows: str) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode("utf-8")


def xlsx_of(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def problems(data: bytes) -> set[tuple[int, str]]:
    return {(p.row, p.field) for p in read(data).problems}


# --- the list ------------------------------------------------------------------------

def test_both_templates_read_back_as_their_example_rows():
    for data in (candidates.template_csv(), candidates.template_xlsx()):
        got = read(data)
        assert not got.problems
        assert [(c.row, c.identifier, c.benefit, c.region, str(c.on)) for c in got.candidates] == [
            (2, "cn-rid:150102199001010019", "subsidy", "150102", "2026-10-01"),
            (3, "cn-rid:152201198006150025", "honor", "152201", "2026-10-01")]


def test_a_good_csv_with_chinese_headers_labels_and_a_bom():
    data = ("\ufeff身份号码或统一社会信用代码,项目,授予类别,授予地区代码,授予日期\n"
            f"{PERSON},草原英才,资助补贴,150102,2026-10-01\n\n{EMPLOYER},鸿雁行动,honor,150100,2026-10-02\n").encode()
    got = read(data)
    assert not got.problems
    assert [(c.row, c.identifier, c.benefit) for c in got.candidates] == [
        (2, PERSON, "subsidy"), (4, EMPLOYER, "honor")]  # row numbers as the spreadsheet shows them


def test_every_bad_row_is_reported_with_its_row_field_and_rule_and_nothing_is_accepted():
    data = csv_of(f"{PERSON},草原英才,subsidy,150102,2026-10-01",
                  "150102199001010018,草原英才,subsidy,150102,2026-10-01",  # wrong check character
                  f"{PERSON_2},草原英才,cash,150102,2026-10-01",  # unknown benefit
                  f"{PERSON_2},草原英才,honor,159999,2026-10-01",  # no such region
                  f"{PERSON_2},草原英才,honor,152100,2026-10-01",  # retired league code
                  f"{PERSON_2},草原英才,honor,150102,2026-02-30",  # no such day
                  f"{PERSON_2},草原英才,honor,150102,01/10/2026",  # not ISO
                  f"{PERSON_2},,honor,150102,2026-10-01",  # no programme
                  "xx:123,草原英才,honor,150102,2026-10-01",  # unknown scheme
                  f"{PERSON},草原英才,subsidy,150102,2026-10-01")  # a repeat of row 2
    got = read(data)
    assert {(p.row, p.field) for p in got.problems} == {
        (3, "identifier"), (4, "benefit"), (5, "region"), (6, "region"), (7, "date"), (8, "date"), (9, "programme"),
        (10, "identifier"), (11, "identifier")}
    rules = {(p.row, p.field): p.rule for p in got.problems}
    assert "check character" in rules[(3, "identifier")] and "retired" in rules[(6, "region")]
    assert "repeats row 2" in rules[(11, "identifier")]


def test_hostile_cells_are_refused_not_interpreted():
    data = csv_of("=cmd|' /C calc'!A0,草原英才,honor,150102,2026-10-01",
                  f"{PERSON},草原英才\x07,honor,150102,2026-10-01",
                  f"{PERSON},{'长' * 300},honor,150102,2026-10-01")
    assert problems(data) == {(2, "identifier"), (3, "programme"), (4, "programme")}


def test_a_missing_column_is_named_and_a_file_that_is_not_a_list_is_refused():
    assert problems(b"identifier,programme,benefit,date\nx,y,z,2026-01-01\n") == {(1, "region")}
    assert problems(b"") == {(0, "file")}
    assert problems(HEADER.encode()) == {(0, "file")}
    assert problems("身份号码\n".encode("gb18030") + b"\xff\xfe") == {(0, "file")}  # not UTF-8
    assert problems(b"PK\x03\x04 not really a zip") == {(0, "file")}


def test_oversized_uploads_are_refused_before_parsing():
    big = csv_of(*[f"{PERSON},草原英才,honor,150102,2026-10-01"] * 60_000)
    assert len(big) > candidates.MAX_UPLOAD_BYTES
    [p] = read(big).problems
    assert (p.row, p.field) == (0, "file") and "bytes" in p.rule
    many = (HEADER + "".join(f"{PERSON},草原英才,honor,150102,2026-10-01\n" for _ in range(candidates.MAX_CANDIDATES + 1))
            ).encode()
    [p] = read(many).problems
    assert "more than 2000 candidates" in p.rule


def test_an_xlsx_zip_bomb_is_refused_by_its_unpacked_size():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (candidates.MAX_UNPACKED_BYTES + 1))
    assert len(buf.getvalue()) < candidates.MAX_UPLOAD_BYTES
    [p] = read(buf.getvalue()).problems
    assert p.field == "file" and "unpacks to" in p.rule


def test_xlsx_rows_with_date_and_number_cells_and_hostile_rows():
    good = xlsx_of([list(candidates.COLUMNS), [PERSON, "草原英才", "honor", 150102, datetime(2026, 10, 1)],
                    ["150102199001010018", "草原英才", "honor", "150102", "2026-10-01"],
                    [PERSON_2, "草原英才", "bribe", "150102", "2026-13-01"]])
    got = read(good)
    assert [(c.row, c.region, str(c.on)) for c in got.candidates] == [(2, "150102", "2026-10-01")]
    assert {(p.row, p.field) for p in got.problems} == {(3, "identifier"), (4, "benefit"), (4, "date")}


# --- the report ----------------------------------------------------------------------

def _report(reason: str = "=cmd|' /C calc'!A0") -> round_report.RoundReport:
    body = {"officer": "王五", "programme": "草原英才", "benefit": "subsidy", "region": "150102", "on": "2026-10-01",
            "answer": "barred", "decision": "override", "approver": "+李局长", "reason": reason, "award_ref": "R"}
    return round_report.report_of("2026-人才计划-第3批", (42, "ab" * 32, 45, "test.example/ledger\n45\nROOT=\n\n— sig\n"),
                                  [(PERSON, body, (), (), 40, "cd" * 32)], datetime(2026, 10, 1, 2, 0, tzinfo=UTC))


def test_report_cells_never_become_formulas():
    ws = load_workbook(io.BytesIO(round_report.render_xlsx(_report())))["核查结果"]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert "'=cmd|' /C calc'!A0" in texts and "'+李局长" in texts
    assert not any(t[:1] in "=+-@" for t in texts)
    assert "cn-rid:150102********0019" in texts  # masked: the report leaves the office


def test_report_pdf_states_the_tree_size_the_root_and_the_checkpoint_in_chinese():
    text = pdf_text(round_report.render_pdf(_report("预算紧张但成果突出")))
    for words in ("授予前批量核查报告", "批次编号：2026-人才计划-第3批", "树大小：42", "ab" * 32, "检查点（树大小 45）",
                  "受惩戒限制，不得授予", "特批授予", "预算紧张但成果突出", "cn-rid:150102********0019"):
        assert words in text, words
    assert "150102199001010019" not in text


# --- the routes ----------------------------------------------------------------------

@pytest.fixture
def api(domain):
    return make_api(domain)


def bearer(api, who):
    return {"Authorization": f"Bearer {api.tokens[who]}"}


def screen(api, who: str, data: bytes):
    return api.client.post("/console/api/round/screen", content=data, headers={**bearer(api, who),
                                                                              "Content-Type": "text/csv"})


def size(api) -> int:
    with api.ledger.engine.connect() as conn:
        return log_store.size(conn)


def signed_checks(api, answers: list[dict], reference: str, decisions: dict[int, str], key_of=HOHHOT,
                  who: str = "officer") -> list[str]:
    actor = f"token:{api.tokens[who].split('_')[1]}"  # il_<token id>_<secret>: the console names the token as actor
    signer = api.ledger.keyring.authorities[key_of.id]
    out = []
    for a in answers:
        if a["subject"] is None:
            continue  # nobody on record: an eligibility.checked needs a subject
        d = decisions.get(a["row"], "proceed" if a["answer"] == "eligible" else "refuse")
        body = {"officer": "王五", "programme": a["programme"], "award_ref": reference, "benefit": a["benefit"],
                "region": a["region"], "on": a["on"], "answer": a["answer"], "tree_size": answers_size(api, a),
                "blocking": [r["seq"] for r in a["blocking"]], "decision": d}
        if d == "override":
            body.update(approver="李局长", reason="成果突出，经局务会研究")
        draft = Draft("eligibility.checked", key_of, actor, a["subject"], (), f"round-{reference}-{a['row']}", body)
        s = sign_statement(draft, signer, datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
        out.append(canonical.encode(s.to_json()).decode())
    return out


def answers_size(api, a) -> int:
    return api._screened_size


def a_round(api, domain):
    barred = domain.subject(PERSON, "张三")
    domain.sanction(barred, regions=("150100",))
    domain.subject(PERSON_2, "李四")
    data = csv_of(f"{PERSON},草原英才,subsidy,150102,2026-10-01", f"{PERSON_2},草原英才,subsidy,150102,2026-10-01",
                  f"{CLEAN_3},草原英才,honor,150102,2026-10-01")
    r = screen(api, "officer", data)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store", r.text
    body = r.json()
    assert body["ok"], body
    api._screened_size = body["tree_size"]
    return body


def record(api, who: str, reference: str, statements: list[str]):
    return api.client.post("/console/api/round/record", json={"reference": reference, "statements": statements},
                           headers=bearer(api, who))


def test_a_round_is_screened_at_one_tree_size_with_each_answer_and_its_reasons(api, domain):
    body = a_round(api, domain)
    assert body["ok"] and body["tree_size"] == size(api)
    assert [(a["row"], a["answer"], a["on_record"]) for a in body["answers"]] == [
        (2, "barred", True), (3, "eligible", True), (4, "eligible", False)]
    assert body["answers"][0]["blocking"][0]["kind"] == "sanction"


def test_bad_rows_answer_nothing_and_name_each_row(api, domain):
    r = screen(api, "officer", csv_of(f"{PERSON},草原英才,subsidy,150102,2026-10-01",
                                      f"{PERSON_2},没有这个项目,subsidy,150102,2026-10-01"))
    assert r.json() == {"ok": False, "code": "rows", "problems": [
        {"row": 3, "field": "programme", "rule": r.json()["problems"][0]["rule"]}]}
    r = screen(api, "officer", csv_of("150102199001010018,草原英才,subsidy,150102,2026-10-01"))
    assert [(p["row"], p["field"]) for p in r.json()["problems"]] == [(2, "identifier")] and "answers" not in r.json()


def test_uploads_are_bounded_and_need_a_token(api):
    r = api.client.post("/console/api/round/screen", content=b"x" * (candidates.MAX_UPLOAD_BYTES + 1),
                        headers=bearer(api, "officer"))
    assert r.status_code == 413 and r.headers["cache-control"] == "no-store"
    r = api.client.post("/console/api/round/screen", content=csv_of(f"{PERSON},草原英才,honor,150102,2026-10-01"))
    assert r.status_code == 401 and r.headers["cache-control"] == "no-store"
    assert screen(api, "admin", csv_of(f"{PERSON},草原英才,honor,150102,2026-10-01")).status_code == 403


def test_the_officer_records_the_round_in_one_batch_and_downloads_its_reports(api, domain):
    body = a_round(api, domain)
    before = size(api)
    r = record(api, "officer", "2026-人才计划-第3批", signed_checks(api, body["answers"], "2026-人才计划-第3批", {}))
    assert r.status_code == 200, r.text
    seqs = [x["seq"] for x in r.json()["recorded"]]
    assert seqs == list(range(before, before + 2)) and size(api) == before + 2
    nobody = body["answers"][2]
    req = {"reference": "2026-人才计划-第3批", "seqs": seqs, "identifiers": [a["identifier"] for a in body["answers"][:2]],
           "unrecorded": [{k: nobody[k] for k in ("identifier", "programme", "benefit", "region", "on")}]}
    x = api.client.post("/console/api/round/report.xlsx", json=req, headers=bearer(api, "officer"))
    assert x.status_code == 200 and x.headers["cache-control"] == "no-store"
    ws = load_workbook(io.BytesIO(x.content))["核查结果"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert any(r_[0] == f"核查所依据的账本树大小：{body['tree_size']}" for r_ in rows)
    table = [r_ for r_ in rows if isinstance(r_[0], int)]
    assert "cn-rid:150102********0037" == table[2][1]
    assert [(r_[6], r_[8], r_[11]) for r_ in table] == [("受惩戒限制，不得授予", "不予授予", seqs[0]),
                                                        ("符合条件", "予以授予", seqs[1]),
                                                        ("符合条件", round_report.NO_RECORD, "—")]
    p = api.client.post("/console/api/round/report.pdf", json=req, headers=bearer(api, "officer"))
    assert p.status_code == 200 and p.headers["content-type"] == "application/pdf"
    assert "2026-人才计划-第3批" in pdf_text(p.content)
    # Someone else's seqs, or another round's, are no report of this round.
    bad = api.client.post("/console/api/round/report.pdf", json={**req, "reference": "另一批"},
                          headers=bearer(api, "officer"))
    assert bad.status_code == 400
    swapped = api.client.post("/console/api/round/report.pdf", json={**req, "identifiers": req["identifiers"][::-1]},
                              headers=bearer(api, "officer"))
    assert swapped.status_code == 403


@pytest.mark.parametrize(("who", "status"), [("auditor", 403), ("recorder", 403), ("recorder_baotou", 403),
                                             ("officer_baotou", 403)])
def test_only_a_programme_officer_of_the_award_region_records_a_round(api, domain, who, status):
    body = a_round(api, domain)
    api.issue("officer_baotou", "programme_officer", authority_id=BAOTOU.id, region=BAOTOU.region)
    before = size(api)
    # Each signs with its own authority's key: the Baotou officer is refused by jurisdiction
    # (Art. 66: the award's region 150102 is Hohhot's), the others by role.
    key_of = BAOTOU if who.endswith("baotou") else HOHHOT
    r = record(api, who, "R-1", signed_checks(api, body["answers"], "R-1", {}, key_of=key_of, who=who))
    assert r.status_code == status, r.text
    assert r.json()["ok"] is False
    assert ("outside the jurisdiction" if who == "officer_baotou" else "may not record check") in r.json()["message"]
    assert size(api) == before


@pytest.mark.parametrize("attack", ["proceed_on_barred", "eligible_claimed", "other_round", "override_without_reason",
                                    "bad_signature"])
def test_one_bad_check_writes_nothing_of_the_round(api, domain, attack):
    body = a_round(api, domain)
    answers = body["answers"]
    decisions = {}
    reference = "R-2"
    if attack == "proceed_on_barred":
        decisions = {2: "proceed"}
    elif attack == "eligible_claimed":
        answers = [{**answers[0], "answer": "eligible", "blocking": []}, *answers[1:]]
    texts = signed_checks(api, answers, reference, decisions)
    if attack == "other_round":
        texts[1] = signed_checks(api, answers, "R-OTHER", {})[1]
    elif attack == "override_without_reason":
        texts = signed_checks(api, answers, reference, {2: "override"})
        obj = json.loads(texts[0])
        del obj["statement"]["body"]["reason"]
        texts[0] = json.dumps(obj, ensure_ascii=False)
    elif attack == "bad_signature":
        obj = json.loads(texts[1])
        obj["statement"]["body"]["officer"] = "冒名"
        texts[1] = json.dumps(obj, ensure_ascii=False)
    before = size(api)
    r = record(api, "officer", reference, texts)
    assert r.status_code == 400, r.text
    assert size(api) == before
    fields = [p["field"] for p in r.json()["problems"]]
    assert all(f.startswith("statements.") for f in fields), fields
