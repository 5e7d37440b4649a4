"""The projections the night reads are insert-only and checked against the log
(decision 0019): the owner's rewrite of ``grants.amount_fen`` (an attacker with
the SQLite file drops the trigger first; on PostgreSQL the owner disables it)
is refused by the night before anything is anchored, and reported by ``ledger
verify``; the application role cannot UPDATE or DELETE them at all."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from ledger.cli import main
from ledger.domain import projection_check
from ledger.domain.projection_check import ProjectionDrift
from ledger.finance import job as reconcile
from ledger.log.reindex import reindex, snapshot
from ledger.store import log_store
from ledger.store.schema import DOMAIN_PROJECTIONS, INSERT_ONLY_PROJECTIONS, entries
from tests.conftest import BASIS, PERSON, PERSON_2
from tests.test_reconcile_service import write

NOW = datetime(2026, 2, 1, 9, tzinfo=UTC)
AS_OF = date(2026, 1, 20)
PAYMENTS = ("T1,payment,,NMG-A-1,cn-rid,150102199001010019,9000000,2026-01-05,草原英才",
            "T2,payment,,NMG-A-1,cn-rid,150102199001010019,2000000,2026-01-06,草原英才")


@pytest.fixture
def overpaid(domain, tmp_path):
    """A grant of 100,000 yuan paid 110,000: one ``overpaid`` finding, as the log says."""
    p, q = domain.subject(PERSON), domain.subject(PERSON_2)
    g = domain.grant(p, amount=100_000_00, ref="NMG-A-1", on="2026-01-02")
    s = domain.sanction(q, until=None)
    domain.record("sanction.amended", q, {"effective_until": "2028-01-01", "reason": "r",
                                          "decision_date": "2026-01-03", "deciding_body": "x"}, refs=[s.seq])
    c = domain.record("clawback.ordered", p, {"amount_fen": 1000, "deadline": "2026-06-01", "grounds": "虚报材料",
                                              "legal_basis": BASIS, "decision_date": "2026-01-03",
                                              "deciding_body": "自治区人社厅"}, refs=[g.seq])
    domain.record("clawback.waived", p, {"amount_fen": 100, "reason": "困难减免", "decision_date": "2026-01-04",
                                         "deciding_body": "x"}, refs=[c.seq])
    return {"grant": g, "src": write(tmp_path / "f.csv", *PAYMENTS), "out": tmp_path / "out", "dir": tmp_path}


def night(domain, f):
    return reconcile.run(domain.engine, domain.keyring, domain.vault, f["src"], AS_OF, f["out"], domain.clock, now=NOW)


def owner_sets(store, statement: str) -> None:
    """The owner (or whoever holds the SQLite file) rewrites a row past the trigger."""
    with store.owner.begin() as conn:
        if store.dialect == "sqlite":
            conn.execute(sa.text("DROP TRIGGER IF EXISTS grants_no_update"))
            conn.execute(sa.text("DROP TRIGGER IF EXISTS grants_no_delete"))
        else:
            conn.execute(sa.text("ALTER TABLE grants DISABLE TRIGGER USER"))
        conn.execute(sa.text(statement))


def verify_cli(store, tmp_path, monkeypatch) -> tuple[int, dict]:
    monkeypatch.setenv("LEDGER_STATE_DIR", str(tmp_path / "state"))
    result = CliRunner().invoke(main, ["verify", "--db", store.url, "--json"], catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def test_every_domain_projection_is_insert_only():
    assert tuple(t.name for t in DOMAIN_PROJECTIONS) == INSERT_ONLY_PROJECTIONS
    assert set(projection_check.NIGHT_TABLES) <= set(INSERT_ONLY_PROJECTIONS)


@pytest.mark.parametrize("statement", ["UPDATE grants SET amount_fen = 1", "DELETE FROM grants",
                                       "UPDATE sanction_versions SET effective_until = NULL", "DELETE FROM exits",
                                       "UPDATE clawbacks SET amount_fen = 1", "DELETE FROM money_moves"])
def test_the_application_cannot_update_or_delete_a_projection(domain, overpaid, statement):
    """SQLite: the triggers refuse. PostgreSQL: the application role has no UPDATE or
    DELETE on the tables (and the triggers would refuse the owner too)."""
    domain.record("entry.corrected", domain.subject(PERSON), {"reason": "r", "deciding_body": "x"},
                  refs=[overpaid["grant"].seq])  # an exits row to delete
    with pytest.raises(sa.exc.DBAPIError) as e, domain.engine.begin() as conn:
        conn.execute(sa.text(statement))
    said = str(e.value).lower()
    assert ("insert-only" in said) if domain.store.dialect == "sqlite" else ("permission denied" in said)
    with domain.engine.connect() as conn:
        projection_check.check(conn, log_store.size(conn))  # nothing changed


def test_the_owner_is_refused_by_the_triggers_too(domain, overpaid):
    with pytest.raises(sa.exc.DBAPIError) as e, domain.store.owner.begin() as conn:
        conn.execute(sa.text("UPDATE grants SET amount_fen = 1"))
    assert "append-only" in str(e.value) or "insert-only" in str(e.value)


def test_a_rewritten_grant_amount_is_refused_by_the_night_and_reported_by_verify(domain, overpaid, tmp_path,
                                                                                monkeypatch):
    g = overpaid["grant"]
    owner_sets(domain.store, f"UPDATE grants SET amount_fen = 50000000 WHERE seq = {g.seq}")  # hides the overpayment
    with domain.engine.connect() as conn:
        before = log_store.size(conn)
    with pytest.raises(ProjectionDrift) as e:
        night(domain, overpaid)
    assert e.value.table == "grants" and e.value.key == {"seq": g.seq} and e.value.seq == g.seq
    assert "amount_fen is 50000000, the log says 10000000" in str(e.value)
    with domain.engine.connect() as conn:
        assert log_store.size(conn) == before  # nothing anchored
        assert conn.execute(sa.select(entries).where(entries.c.type == "reconciliation.completed")).first() is None
    assert not overpaid["out"].exists()  # nothing written
    code, out = verify_cli(domain.store, tmp_path, monkeypatch)
    assert code == 1 and out["error"] == "ProjectionDrift" and f"seq {g.seq}" in out["message"]
    assert "table grants" in out["message"] and "amount_fen" in out["message"]


def test_an_untampered_ledger_anchors_and_verify_counts_the_rows_it_checked(domain, overpaid, tmp_path,
                                                                          monkeypatch):
    outcome = night(domain, overpaid)
    assert outcome.result.counts["overpaid"] == 1
    code, out = verify_cli(domain.store, tmp_path, monkeypatch)
    # a grant, a sanction and its amendment, a clawback, a waiver
    assert code == 0 and out["ok"] and out["projection_rows"] == 5


@pytest.mark.parametrize("statement, table, detail", [
    ("DELETE FROM grants", "grants", "missing"),
    ("INSERT INTO grants VALUES (1, 'x', 'nmg-fake', '草原英才', 'research_funding', 1, '2026-01-02', '150100')",
     "grants", "no entry of the log makes this row"),
])
def test_a_deleted_or_forged_row_is_drift(domain, overpaid, statement, table, detail):
    owner_sets(domain.store, statement)
    with pytest.raises(ProjectionDrift) as e:
        night(domain, overpaid)
    assert e.value.table == table and detail in str(e.value)


def test_a_row_forged_beyond_the_log_is_drift_for_verify(domain, overpaid, tmp_path, monkeypatch):
    owner_sets(domain.store, "INSERT INTO grants VALUES (999999, 'x', 'nmg-fake', '草原英才', 'research_funding', 1, "
                             "'2026-01-02', '150100')")
    code, out = verify_cli(domain.store, tmp_path, monkeypatch)
    assert code == 1 and "row seq=999999" in out["message"] and "no entry of the log makes" in out["message"]


def test_a_rewritten_sanction_version_or_waiver_is_drift(domain, overpaid):
    with domain.store.owner.begin() as conn:
        for table in ("sanction_versions", "money_moves"):
            if domain.store.dialect == "sqlite":
                conn.execute(sa.text(f"DROP TRIGGER {table}_no_update"))
            else:
                conn.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        conn.execute(sa.text("UPDATE money_moves SET amount_fen = 1000"))
    with pytest.raises(ProjectionDrift) as e:
        night(domain, overpaid)
    assert e.value.table == "money_moves" and "amount_fen is 1000, the log says 100" in str(e.value)


def test_rows_beyond_the_nights_size_are_not_the_nights_business(domain, overpaid):
    """The night reads at the size the day ended with; verify reads the whole table."""
    with domain.engine.connect() as conn:
        size = log_store.size(conn)
    domain.grant(domain.subject(PERSON), ref="NMG-LATER")
    with domain.engine.connect() as conn:
        assert projection_check.check(conn, size, beyond=False) < projection_check.check(conn, size + 1)


def test_reindex_adds_missing_rows_but_refuses_to_paper_over_drift(domain, overpaid):
    with domain.engine.connect() as conn:
        live = snapshot(conn)
    reindex(domain.engine)  # nothing to delete, nothing missing: the same rows
    with domain.engine.connect() as conn:
        assert snapshot(conn) == live
    owner_sets(domain.store, "DELETE FROM grants")
    reindex(domain.engine)  # a lost row is the log's to give back
    with domain.engine.connect() as conn:
        assert snapshot(conn) == live
    owner_sets(domain.store, "UPDATE grants SET amount_fen = 1")
    with pytest.raises(ProjectionDrift):
        reindex(domain.engine)
    with domain.engine.connect() as conn:
        assert snapshot(conn)["grants"] != live["grants"]  # left for the owner to investigate


def test_first_drift_is_in_key_order_and_pure():
    from ledger.store.schema import grants

    want = {(1,): (1, "s", "a", "p", "k", 10, "2026-01-01", "150100"),
            (2,): (2, "s", "b", "p", "k", 20, "2026-01-01", "150100")}
    got = {(2,): (2, "s", "b", "p", "k", 21, "2026-01-01", "150100"),
           (1,): (1, "s", "a", "p", "k", 11, "2026-01-01", "150100")}
    drift = projection_check.first_drift(grants, want, got)
    assert drift is not None and drift.key == {"seq": 1} and "is 11, the log says 10" in str(drift)
    assert projection_check.first_drift(grants, want, dict(want)) is None
    assert projection_check.first_drift(grants, want, {(1,): want[(1,)]}, missing_from=2) is None
    assert "missing" in str(projection_check.first_drift(grants, want, {(1,): want[(1,)]}, missing_from=3))


# The projections that existed at revision 0005 (``overrides`` came with 0008).
AT_0005 = ("sanction_versions", "grants", "honors", "clawbacks", "money_moves", "exits", "links")


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_upgrade_closes_an_existing_database(dialect, tmp_path):
    """A database at revision 0005 whose application role was granted full DML on the
    projections (as `ledger db upgrade --app-role` did before): `ledger db upgrade`
    alone, without --app-role, leaves the role no UPDATE or DELETE, and the rows as they were."""
    import uuid

    from alembic import command

    from ledger.store import migrate
    from ledger.store.engine import make_engine
    from tests.conftest import PG_APP, PG_OWNER, _with_search_path

    row = "INSERT INTO grants VALUES (7, 's', 'nmg-1', '草原英才', 'research_funding', 100, '2026-01-02', '150100')"
    if dialect == "sqlite":
        owner = app = make_engine(f"sqlite:///{tmp_path}/old.db")
    else:
        if not (PG_OWNER and PG_APP):
            pytest.skip("PostgreSQL not configured")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = make_engine(PG_OWNER)
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        owner, app = make_engine(_with_search_path(PG_OWNER, schema)), make_engine(_with_search_path(PG_APP, schema))
    try:
        cfg = migrate._config()
        with owner.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0005")
            if dialect == "postgresql":
                conn.execute(sa.text(f"GRANT USAGE ON SCHEMA {schema} TO ledger_app"))
                for table in AT_0005:
                    conn.execute(sa.text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO ledger_app"))
            conn.execute(sa.text(row))
        with app.begin() as conn:
            conn.execute(sa.text("UPDATE grants SET amount_fen = 101"))  # allowed before the upgrade
        migrate.upgrade(owner)
        for statement in ("UPDATE grants SET amount_fen = 1", "DELETE FROM grants"):
            with pytest.raises(sa.exc.DBAPIError), app.begin() as conn:
                conn.execute(sa.text(statement))
        with app.connect() as conn:
            assert conn.execute(sa.text("SELECT amount_fen FROM grants")).scalar_one() == 101
        if dialect == "postgresql":  # not only the triggers: the privileges are gone
            with owner.connect() as conn:
                for table in INSERT_ONLY_PROJECTIONS:
                    for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
                        assert not conn.execute(sa.text(f"SELECT has_table_privilege('ledger_app', '{table}', "
                                                        f"'{privilege}')")).scalar_one(), (table, privilege)
                    assert conn.execute(sa.text(f"SELECT has_table_privilege('ledger_app', '{table}', "
                                                "'INSERT')")).scalar_one()
        assert migrate.current_revision(owner) == migrate.head_revision()
    finally:
        owner.dispose()
        app.dispose()
        if dialect == "postgresql":
            with admin.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
