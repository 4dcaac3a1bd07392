"""The webhook and email consumers as Kafka consumer groups, end to end on real services:
the Tansu broker, PostgreSQL, an SMTP server (aiosmtpd) and HTTP receivers on loopback.

The relay, `webhooks_consumer` and `emails_consumer` run in threads, each on its own store
connection, as the production processes would; the service takes commands meanwhile."""

from __future__ import annotations

import time

import msgspec
from standardwebhooks.webhooks import Webhook

from consumers.relay import RELAY
from entrypoints.bootstrap import Services
from infrastructure.following import Tracker
from tests.broker import Broker, read_topic
from tests.kafka_flow import (
    SETTLE,
    consumer_settings,
    decoded,
    delivered,
    for_record,
    mailed_to,
    of_type,
    redeliver_everything,
    running_processes,
    stored_events,
    student,
    submit,
    wait_until,
)
from tests.receivers import receiving, smtp_server
from tests.support import register_endpoint


def test_a_submit_reaches_the_topic_a_signed_webhook_and_one_email(
    service: Services, broker: Broker, pg_url: str, topic: str
) -> None:
    ada = student("ada")
    with receiving() as receiver, smtp_server() as (smtp_port, mailbox):
        endpoint = register_endpoint(service, receiver.url_for("/hooks"))
        settings = consumer_settings(pg_url, broker, topic, smtp_port)
        started = time.monotonic()
        with running_processes(settings):
            record_id, submitted = submit(service, ada, correct=8)
            wait_until(
                lambda: delivered(receiver.hooks(), record_id, "/hooks"), "the completed webhook"
            )
            wait_until(lambda: bool(mailed_to(mailbox, ada["email"])), "the result email")
            time.sleep(SETTLE)
            # Both groups told where they are: /ready shows them caught up.
            wait_until(
                lambda: (
                    {
                        name: state.lag
                        for name, state in service.followers.report().items()
                        if name.startswith("consumers.")
                    }
                    == {"consumers.emails": 0, "consumers.webhooks": 0}
                ),
                "both consumer groups reported",
            )
            groups = service.followers.report()
            assert groups["consumers.webhooks"].position >= stored_events(service) - 1
            assert groups["consumers.emails"].moved_at is not None
        print(f"webhook and email {time.monotonic() - started:.1f} s after the start")
        hooks, mails = receiver.hooks(), mailbox.mails()

    # The topic holds the record's events, in the store's order (at least once each).
    records = read_topic(
        broker.bootstrap,
        topic,
        lambda records: {decoded(r)["type"] for r in records} >= {"Scored", "Locked"},
    )
    events = {decoded(r)["version"]: decoded(r) for r in records}
    assert all(r.key == record_id.encode() for r in records)
    assert [events[v]["type"] for v in sorted(events)] == [
        "VerificationStarted",
        "QuestionsGenerated",
        "AnswersSubmitted",
        "Scored",
        "Locked",
    ]
    [scored] = [event for event in events.values() if event["type"] == "Scored"]
    [generated] = [event for event in events.values() if event["type"] == "QuestionsGenerated"]

    # verification.initiated (the first generate) and verification.completed, once each,
    # signed with the endpoint's secret.
    assert {hook.path for hook in hooks} == {"/hooks"}
    assert sorted(hook.payload["type"] for hook in hooks) == [
        "verification.completed",
        "verification.initiated",
    ]
    [initiated] = of_type(hooks, "verification.initiated")
    [completed] = of_type(hooks, "verification.completed")
    assert initiated.webhook_id != completed.webhook_id
    for hook in (initiated, completed):
        assert Webhook(endpoint["secret"]).verify(hook.body, hook.headers) == hook.payload
        assert hook.headers["webhook-signature"].startswith("v1,")
        assert hook.headers["content-type"] == "application/json"
    assert initiated.payload["id"] == generated["id"]
    assert initiated.payload["data"]["recordVerificationId"] == record_id
    assert initiated.payload["data"]["attemptNumber"] == 1
    assert initiated.payload["data"]["student"] == {"studentId": ada["studentId"]}

    body = completed.payload
    assert set(body) == {"id", "type", "createdAt", "data"}
    assert (body["id"], body["createdAt"]) == (scored["id"], scored["occurredAt"])
    expected = {**msgspec.to_builtins(submitted), "student": {"studentId": ada["studentId"]}}
    assert body["data"] == expected
    assert body["data"]["result"]["score"] == 80
    assert body["data"]["result"]["passed"] is True
    assert body["data"]["webhook"] == {"sent": True, "status": "queued"}

    # Exactly one result email, to the student, in plain text and HTML.
    [mail] = mails
    assert mail.rcpt_tos == [ada["email"]]
    assert mail.message["To"] == ada["email"]
    subject = str(mail.message["Subject"])
    assert "React" in subject
    assert "80" in subject
    assert "passed" in subject.lower()
    assert "not" not in subject.lower()
    assert "fail" not in subject.lower()
    plain = mail.message.get_body(("plain",))
    html = mail.message.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert "80%" in plain.get_content()
    assert "80%" in html.get_content()


