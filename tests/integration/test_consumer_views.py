"""The views the consumers read instead of the write model: a tenant's webhook targets and
the contacts records' events hold. Each must equal the aggregates' state, and a consumer
must wait for it (Behind) until it is as of the event it handles, on both stores."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from application.commands import RemoveWebhook, RotateCallbackSecret
from application.handlers.remove_webhook import remove_webhook
from application.handlers.rotate_callback_secret import rotate_callback_secret
from application.ports import Behind
from domain.webhooks import CALLBACK, TenantWebhooks
from entrypoints.bootstrap import Services
from infrastructure.database import transaction
from projections.contacts import Contacts, ContactView
from projections.deadletters import DeadLetter, DeadLetters
from projections.runner import MODELS, catch_up
from projections.views import open_live_view
from projections.webhook_targets import WebhookTargets, WebhookTargetsView
from tests.support import (
    ACME,
    STUDENT,
    Clock,
    fanning_out,
    invite_to_review,
    kept_logs,
    make_service,
    project,
    register_endpoint,
    start_endorsement,
    take_attempt,
)

CALLBACK_URL = "https://partner.example/cb"
HOOK = "https://partner.example/hooks"
COMPLETED = "verification.completed"


@pytest.fixture
def service(store_url: str, clock: Clock) -> Iterator[Services]:
    service = make_service(store_url, clock)
    yield service
    service.store.close()


def head(service: Services) -> int:
    return service.store.recorder.max_notification_id() or 0


def test_the_targets_view_is_the_tenants_webhooks_as_their_events_leave_them(
    service: Services,
) -> None:
    kept = register_endpoint(service, HOOK, [COMPLETED])
    gone = register_endpoint(service, HOOK + "/2")
    service.commands.execute(remove_webhook, ACME, RemoveWebhook(endpoint_id=gone["id"]), None)
    service.commands.execute(rotate_callback_secret, ACME, RotateCallbackSecret(), None)
    project(service)

    found = WebhookTargets(service.store, patience=0).targets(
        "acme", "live", COMPLETED, CALLBACK_URL, head(service)
    )
    webhooks = service.webhooks.find("acme", "live")
    assert webhooks is not None
    assert found == [
        (kept["id"], HOOK, webhooks.endpoints[kept["id"]].secret),
        (CALLBACK, CALLBACK_URL, webhooks.callback_secret),
    ]
    assert (
        WebhookTargets(service.store, patience=0).targets(
            "acme", "live", "verification.initiated", None, head(service)
        )
        == []
    )
    assert (
        WebhookTargets(service.store, patience=0).targets("other", "live", COMPLETED, None, None)
        == []
    )
    with pytest.raises(LookupError, match="no callback secret"):
        WebhookTargets(service.store, patience=0).targets("other", "live", COMPLETED, "x", None)


def test_a_consumer_waits_until_the_targets_view_is_as_of_its_event(service: Services) -> None:
    project(service)
    endpoint = register_endpoint(service, HOOK)  # just before the event, not yet projected
    take_attempt(service, 8)
    event_at = head(service)
    targets = WebhookTargets(service.store, patience=0)
    with pytest.raises(Behind, match="webhook_targets is at"):
        targets.targets("acme", "live", COMPLETED, None, event_at)

    # Within its patience, it gets the endpoint once the projector has caught up.
    view = open_live_view(service.store, MODELS[WebhookTargetsView.name])
    late = threading.Timer(0.3, lambda: catch_up(view, until=lambda: True))
    late.start()
    found = WebhookTargets(service.store, patience=10).targets(
        "acme", "live", COMPLETED, None, event_at
    )
    late.join()
    assert [target.endpoint_id for target in found] == [endpoint["id"]]


def test_a_view_caught_up_records_the_head_it_read_past_events_of_other_topics(
    service: Services,
) -> None:
    register_endpoint(service, HOOK)
    take_attempt(service, 8)  # later events, none of the targets view's topics
    view = open_live_view(service.store, MODELS[WebhookTargetsView.name])
    catch_up(view, until=lambda: True)
    assert view.position() == head(service)
    # So a consumer needs not count the log's events to know the view is as of any of them.
    assert WebhookTargets(service.store, patience=0).applied.position()[1] == head(service)


def test_the_contacts_view_reveals_a_records_people_until_they_are_erased(
    service: Services,
) -> None:
    record_id = start_endorsement(service)
    invite_to_review(service, record_id)
    record = UUID(record_id[-32:])
    contacts = Contacts(service.store, service.personal, patience=0)
    with pytest.raises(Behind, match=f"{ContactView.name} has no v1 of {record}"):
        contacts.contact(record, 1)

    project(service)
    student = contacts.contact(record, 1)
    assert student is not None
    assert (student.name, student.email) == (STUDENT["name"], STUDENT["email"])
    reviewer = contacts.contact(record, 2)
    assert reviewer is not None
    assert reviewer.email == "grace@example.com"

    assert contacts.reviewer(record, 1) == reviewer  # the first invitation's reviewer
    with pytest.raises(Behind, match="has no invitation 2 of"):
        contacts.reviewer(record, 2)

    service.students.erase(ACME, STUDENT["studentId"])
    assert contacts.contact(record, 1) is None
    assert contacts.contact(record, 2) is None  # sealed under the student's subject too
    assert contacts.reviewer(record, 1) is None


def test_the_embedded_fan_out_sends_an_events_email_when_its_webhooks_fail(
    tmp_path: Path, clock: Clock
) -> None:
    service = make_service(
        f"sqlite:///{tmp_path / 'assess.sqlite3'}", clock, outbox_dir=tmp_path / "outbox"
    )
    take_attempt(service, 8, callback=CALLBACK_URL)
    project(service)
    with transaction(service.store) as sql:  # as for a record older than callback secrets
        sql.run("DELETE FROM webhook_targets_g1")
    with kept_logs("assess.consumers") as logged, fanning_out(service):
        deadline = time.monotonic() + 20
        while not list((tmp_path / "outbox").glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1  # the result email went
    failures = [r.getMessage() for r in logged if r.getMessage().startswith("cannot process")]
    assert failures
    assert all(message.startswith("cannot process the webhooks of") for message in failures)
    service.store.close()


def test_a_tenant_whose_webhook_event_is_set_aside_is_not_read_from_the_view(
    service: Services,
) -> None:
    register_endpoint(service, HOOK)
    project(service)
    targets = WebhookTargets(service.store, patience=0)
    assert len(targets.targets("acme", "live", COMPLETED, None, head(service))) == 1
    tenant = TenantWebhooks.id_for("acme", "live").hex
    with transaction(service.store) as sql:  # as the projector does when it cannot apply one
        DeadLetters(f"{WebhookTargetsView.name}_g1").set_aside(
            sql, DeadLetter(head(service), tenant, "EndpointRemoved", 3, "a bug")
        )
    with pytest.raises(Behind, match="set aside an event of acme"):
        targets.targets("acme", "live", COMPLETED, None, head(service))
