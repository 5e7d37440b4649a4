import json
from tests.api_support import make_api
from tests.conftest import *  # noqa
from tests.conftest import PERSON, PERSON_2

import logging, traceback
class H(logging.Handler):
    def emit(self, rec):
        if rec.exc_info:
            tb = traceback.format_exception(*rec.exc_info)
            print("   TRACE:", "".join(tb[-4:]).replace("\n", "\n   "))
logging.getLogger("ledger.api").addHandler(H())

def test_probe(domain):
    p = domain.subject(PERSON)
    s = domain.sanction(p)
    api = make_api(domain)
    E = 'benefit: honor, programme: "x", region: "150100"'
    s2 = domain.sanction(p, regions=["150100"])
    q = domain.subject(PERSON_2)
    g = '{programme: "%s", kind: research_funding, amount_fen: 100, grant_ref: "%s", budget_account: "2130101", decision_date: "2026-02-01", region: "150100"}'
    cases = [
        ("recorder", 'mutation { end_sanction(request_id: "a\\u0000b", subject: "%s", ref: %d, body: {reason: expiry, ended_on: "2026-02-01", deciding_body: "x"}) { __typename ... on Error { message } } }' % (p, s2.seq)),
        ("recorder", 'mutation { end_sanction(request_id: "r1", subject: "%s", ref: %d, body: {reason: expiry, ended_on: "2026-02-01", deciding_body: "a\\u0000b"}) { __typename ... on Error { message } } }' % (p, s2.seq)),
        ("recorder", 'mutation { grant_subsidy(request_id: "g1", subject: "%s", body: %s) { __typename ... on Error { message } } }' % (q, g % ("a\\u0000b", "G-1"))),
        ("recorder", 'mutation { grant_subsidy(request_id: "g2", subject: "%s", body: %s) { __typename ... on Error { message } } }' % (q, g % ("p", "G\\u0000-2"))),
        ("recorder", 'mutation { grant_subsidy(request_id: "g3", subject: "%s", body: %s) { __typename ... on Error { message } } }' % (q, g % ("p", "G-3"))),
        ("recorder", 'mutation { grant_honor(request_id: "h1", subject: "%s", body: {title: "t\\u0000", level: regional, programme: "p\\u0000", awarding_body: "b", decision_date: "2026-02-01", region: "150100"}) { __typename ... on Error { message } } }' % (q,)),
        ("recorder", 'mutation { add_subject(identifier: "cn-rid:150102199001010019", name: "a\\u0000b") { __typename } }'),
        ("recorder", 'mutation { add_subject(identifier: "passport:A\\u0000", name: "a") { __typename ... on Error { message } } }'),
    ]
    for who, q in cases:
        r = api.post(who, q)
        print(domain.store.dialect, q[:90], "->", r.status_code, r.text[:220])
