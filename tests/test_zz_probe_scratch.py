import time, faulthandler, sys
from tests.api_support import make_api
from tests.conftest import *  # noqa
from tests.conftest import PERSON, PERSON_2, EMPLOYER
from ledger import checkpoint as checkpoints

Q = '''mutation($s: String!) { amend_sanction(request_id: "Bearer", subject: $s, ref: 3,
  body: { deciding_body: "Bearer", decision_date: "2000-01-01", reason: "Bearer", indefinite: true }) { __typename ... on Error { code message } } }'''

def test_probe(domain):
    if domain.store.dialect != "sqlite":
        return
    p = domain.subject(PERSON)
    s = domain.sanction(p)
    api = make_api(domain)
    faulthandler.dump_traceback_later(8, exit=True)
    t = time.time()
    r = api.post("recorder", Q, {"s": p})
    print(s.seq, time.time() - t, r.status_code, r.text[:500])
    faulthandler.cancel_dump_traceback_later()
