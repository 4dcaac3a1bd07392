"""Secrets at rest: the embedded data folder is its owner's alone (0700, files 0600: the
store, its write-ahead log, the master key, the outbox's emails with live reviewer links),
and webhook signing secrets are sealed in the store, so that a copy of its files alone
signs nothing; the deliveries are still signed with them."""

from __future__ import annotations

import stat
from pathlib import Path

from litestar.testing import TestClient
from standardwebhooks import Webhook

from api.app import create_app
from application.settings import Settings
from infrastructure.credential_keys import CredentialKeys
from tests.receivers import receiving
from tests.support import REACT, STUDENT, Clock, fanning_out, make_service, project, public_messages


def modes(folder: Path) -> dict[str, str]:
    """Each path under folder (itself included) and its permission bits, in octal."""
    paths = [folder, *folder.rglob("*")]
    return {str(path.relative_to(folder)): oct(stat.S_IMODE(path.stat().st_mode)) for path in paths}


def test_the_data_folder_and_every_file_in_it_are_the_owners_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Settings(data_dir=data).master_secret()  # made there when none is given
    service = make_service(f"sqlite:///{data / 'assess.sqlite3'}", Clock(), data_dir=data)
    key = service.access.issue_key("acme", "live")
    with TestClient(create_app(service)) as client:
        body = {"method": "human_endorsement", "student": STUDENT, "skills": [REACT]}
        started = client.post("/api/v1/verify", json=body, headers={"x-api-key": key}).json()
        invite = {"name": "Grace", "email": "grace@example.com", "endorsementType": "peer"}
        session = {"x-api-key": started["data"]["sessionToken"]}
        assert (
            client.post(
                "/api/v1/humanverification/reviewer", json=invite, headers=session
            ).status_code
            == 200
        )
        project(service)
        emails = service.emails()
        for message in public_messages(service):
            emails.handle(message)  # the invitation, with its live link, to the outbox
        found = modes(data)  # while the store is open: its -wal and -shm files too
    service.store.close()
    assert {"assess.sqlite3-wal", "master.key", "outbox"} <= set(found)
    assert any(name.endswith(".eml") for name in found)
    folders = {name for name in found if (data / name).is_dir()}
    assert {name: found[name] for name in folders} == dict.fromkeys(folders, "0o700")
    files = set(found) - folders
    assert {name: found[name] for name in files} == dict.fromkeys(files, "0o600")


def test_webhook_secrets_are_sealed_in_the_store_and_still_sign(tmp_path: Path) -> None:
    data = tmp_path / "data"
    service = make_service(
        f"sqlite:///{data / 'assess.sqlite3'}",
        Clock(),
        data_dir=data,
        webhook_allow_private=True,
    )
    key = {"x-api-key": service.access.issue_key("acme", "live")}
    with (
        receiving((200, {})) as receiver,
        TestClient(create_app(service)) as client,
    ):
        registered = client.post(
            "/api/v1/webhooks", json={"url": receiver.url_for("/hooks")}, headers=key
        )
        endpoint_secret = registered.json()["data"]["secret"]
        callback_secret = client.get("/api/v1/webhooks/callback-secret", headers=key).json()[
            "data"
        ]["secret"]
        rotated = client.post("/api/v1/webhooks/callback-secret/rotate", headers=key).json()[
            "data"
        ]["secret"]
        body = {
            "student": STUDENT,
            "skills": [REACT],
            "callbackWebhookUrl": receiver.url_for("/cb"),
        }
        started = client.post("/api/v1/verify", json=body, headers=key).json()["data"]
        session = {"x-api-key": started["sessionToken"]}
        assert client.post("/api/v1/assessment/generate", headers=session).status_code == 200
        with fanning_out(service):
            hooks = receiver.wait_for(2)
        stored = (data / "assess.sqlite3").read_bytes() + (data / "assess.sqlite3-wal").read_bytes()
    service.store.close()
    for secret in (endpoint_secret, callback_secret, rotated):
        assert secret.startswith("whsec_")
        assert secret.encode() not in stored
    assert b"whsec_" not in stored
    signed_by = {hook.path: hook for hook in hooks}
    Webhook(endpoint_secret).verify(signed_by["/hooks"].body, signed_by["/hooks"].headers)
    Webhook(rotated).verify(signed_by["/cb"].body, signed_by["/cb"].headers)


def test_a_file_named_in_a_shared_folder_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    """A store or a key named in a folder the service does not own (/tmp, /etc/assess) is
    made 0600; the folder keeps its mode (made 0700 only when the service makes it)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    service = make_service(f"sqlite:///{shared / 'assess.sqlite3'}", Clock(), data_dir=tmp_path)
    CredentialKeys.load_or_create(shared / "credentials.pem")
    service.store.close()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    for name in ("assess.sqlite3", "credentials.pem"):
        assert stat.S_IMODE((shared / name).stat().st_mode) == 0o600
    made = tmp_path / "made" / "keys"
    CredentialKeys.load_or_create(made / "credentials.pem")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
