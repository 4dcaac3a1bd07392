"""Webhooks and result emails without Kafka: the embedded fan-out, real receivers."""

from __future__ import annotations

import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from litestar.testing import TestClient
from standardwebhooks.webhooks import Webhook

from api.app import create_app
from entrypoints.bootstrap import Services
from tests.processes import free_port
from tests.receivers import Mailbox, receiving, smtp_server
from tests.support import (
    ACME,
    STUDENT,
    Clock,
    fanning_out,
    make_service,
    register_endpoint,
    take_attempt,
)


def fanout_service(tmp_path: Path, clock: Clock, **settings: Any) -> Services:
    url = f"sqlite:///{tmp_path / 'assess.sqlite3'}"
    settings.setdefault("outbox_dir", tmp_path / "outbox")  # never the working tree's ./var
    return make_service(
        url, clock, webhook_allow_private=True, webhook_retry_schedule="0.3,0.3", **settings
    )


def test_a_completed_webhook_is_signed_retried_with_one_id_and_logged(
    tmp_path: Path, clock: Clock
) -> None:
    service = fanout_service(tmp_path, clock)
    key = service.access.issue_key("acme", "live")
    with (
        receiving((500, {}), (200, {})) as receiver,
        fanning_out(service),
        TestClient(create_app(service)) as client,
    ):
        endpoint = register_endpoint(service, receiver.url, ["verification.completed"])
        record_id = take_attempt(service, 8)
        first, second = receiver.wait_for(2)
        assert first.webhook_id == second.webhook_id
        payload = Webhook(endpoint["secret"]).verify(second.body, second.headers)
        assert payload["type"] == "verification.completed"
        assert set(payload) == {"id", "type", "createdAt", "data"}
        data = payload["data"]
        assert data["recordVerificationId"] == record_id
        assert data["student"] == {"studentId": STUDENT["studentId"]}
        assert (data["result"]["score"], data["result"]["passed"]) == (80, True)
        assert data["verifiedSkills"][0]["status"] == "verified"
        assert data["webhook"] == {"sent": True, "status": "queued"}

        path = f"/api/v1/webhooks/{endpoint['id']}/deliveries"
        deliveries = client.get(path, headers={"x-api-key": key}).json()["data"]
        [delivery] = deliveries["items"]
        assert (delivery["status"], delivery["type"]) == ("delivered", "verification.completed")
        assert [t["statusCode"] for t in delivery["tries"]] == [500, 200]
        assert delivery["tries"][0]["error"] == "HTTP 500"

        redeliver = f"/api/v1/webhook-deliveries/{delivery['id']}/redeliver"
        assert client.post(redeliver, headers={"x-api-key": key}).status_code == 200
        third = receiver.wait_for(3)[2]
        assert third.webhook_id == first.webhook_id
        other = service.access.issue_key("other", "live")
        assert client.post(redeliver, headers={"x-api-key": other}).status_code == 404


def test_a_record_callback_is_signed_with_the_tenant_callback_secret(
    tmp_path: Path, clock: Clock
) -> None:
    service = fanout_service(tmp_path, clock)
    with receiving((200, {})) as receiver, fanning_out(service):
        record_id = take_attempt(service, 2, callback=receiver.url)
        initiated, completed = receiver.wait_for(2)
    secret = service.webhooks.callback_secret(ACME)
    verified = [Webhook(secret).verify(hook.body, hook.headers) for hook in (initiated, completed)]
    # Deliveries go out side by side: the two may arrive in either order.
    payloads = sorted(verified, key=lambda payload: payload["type"] != "verification.initiated")
    assert [p["type"] for p in payloads] == ["verification.initiated", "verification.completed"]
    assert payloads[0]["data"]["recordVerificationId"] == record_id
    assert payloads[1]["data"]["result"]["passed"] is False
    assert payloads[1]["data"]["verifiedSkills"][0]["status"] == "rejected"


def test_after_the_last_try_a_delivery_is_failed_and_kept(tmp_path: Path, clock: Clock) -> None:
    service = fanout_service(tmp_path, clock)
    with (
        receiving((302, {"location": "http://example.invalid/"})) as receiver,
        fanning_out(service),
    ):
        endpoint = register_endpoint(service, receiver.url)
        take_attempt(service, 10)
        receiver.wait_for(6)  # initiated and completed: 3 tries each (3xx counts as failure)
        items = wait_for_statuses(service, endpoint["id"], {"failed"})
    assert [len(item["tries"]) for item in items] == [3, 3]
    assert {t["statusCode"] for item in items for t in item["tries"]} == {302}


