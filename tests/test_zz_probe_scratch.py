import time, faulthandler, sys, traceback
from tests.api_support import make_api
from tests.conftest import *  # noqa
from tests.conftest import PERSON, PERSON_2, EMPLOYER
from ledger import recording, tokens

def test_probe(domain):
    if domain.store.dialect != "sqlite":
        return
    p = domain.subject(PERSON); q = domain.subject(PERSON_2)
    s = domain.sanction(p)
    api = make_api(domain)
    principal = tokens.authenticate(domain.engine, api.tokens["recorder"], domain.clock())
    faulthandler.dump_traceback_later(8, exit=True)
    try:
        e = recording.record(domain.engine, domain.keyring, principal, "clawback.recovered", subject=q, refs=[2270456],
                         request_id="LEDGER_ORIGIN", body={"amount_fen": 17179869185, "recovered_on": "1903-06-11"}, clock=domain.clock)
        print("OK", e)
    except BaseException as ex:
        print("RAISED", type(ex).__mro__)
        traceback.print_exc()
    faulthandler.cancel_dump_traceback_later()
