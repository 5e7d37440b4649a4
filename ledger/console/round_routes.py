"""The award round's console routes (docs/award-rounds.md). Thin edges: each
route bounds its body, makes one call into ``ledger`` and formats the result.

- ``GET  /console/api/round/template.csv|.xlsx``: the candidate list's template
  (synthetic example rows; no token);
- ``POST /console/api/round/screen``: the list itself as the body (CSV or XLSX
  bytes, at most ``candidates.MAX_UPLOAD_BYTES``): every bad row with its row
  number, field and rule, or every candidate's answer at one tree size. Writes
  nothing;
- ``POST /console/api/round/record``: ``{"reference", "statements": [signed
  statement JSON text, …]}``, the checks the officer's browser signed, appended
  as one batch (``award_round.record_round``);
- ``POST /console/api/round/report.xlsx|.pdf``: ``{"reference", "seqs",
  "identifiers"}``: the recorded round's report.

Bearer token on every POST, like ``/graphql``. Identifiers travel in bodies,
never in URLs (PIPL: no identity numbers in access logs or Referer headers);
every answer is ``Cache-Control: no-store``.
"""

from __future__ import annotations

import json
from datetime import UTC
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ledger.access import award_round
from ledger.domain import candidates
from ledger.errors import Forbidden, LedgerError, NotFound, Problem, RequestConflict, ValidationError
from ledger.evidence import round_report

