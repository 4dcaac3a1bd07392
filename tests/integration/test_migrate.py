"""Schema creation is one explicit step: opening a store creates only the events' tables,
`migrate` (which every process runs at start, and `assess migrate`) creates the rest."""

from __future__ import annotations

from pathlib import Path

from application.banks import QuestionBanks
from application.settings import Settings
from application.store import EventStore
from consumers.sent import SENT
from entrypoints.migrations import migrate
from infrastructure.database import create_tables, transaction
from infrastructure.deliveries import DELIVERY_LOG as DELIVERY_LOG_DDL
from infrastructure.deliveries import TABLE as DELIVERY_LOG
from infrastructure.deliveries import Deliveries, Delivery
from infrastructure.persistence import open_store
from projections.runner import MODELS
from tests.processes import assess
from tests.support import MASTER_KEY

TABLES = {
    *(DELIVERY_LOG, SENT, "view_generations", *(f"{name}_g1" for name in MODELS)),
    *("data_subjects", "subject_keys", "subject_records"),
}


def tables(store: EventStore) -> set[str]:
    """The names of the tables (and views) in the store's database."""
    with transaction(store, commit=False) as sql:
        if sql.postgres:
            rows = sql.all(
                "SELECT table_name AS name FROM information_schema.tables"
                " WHERE table_schema = 'public'"
            )
        else:
            rows = sql.all("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    return {row["name"] for row in rows}


def test_opening_a_store_creates_nothing_beside_the_events_and_migrate_creates_the_rest(
    store_url: str,
) -> None:
    settings = Settings(database_url=store_url, master_key=MASTER_KEY)
    store = open_store(settings)
    assert tables(store) & TABLES == set()
    migrate(store, settings)
    migrate(store, settings)  # idempotent
    assert tables(store) >= TABLES | set(MODELS)
    store.close()


def test_assess_migrate_says_what_it_did_and_imports_the_shipped_banks(
    store_url: str, tmp_path: Path
) -> None:
    env = {"ASSESS_DATABASE_URL": store_url, "ASSESS_MASTER_KEY": MASTER_KEY}
    first = assess("migrate", "--data", str(tmp_path), env=env).splitlines()
    created, imported = first
    count, names = created.split(": ")
    events = "assess_events" if store_url.startswith("postgresql") else "stored_events"
    assert set(names.split(", ")) >= TABLES | {events}  # the events' table too
    assert count == f"created {len(names.split(', '))} tables"
    shipped = [f"skill_00{n}" for n in range(1, 7)]
    assert imported == f"imported the shipped question banks: {', '.join(shipped)}"
    store = open_store(Settings(database_url=store_url, master_key=MASTER_KEY))
    assert tables(store) >= TABLES
    assert [bank["skillId"] for bank in QuestionBanks(store).list_banks()] == shipped
    store.close()
    again = assess("migrate", "--data", str(tmp_path), env=env)
    assert again.strip() == "the store is up to date"


def test_migrate_gives_a_delivery_log_made_before_tracing_its_traceparent(
    store_url: str,
) -> None:
    settings = Settings(database_url=store_url, master_key=MASTER_KEY)
    store = open_store(settings)
    before = [DELIVERY_LOG_DDL[0].replace(" traceparent TEXT,", ""), *DELIVERY_LOG_DDL[1:]]
    assert before[0] != DELIVERY_LOG_DDL[0]
    create_tables(store, before)
    assert migrate(store, settings) == ["added the delivery log's new columns"]
    assert migrate(store, settings) == []  # idempotent
    traced = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    queued = Delivery(
        *("msg_1", "acme", "live", "wh_1", "http://a.test/", "whsec", "e_1", "t", "{}"),
        traceparent=traced,
    )
    deliveries = Deliveries(store)
    deliveries.enqueue([queued], now=1.0)
    [claimed] = deliveries.claim(now=2.0, limit=1, lease=60.0, per_tenant=8, busy={})
    assert claimed.traceparent == traced
    store.close()


def test_migrate_rebuilds_a_skill_view_made_before_it_kept_each_records_verifications(
    store_url: str,
) -> None:
    settings = Settings(database_url=store_url, master_key=MASTER_KEY)
    store = open_store(settings)
    migrate(store, settings)
    with transaction(store) as sql:
        sql.run("DROP TABLE skill_view_g1_verified")  # as a generation made before it had one
    assert migrate(store, settings) == ["rebuilt skill_view, whose tables lacked _verified"]
    assert "skill_view_g2_verified" in tables(store)
    assert migrate(store, settings) == []  # idempotent
    store.close()
