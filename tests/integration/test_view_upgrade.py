"""A live view made before a column was added to its model gets the column at migrate,
keeps its rows (old records read as assessments) and goes on applying events."""

from __future__ import annotations

from entrypoints.migrations import migrate
from infrastructure.database import transaction
from projections.queries import ReadSide
from projections.records import RecordView
from projections.views import open_live_view, swap_in
from tests.support import ACME, Clock, make_service, project, take_attempt


def test_migrate_adds_the_record_views_new_columns_and_the_view_goes_on(store_url: str) -> None:
    service = make_service(store_url, Clock())
    first = take_attempt(service, 2)
    project(service)
    view = open_live_view(service.store, RecordView())
    with transaction(service.store) as sql:  # the view as it was before the human path
        sql.run("DROP VIEW record_view")
        for name, _ in RecordView.added_columns:
            sql.run(f"ALTER TABLE {view.table} DROP COLUMN {name}")
    swap_in(view)

    migrate(service.store, service.settings)
    second = take_attempt(service, 8)
    project(service)
    for record_id, status in ((first, "failed"), (second, "passed")):
        record = service.records.record(ACME, record_id)
        read = ReadSide(service.store, service.personal).record("acme", "live", record_id)
        assert read is not None
        assert (read["status"], read["method"], read["reviewer"]) == (status, "assessment", None)
        assert read == record
    service.store.close()