NO_STORE = {"Cache-Control": "no-store"}
MAX_RECORD_BODY = 16 * 1024 * 1024  # 2,000 signed statements of ~2 KB each, as JSON text inside JSON
MAX_REPORT_BODY = 256 * 1024  # 2,000 seqs and identifiers
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _answer(content: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(content, status, headers=NO_STORE)


def _problems(rows) -> list[dict]:
    return [{"row": p.row, "field": p.field, "rule": p.rule} for p in rows]


async def _bounded(request: Request, limit: int) -> bytes | None:
    """The body, or None once it exceeds ``limit`` (declared or sent)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isascii() or not declared.isdigit() or int(declared) > limit):
        return None
    body = bytearray()
    async for chunk in request.stream():  # chunked uploads too: stop reading at the limit
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def _caller(request: Request):
    from ledger.api.app import _principal  # lazy: ledger.api.app mounts this module

    principal = await _principal(request.app.state.ledger, request)
    if isinstance(principal, JSONResponse):
        principal.headers.update(NO_STORE)
    return principal


def _refusal(e: LedgerError) -> JSONResponse:
    if isinstance(e, ValidationError):
        return _answer({"ok": False, "code": "validation",
                        "problems": [{"field": p.field, "rule": p.rule} for p in e.problems]}, 400)
    status, code = ((403, "forbidden") if isinstance(e, Forbidden) else (404, "not_found") if isinstance(e, NotFound)
                    else (409, "conflict") if isinstance(e, RequestConflict) else (400, "refused"))
    return _answer({"ok": False, "code": code, "message": str(e)}, status)


def _too_large(limit: int) -> JSONResponse:
    return _answer({"ok": False, "code": "too_large", "problems": [{"row": 0, "field": "file",
                                                                   "rule": f"is more than {limit} bytes"}]}, 413)


async def template(request: Request) -> Response:
    kind = request.path_params["kind"]
    if kind not in ("csv", "xlsx"):
        return _answer({"ok": False, "code": "not_found", "message": "template.csv or template.xlsx"}, 404)
    data, media = (candidates.template_csv(), "text/csv; charset=utf-8") if kind == "csv" else \
        (candidates.template_xlsx(), XLSX)
    return Response(data, media_type=media, headers={**NO_STORE,
                    "Content-Disposition": f'attachment; filename="round-template.{kind}"'})


def _reason(r) -> dict:
    return {"kind": r.kind, "seq": r.seq, "message": r.message, "legal_basis": r.legal_basis,
            "period_from": r.period[0] if r.period else None, "period_until": r.period[1] if r.period else None,
            "amount_fen": r.amount_fen}


def _screening(s: award_round.Screening) -> dict:
    return {"ok": True, "tree_size": s.anchor.tree_size, "root": s.anchor.root_hex,
            "checkpoint_size": s.anchor.checkpoint_size,
            "answers": [{"row": a.candidate.row, "identifier": a.candidate.identifier, "programme": a.candidate.programme,
                         "benefit": a.candidate.benefit, "region": a.candidate.region, "on": a.candidate.on.isoformat(),
                         "subject": a.subject, "on_record": a.decision.on_record, "answer": a.decision.answer,
                         "blocking": [_reason(r) for r in a.decision.blocking],
                         "warnings": [_reason(r) for r in a.decision.warnings]} for a in s.answers]}


async def screen(request: Request) -> Response:
    from ledger.api.context import run

    principal = await _caller(request)
    if isinstance(principal, Response):
        return principal
    data = await _bounded(request, candidates.MAX_UPLOAD_BYTES)
    if data is None:
        return _too_large(candidates.MAX_UPLOAD_BYTES)
    parsed = await run(candidates.read, data, request.headers.get("x-filename", ""))
    if parsed.problems:  # nothing is answered, let alone recorded, until every row is right
        return _answer({"ok": False, "code": "rows", "problems": _problems(parsed.problems)})
    state = request.app.state.ledger
    try:
        s = await run(award_round.screen, state.engine, state.vault, principal, parsed.candidates)
    except LedgerError as e:
        return _refusal(e)
    if s.problems:
        return _answer({"ok": False, "code": "rows", "problems": _problems(s.problems)})
    return _answer(_screening(s))


async def _json_body(request: Request, limit: int) -> dict | Response:
    data = await _bounded(request, limit)
    if data is None:
        return _too_large(limit)
    try:
        body = json.loads(data)
        if not isinstance(body, dict) or not isinstance(body.get("reference"), str):
            raise ValueError("reference")
        return body
    except ValueError:
        return _answer({"ok": False, "code": "validation", "problems": [{"field": "body", "rule":
                        'send JSON: {"reference": "<round reference>", …}'}]}, 400)


async def record(request: Request) -> Response:
    from ledger.api.context import run

    principal = await _caller(request)
    if isinstance(principal, Response):
        return principal
    body = await _json_body(request, MAX_RECORD_BODY)
    if isinstance(body, Response):
        return body
    state = request.app.state.ledger
    texts = body.get("statements")
    try:
        if not isinstance(texts, list):
            raise ValidationError([Problem("statements", "must be a list of signed statements")])
        signed = award_round.parse_round(texts)
        entries = await run(award_round.record_round, state.engine, principal, body["reference"], signed, state.clock)
    except LedgerError as e:
        return _refusal(e)
    return _answer({"ok": True, "reference": body["reference"].strip(),
                    "recorded": [{"seq": e.seq, "leaf_hash": e.leaf_hash.hex()} for e in entries]})


async def report(request: Request) -> Response:
    from ledger.api.context import run

    if request.path_params["kind"] not in ("xlsx", "pdf"):
        return _answer({"ok": False, "code": "not_found", "message": "report.xlsx or report.pdf"}, 404)
    principal = await _caller(request)
    if isinstance(principal, Response):
        return principal
    body = await _json_body(request, MAX_REPORT_BODY)
    if isinstance(body, Response):
        return body
    state = request.app.state.ledger
    seqs, identifiers, unrecorded = body.get("seqs"), body.get("identifiers"), body.get("unrecorded", [])
    if not (isinstance(seqs, list) and all(type(s) is int for s in seqs)
            and isinstance(identifiers, list) and all(isinstance(i, str) for i in identifiers)
            and isinstance(unrecorded, list) and all(isinstance(u, dict) for u in unrecorded)):
        return _answer({"ok": False, "code": "validation", "problems": [{"field": "seqs", "rule":
                        "seqs: a list of integers; identifiers: a list of texts; unrecorded: a list of rows"}]}, 400)
    # The candidates no subject holds come back as rows of the list, read by the list's own rules.
    blank = candidates.rows_to_candidates([list(candidates.COLUMNS)] + [
        [str(u.get("on" if c == "date" else c, "")) for c in candidates.COLUMNS] for u in unrecorded]) \
        if unrecorded else candidates.CandidateList((), ())
    if blank.problems:
        return _answer({"ok": False, "code": "rows", "problems": _problems(blank.problems)}, 400)
    try:
        r = await run(award_round.recorded_round, state.engine, state.vault, principal, body["reference"], seqs,
                      identifiers, blank.candidates)
    except LedgerError as e:
        return _refusal(e)
    a = r.anchor
    rows = [(c.identifier, c.entry.body, c.decision.blocking, c.decision.warnings, c.entry.seq, c.entry.leaf_hash.hex())
            for c in r.checks]
    rows += [(u.candidate.identifier, {"programme": u.candidate.programme, "benefit": u.candidate.benefit,
                                       "region": u.candidate.region, "on": u.candidate.on.isoformat(),
                                       "answer": u.decision.answer, "decision": "no_record"},
              u.decision.blocking, u.decision.warnings, None, "") for u in r.unrecorded]
    rep = round_report.report_of(r.reference, (a.tree_size, a.root_hex, a.checkpoint_size, a.checkpoint), rows,
                                 state.clock().astimezone(UTC))
    kind = request.path_params["kind"]
    data = await run(round_report.render_xlsx if kind == "xlsx" else round_report.render_pdf, rep)
    name = f"round-report.{kind}"
    return Response(data, media_type=XLSX if kind == "xlsx" else "application/pdf", headers={
        **NO_STORE, "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(r.reference)}.{kind}"})


def routes() -> list[Route]:
    return [Route("/api/round/template.{kind:str}", template),
            Route("/api/round/screen", screen, methods=["POST"]),
            Route("/api/round/record", record, methods=["POST"]),
            Route("/api/round/report.{kind:str}", report, methods=["POST"])]
