"""The audit log on SQLite and PostgreSQL: one leaf per stored event, signed checkpoints, and
proofs over HTTP that check with RFC 9162's own steps (tests/rfc9162.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from entrypoints.bootstrap import Services
from infrastructure.auditlog import AuditLog
from infrastructure.database import is_postgres, transaction
from tests.api.http import assert_error
from tests.rfc9162 import mth, verify_consistency, verify_inclusion
from tests.support import Clock, make_service, take_attempt

AUDIT = "/api/v1/audit"


@pytest.fixture
def service(store_url: str, tmp_path: Path) -> Iterator[Services]:
    service = make_service(store_url, Clock(), data_dir=tmp_path)
    yield service
    service.store.close()


@pytest.fixture
def client(service: Services) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(service)) as client:
        yield client


def stored_rows(service: Services) -> list[dict[str, Any]]:
    """Every row of the events table as the database holds it, in notification order."""
    table = service.store.recorder.events_table_name  # type: ignore[attr-defined]
    order = "notification_id" if is_postgres(service.store) else "rowid"
    with transaction(service.store, commit=False) as sql:
        rows = sql.all(
            f"SELECT {order} AS id, originator_id, originator_version, topic, state"
            f" FROM {table} ORDER BY {order}"
        )
    return [dict(row) for row in rows]


def expected_entries(service: Services) -> list[bytes]:
    """SPEC's entry of each stored row, made here from the raw rows."""
    return [
        rfc8785.dumps(
            {
                "position": position,
                "notificationId": row["id"],
                "stream": str(UUID(str(row["originator_id"]))),
                "version": row["originator_version"],
                "type": row["topic"],
                "storedSha256": hashlib.sha256(bytes(row["state"])).hexdigest(),
            }
        )
        for position, row in enumerate(stored_rows(service))
    ]


def leaves(service: Services) -> list[bytes]:
    return [entry.encode() for _, entry in AuditLog(service.store).leaves()]


def signed(checkpoint: dict[str, Any]) -> bool:
    """Whether the checkpoint's signature verifies with the key it names."""
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(checkpoint["publicKey"]))
    text = "{origin}\n{size}\n{rootHash}\n{time}\n".format(**checkpoint).encode()
    try:
        key.verify(base64.b64decode(checkpoint["signature"]), text)
    except Exception:
        return False
    return True


def test_each_stored_event_is_one_leaf_in_notification_order(
    service: Services,
) -> None:
    take_attempt(service, correct=3)
    service.access.issue_key("globex", "test")  # not an assessment event: a leaf too
    take_attempt(service, correct=9)
    stopping = threading.Event()
    followers = [service.audit_follower() for _ in range(2)]
    threads = [threading.Thread(target=f.run, args=(stopping,)) for f in followers]
    for thread in threads:
        thread.start()
    expected = expected_entries(service)
    deadline = time.monotonic() + 30
    while len(leaves(service)) < len(expected) and time.monotonic() < deadline:
        time.sleep(0.05)
    stopping.set()
    for thread in threads:
        thread.join()
    assert leaves(service) == expected  # the two followers' work, each event once
    service.audit_follower().catch_up()
    assert leaves(service) == expected  # nothing was left for a third


def test_proofs_over_http_check_with_rfc_9162(
    service: Services, client: TestClient[Litestar]
) -> None:
    key = service.access.issue_key("acme", "live")
    record_id = take_attempt(service, correct=3)
    follower = service.audit_follower()
    follower.catch_up()
    first = follower.checkpoint()
    assert first is not None
    latest = client.get(f"{AUDIT}/checkpoint").json()["data"]
    assert signed(latest)
    assert bytes.fromhex(latest["rootHash"]) == mth(expected_entries(service))
    assert latest["size"] == first.size == len(stored_rows(service))

    history = service.records.history(None, record_id, None).events
    for event in history:
        answer = client.get(
            f"{AUDIT}/proof/{record_id}/{event.version}", headers={"x-api-key": key}
        )
        proof = answer.json()["data"]
        leaf = hashlib.sha256(b"\x00" + proof["entry"].encode()).digest()
        path = [bytes.fromhex(step) for step in proof["path"]]
        root = bytes.fromhex(proof["rootHash"])
        assert (proof["size"], proof["rootHash"]) == (latest["size"], latest["rootHash"])
        assert verify_inclusion(proof["position"], proof["size"], leaf, path, root)
        assert expected_entries(service)[proof["position"]] == proof["entry"].encode()
        entry = json.loads(proof["entry"])
        assert (entry["stream"], entry["version"]) == (str(UUID(record_id[-32:])), event.version)

    take_attempt(service, correct=9, record_id=record_id)
    follower.catch_up()
    second = follower.checkpoint()
    assert second is not None
    assert second.size > first.size
    by_size = client.get(f"{AUDIT}/checkpoint", params={"size": first.size}).json()["data"]
    assert by_size == latest
    newest = client.get(f"{AUDIT}/checkpoint").json()["data"]
    assert signed(newest)
    answer = client.get(f"{AUDIT}/consistency", params={"from": first.size, "to": second.size})
    proof = answer.json()["data"]
    assert (proof["from"], proof["to"]) == (first.size, second.size)
    path = [bytes.fromhex(step) for step in proof["path"]]
    first_root, second_root = bytes.fromhex(first.root_hash), bytes.fromhex(second.root_hash)
    assert verify_consistency(first.size, second.size, first_root, second_root, path)
    assert not verify_consistency(first.size, second.size, second_root, second_root, path)