def wait_for_statuses(
    service: Services, endpoint_id: str, statuses: set[str]
) -> list[dict[str, Any]]:
    for _ in range(200):
        items, _ = service.deliveries.page("acme", "live", endpoint_id, 100, None)
        if items and {item["status"] for item in items} == statuses:
            return items
        threading.Event().wait(0.05)
    raise AssertionError(f"deliveries never became {statuses}: {items}")


def test_retry_after_is_honoured(tmp_path: Path, clock: Clock) -> None:
    service = fanout_service(tmp_path, clock)
    with receiving((503, {"retry-after": "2"}), (200, {})) as receiver, fanning_out(service):
        register_endpoint(service, receiver.url, ["verification.completed"])
        take_attempt(service, 10)
        first, second = receiver.wait_for(2)
    assert second.at - first.at >= 1.9  # not the 0.3 s of the schedule


def test_a_private_target_is_refused_at_delivery_unless_allowed(
    tmp_path: Path, clock: Clock
) -> None:
    service = fanout_service(tmp_path, clock)
    with receiving((200, {})) as receiver:
        endpoint = register_endpoint(service, receiver.url, ["verification.completed"])
        strict = make_service(
            service.settings.store_url,
            clock,
            webhook_retry_schedule="0.1",
            outbox_dir=service.settings.outbox,
        )
        with fanning_out(strict):
            take_attempt(strict, 10)
            items = wait_for_statuses(strict, endpoint["id"], {"failed"})
    assert receiver.hooks() == []
    assert "refused" in items[0]["tries"][0]["error"]


def test_one_result_email_per_submit_over_smtp(tmp_path: Path, clock: Clock) -> None:
    port = free_port()
    service = fanout_service(tmp_path, clock, smtp_url=f"smtp://127.0.0.1:{port}")
    with smtp_server(port) as (_, mailbox), fanning_out(service):
        take_attempt(service, 3)
        take_attempt(service, 9)
        emails = mailbox.wait_for(2)
        threading.Event().wait(1.0)
        assert len(mailbox.messages) == 2  # and no more
    subjects = sorted(str(email["Subject"]) for email in emails)
    assert subjects == ["React: not passed, score 30%", "React: passed, score 90%"]
    assert {str(email["To"]) for email in emails} == {STUDENT["email"]}
    for email in emails:
        assert {part.get_content_type() for part in email.walk()} >= {"text/plain", "text/html"}
        assert str(email["Message-ID"]).endswith("@assess>")


def test_an_email_waits_for_smtp_and_arrives_once(tmp_path: Path, clock: Clock) -> None:
    port = free_port()
    service = fanout_service(tmp_path, clock, smtp_url=f"smtp://127.0.0.1:{port}")
    mailbox = Mailbox()
    with fanning_out(service):
        take_attempt(service, 5)
        threading.Event().wait(2.5)  # the SMTP server is down: tries fail and wait
        assert mailbox.messages == []
        with smtp_server(port, mailbox):
            mailbox.wait_for(1)
            threading.Event().wait(1.5)
    assert len(mailbox.messages) == 1


def test_without_smtp_emails_land_in_the_outbox_once(tmp_path: Path, clock: Clock) -> None:
    service = fanout_service(tmp_path, clock, outbox_dir=tmp_path / "outbox")
    with fanning_out(service):
        take_attempt(service, 7)
        for _ in range(100):
            if list((tmp_path / "outbox").glob("*.eml")):
                break
            threading.Event().wait(0.05)
    [eml] = list((tmp_path / "outbox").glob("*.eml"))
    assert b"Subject: React: passed, score 70%" in eml.read_bytes()


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("ERROR")


def test_emails_go_over_starttls_with_login(
    tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test server's certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[tuple[str, str]] = []

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"s3cret")

    port = free_port()
    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )
    controller.start()
    try:
        url = f"smtp://mailer:s3cret@127.0.0.1:{port}?starttls=true"
        service = fanout_service(tmp_path, clock, smtp_url=url)
        with fanning_out(service):
            take_attempt(service, 9)
            [email] = mailbox.wait_for(1)
    finally:
        controller.stop()
    assert logins == [("mailer", "s3cret")]
    assert str(email["Subject"]) == "React: passed, score 90%"
