"""Logs carry ids, never a student's name or address, a key, a token or a secret: checked
on every record that a whole flow logs, retries and failures included."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from api.app import create_app
from tests.processes import free_port
from tests.receivers import Mailbox, receiving, smtp_server
from tests.support import ACME, REACT, STUDENT, Clock, answer_sheet, fanning_out, make_service

API = "/api/v1"
# The test's own servers log what they receive; the service's loggers are what is checked.
TEST_SERVERS = ("mail.log",)


class Greylisting(Mailbox):
    """Refuses each recipient for now (450) the first time, then accepts it."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address not in self.seen:
            self.seen.add(address)
            return "450 4.2.0 greylisted, try again later"
        return await super().handle_RCPT(server, session, envelope, address, options)


@contextmanager
def capturing(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every record, at every level. The app's logging config replaces the root logger's
    handlers when the app starts, pytest's capturing handler with them: put it back."""
    root = logging.getLogger()
    level = root.level
    root.addHandler(caplog.handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(caplog.handler)
        root.setLevel(level)


def logged(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """Every record of the service's loggers: its logger name and its text with any trace."""
    formatter = logging.Formatter()
    return [
        (record.name, formatter.format(record))
        for record in caplog.records
        if not record.name.startswith(TEST_SERVERS)
    ]


def test_a_whole_flow_logs_no_personal_data_and_no_secret(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    smtp_port = free_port()
    service = make_service(
        f"sqlite:///{tmp_path / 'assess.sqlite3'}",
        clock,
        smtp_url=f"smtp://127.0.0.1:{smtp_port}",
        outbox_dir=tmp_path / "outbox",
        webhook_allow_private=True,
        webhook_retry_schedule="0.2,0.2",
    )
    key = service.access.issue_key("acme", "live")
    tenant = {"x-api-key": key}
    with (
        smtp_server(smtp_port, Greylisting()) as (_, mailbox),
        receiving((500, {}), (200, {})) as receiver,
        TestClient(create_app(service)) as client,
        capturing(caplog),
        fanning_out(service),
    ):
        hook_url = receiver.url_for("/hooks").replace("//", "//hooks:hook-pa55word@", 1)
        response = client.post(f"{API}/webhooks", json={"url": hook_url}, headers=tenant)
        assert response.status_code == 201, response.text
        endpoint_secret = response.json()["data"]["secret"]
        callback = receiver.url_for("/callback?token=callback-t0ken")
        body = {"student": STUDENT, "skills": [REACT], "callbackWebhookUrl": callback}
        response = client.post(f"{API}/verify", json=body, headers=tenant)
        assert response.status_code == 201, response.text
        started = response.json()["data"]
        session = {"x-api-key": started["sessionToken"]}
        assert client.post(f"{API}/assessment/generate", headers=session).status_code == 200
        answers = answer_sheet(service, started["recordVerificationId"], 9)
        response = client.post(
            f"{API}/assessment/submit", json={"answers": answers}, headers=session
        )
        assert response.status_code == 200, response.text
        [email] = mailbox.wait_for(1)
        # initiated and completed, to the endpoint and the callback: one 500 first, then 200s
        receiver.wait_for(5)
        callback_secret = service.webhooks.callback_secret(ACME)

    assert str(email["To"]) == STUDENT["email"]
    assert {hook.status for hook in receiver.hooks()} == {500, 200}
    secrets = {
        "student name": STUDENT["name"],
        "student email": STUDENT["email"],
        "session token": started["sessionToken"],
        "tenant key": key,
        "endpoint secret": endpoint_secret,
        "callback secret": callback_secret,
        "URL password": "hook-pa55word",
        "URL token": "callback-t0ken",
    }
    records = logged(caplog)
    assert any(name.startswith("assess") for name, _ in records)  # logs were captured
    leaks = [
        (what, name, text)
        for name, text in records
        for what, value in secrets.items()
        if value in text
    ]
    assert not leaks, "\n".join(map(str, leaks))