def test_an_event_newer_than_the_latest_checkpoint_is_not_yet_checkpointed(
    service: Services, client: TestClient[Litestar]
) -> None:
    key = service.access.issue_key("acme", "live")
    record_id = take_attempt(service, correct=3)
    follower = service.audit_follower()
    follower.catch_up()
    follower.checkpoint()
    version = len(service.records.history(None, record_id, None).events)
    take_attempt(service, correct=9, record_id=record_id)
    newer = f"{AUDIT}/proof/{record_id}/{version + 1}"

    assert_error(client.get(newer, headers={"x-api-key": key}), 404, "NOT_YET_CHECKPOINTED")
    follower.catch_up()  # in the log, not yet in a checkpoint
    assert_error(client.get(newer, headers={"x-api-key": key}), 404, "NOT_YET_CHECKPOINTED")
    follower.checkpoint()
    assert client.get(newer, headers={"x-api-key": key}).status_code == 200
    older = client.get(f"{AUDIT}/proof/{record_id}/{version}", headers={"x-api-key": key})
    assert older.json()["data"]["size"] == len(stored_rows(service))


def test_a_proof_answers_only_the_records_tenant_and_mode(
    service: Services, client: TestClient[Litestar]
) -> None:
    own = service.access.issue_key("acme", "live")
    record_id = take_attempt(service, correct=3)
    follower = service.audit_follower()
    follower.catch_up()
    follower.checkpoint()
    proof = f"{AUDIT}/proof/{record_id}/1"
    session = client.post(
        "/api/v1/verify",
        json={
            "student": {"studentId": "s9", "name": "Ann", "email": "a@example.com"},
            "skills": [{"skillId": "skill_001", "name": "React"}],
        },
        headers={"x-api-key": own},
    ).json()["data"]["sessionToken"]

    assert client.get(proof, headers={"x-api-key": own}).status_code == 200
    for other in (
        service.access.issue_key("globex", "live"),
        service.access.issue_key("acme", "test"),
    ):
        assert_error(client.get(proof, headers={"x-api-key": other}), 404, "VERIFICATION_NOT_FOUND")
    assert_error(client.get(proof), 401, "UNAUTHORIZED")
    assert_error(client.get(proof, headers={"x-api-key": session}), 401, "UNAUTHORIZED")
    unknown = f"{AUDIT}/proof/ver_live_{'0' * 32}/1"
    assert_error(client.get(unknown, headers={"x-api-key": own}), 404, "VERIFICATION_NOT_FOUND")
    beyond = f"{AUDIT}/proof/{record_id}/99"
    assert_error(client.get(beyond, headers={"x-api-key": own}), 404, "NOT_FOUND")
    for version in ("0", "-1", "9" * 30):
        bad = client.get(f"{AUDIT}/proof/{record_id}/{version}", headers={"x-api-key": own})
        assert "version" in assert_error(bad, 400, "VALIDATION_ERROR")
    for version in ("x", "1.5"):  # no such path: versions are whole numbers
        bad = client.get(f"{AUDIT}/proof/{record_id}/{version}", headers={"x-api-key": own})
        assert_error(bad, 404, "NOT_FOUND")


def test_bad_audit_queries_get_a_clear_4xx(service: Services, client: TestClient[Litestar]) -> None:
    assert_error(client.get(f"{AUDIT}/checkpoint"), 404, "NOT_FOUND")
    take_attempt(service, correct=3)
    follower = service.audit_follower()
    follower.catch_up()
    made = follower.checkpoint()
    assert made is not None
    for size in ("0", "-3", "abc", "1.5", "9" * 30):
        assert_error(
            client.get(f"{AUDIT}/checkpoint", params={"size": size}), 400, "VALIDATION_ERROR"
        )
    assert_error(client.get(f"{AUDIT}/checkpoint", params={"size": 1}), 404, "NOT_FOUND")
    consistency = f"{AUDIT}/consistency"
    queries: list[dict[str, str | int]] = [
        {"from": made.size + 1, "to": made.size},
        {"from": 0, "to": made.size},
        {"to": made.size},
        {"from": "x", "to": made.size},
    ]
    for query in queries:
        assert_error(client.get(consistency, params=query), 400, "VALIDATION_ERROR")
    assert_error(client.get(consistency, params={"from": 1, "to": made.size}), 404, "NOT_FOUND")
    same = client.get(consistency, params={"from": made.size, "to": made.size})
    assert same.json()["data"] == {"from": made.size, "to": made.size, "path": []}


def test_checkpoints_come_every_n_events_or_every_s_seconds(store_url: str, tmp_path: Path) -> None:
    service = make_service(
        store_url, data_dir=tmp_path, audit_checkpoint_events=5, audit_checkpoint_seconds=60
    )
    take_attempt(service, correct=3)
    seconds = [0.0]
    follower = service.audit_follower(timer=lambda: seconds[0])
    follower.append(limit=4)
    assert not follower.due()
    follower.append(limit=1)
    assert follower.due()
    made = follower.checkpoint()
    assert made is not None
    assert made.size == 5
    follower.append(limit=1)
    assert not follower.due()
    seconds[0] += 60
    assert follower.due()
    follower.checkpoint()
    seconds[0] += 60
    assert not follower.due()  # nothing new to sign

    stopping = threading.Event()  # the running follower signs by itself
    thread = threading.Thread(target=follower.run, args=(stopping,))
    thread.start()
    total = len(stored_rows(service))
    deadline = time.monotonic() + 30
    log = AuditLog(service.store)
    while (log.checkpoint() or made).size < total and time.monotonic() < deadline:
        time.sleep(0.05)
    stopping.set()
    thread.join()
    latest = log.checkpoint()
    assert latest is not None
    assert latest.size == total
    assert [c.size for c in log.checkpoints()] == [5, 6, total]
    service.store.close()