def test_a_broker_outage_delays_webhooks_and_emails_but_loses_and_doubles_nothing(
    service: Services,
    broker: Broker,
    pg_url: str,
    topic: str,
) -> None:
    # Every webhook-id is refused once (503) and accepted on its retry.
    with receiving(failures_per_id=1) as receiver, smtp_server() as (smtp_port, mailbox):
        register_endpoint(service, receiver.url_for("/all"))
        register_endpoint(service, receiver.url_for("/completed"), ["verification.completed"])
        paths = ("/all", "/completed")
        settings = consumer_settings(pg_url, broker, topic, smtp_port)
        students = [student(name) for name in ("cy", "dee", "eve", "fay")]
        records: list[str] = []
        with running_processes(settings):
            # Up and running: a first submit goes all the way.
            records.append(submit(service, students[0], correct=10)[0])
            wait_until(
                lambda: all(delivered(receiver.hooks(), records[0], p) for p in paths),
                "the first completed webhooks",
            )
            wait_until(lambda: bool(mailed_to(mailbox, students[0]["email"])), "the first email")
            broker.pause()
            published = Tracker(service.store, RELAY).position  # what the relay recorded
            stored_before = service.store.recorder.max_notification_id() or 0
            try:
                for n, who in enumerate(students[1:]):
                    record_id, submitted = submit(service, who, correct=3 * n + 2)
                    assert submitted.webhook.sent is True  # the write side needs no Kafka
                    records.append(record_id)
                # Held longer than the relay's request timeout (5 s) and the groups' session
                # (6 s), so both meet the outage; meanwhile the relay sent what was stored
                # and can have recorded none of it as published.
                time.sleep(7)
                assert published() <= stored_before
            finally:
                broker.resume()
            outage_over = time.monotonic()
            wait_until(
                lambda: all(
                    delivered(receiver.hooks(), record_id, path)
                    for record_id in records
                    for path in paths
                ),
                "every completed webhook after the outage",
            )
            wait_until(
                lambda: all(mailed_to(mailbox, who["email"]) for who in students),
                "every result email after the outage",
            )
            print(f"caught up {time.monotonic() - outage_over:.1f} s after the outage")
            # Every event is redelivered once more: the groups must not act on it twice.
            redeliver_everything(broker.bootstrap, topic, service)
        hooks, mails = receiver.hooks(), mailbox.mails()

    completed = of_type(hooks, "verification.completed")
    assert not of_type(
        [hook for hook in hooks if hook.path == "/completed"], "verification.initiated"
    )
    # One webhook-id per submit and endpoint; every retry of it carries the same id and body.
    ids: set[str] = set()
    for record_id in records:
        for path in paths:
            tries = [hook for hook in for_record(completed, record_id) if hook.path == path]
            [webhook_id] = {hook.webhook_id for hook in tries}
            assert [hook.status for hook in tries] == [503, 200]
            assert len({hook.body for hook in tries}) == 1
            ids.add(webhook_id)
    assert len(ids) == len(records) * len(paths)
    # The same event behind both endpoints' deliveries of a submit, a different one per submit.
    assert len({hook.payload["id"] for hook in completed}) == len(records)

    # Exactly one email per submit, to its student.
    assert sorted(str(mail.message["To"]) for mail in mails) == sorted(
        who["email"] for who in students
    )
    assert len({mail.message["Message-ID"] for mail in mails}) == len(students)
