"""`assess audit` on SQLite and PostgreSQL: a changed stored row is caught by `verify --store`,
a changed bundle line by `verify DIR` and by the bundle's own verifier, run apart from the
project; and the key is made once."""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from click.testing import CliRunner, Result

from entrypoints.bootstrap import Services
from entrypoints.cli import main
from infrastructure.auditbundle import stored_events
from infrastructure.auditlog import AuditLog
from infrastructure.database import is_postgres, transaction
from infrastructure.signing import AuditKey
from tests.processes import assess, running, server
from tests.support import MASTER_KEY, Clock, make_service, take_attempt

PROJECT = {"domain", "application", "infrastructure", "projections", "consumers", "api", "tests"}


@pytest.fixture
def service(store_url: str, tmp_path: Path) -> Iterator[Services]:
    service = make_service(store_url, Clock(), data_dir=tmp_path)
    yield service
    service.store.close()


def audit(service: Services, *args: str) -> Result:
    """Run `assess audit ARGS` on the service's store and data folder."""
    env = {"ASSESS_DATABASE_URL": service.settings.store_url, "ASSESS_MASTER_KEY": MASTER_KEY}
    data = ["--data", str(service.settings.data_dir)]
    return CliRunner().invoke(main, ["audit", *args, *data], env=env)


def checkpointed_twice(service: Services) -> tuple[int, int]:
    """Two attempts, each followed by `assess audit checkpoint`; the two sizes."""
    sizes = []
    for correct in (3, 9):
        take_attempt(service, correct=correct)
        result = audit(service, "checkpoint")
        assert result.exit_code == 0, result.output
        sizes.append(int(result.output.split("size ")[1].split(":")[0]))
    return sizes[0], sizes[1]


def overwrite_stored_bytes(service: Services, position: int) -> None:
    """Change the stored bytes of the event at a position of the log, in the database."""
    table = service.store.recorder.events_table_name  # type: ignore[attr-defined]
    column = "notification_id" if is_postgres(service.store) else "rowid"
    notification_id = list(AuditLog(service.store).leaves())[position][0]
    with transaction(service.store) as sql:
        changed = sql.run(
            f"UPDATE {table} SET state = ? WHERE {column} = ?",
            b'{"tampered":true}',
            notification_id,
        )
    assert changed == 1


def test_verify_store_names_the_stored_row_that_changed(service: Services) -> None:
    first, second = checkpointed_twice(service)
    take_attempt(service, correct=5)
    service.audit_follower().catch_up()  # in the log, not checkpointed
    result = audit(service, "verify", "--store")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")
    assert f"2 checkpoints (latest: size {second}," in result.output

    overwrite_stored_bytes(service, first + 2)
    result = audit(service, "verify", "--store")
    assert result.exit_code == 1
    assert f"FAIL at position {first + 2}: " in result.output


def test_verify_store_catches_an_event_removed_after_the_last_checkpoint(
    service: Services,
) -> None:
    _, second = checkpointed_twice(service)
    take_attempt(service, correct=5)
    service.audit_follower().catch_up()
    overwrite_stored_bytes(service, second + 1)  # a leaf no checkpoint covers yet
    result = audit(service, "verify", "--store")
    assert result.exit_code == 1
    assert f"FAIL at position {second + 1}: " in result.output


def run_verifier(bundle: Path) -> subprocess.CompletedProcess[str]:
    """The bundle's verify.py, run as an auditor would: a separate Python, isolated (-I: no
    PYTHONPATH, no user site, not the working directory), from the bundle's folder, with
    every import it makes reported (-X importtime)."""
    return subprocess.run(
        [sys.executable, "-I", "-X", "importtime", "verify.py"],
        cwd=bundle,
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def imported(stderr: str) -> set[str]:
    """The top-level modules -X importtime reported."""
    return {
        line.split("|")[-1].strip().split(".")[0]
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def test_a_changed_bundle_line_fails_both_verifiers(service: Services, tmp_path: Path) -> None:
    first, second = checkpointed_twice(service)
    bundle = tmp_path / "bundle"
    result = audit(service, "export", "--out", str(bundle))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in bundle.iterdir()) == [
        "checkpoints.jsonl",
        "entries.jsonl",
        "public-key.pem",
        "verify.py",
    ]
    source = ast.parse((bundle / "verify.py").read_text())
    modules = {
        name.split(".")[0]
        for node in ast.walk(source)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    assert modules <= set(sys.stdlib_module_names) | {"__future__", "cryptography"}
    lines = (bundle / "entries.jsonl").read_text().splitlines()
    assert len(lines) == second
    assert audit(service, "verify", str(bundle)).exit_code == 0
    clean = run_verifier(bundle)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.startswith(f"ok: {second} entries, 2 checkpoints")
    assert "cryptography" in imported(clean.stderr)
    assert imported(clean.stderr) & PROJECT == set()

    changed = json.loads(lines[first + 1])
    changed["storedSha256"] = "0" * 64  # still a well-formed entry
    lines[first + 1] = json.dumps(changed, sort_keys=True, separators=(",", ":"))
    (bundle / "entries.jsonl").write_text("\n".join(lines) + "\n")
    expected = f"FAIL at position {first}: the checkpoint of size {second}"
    result = audit(service, "verify", str(bundle))
    assert result.exit_code == 1
    assert expected in result.output
    offline = run_verifier(bundle)
    assert offline.returncode == 1
    assert expected in offline.stdout

    del lines[first + 1]  # a line taken out: the exact position
    (bundle / "entries.jsonl").write_text("\n".join(lines) + "\n")
    offline = run_verifier(bundle)
    assert offline.returncode == 1
    assert f"FAIL at position {first + 1}: it says position {first + 2}" in offline.stdout


def test_a_changed_checkpoint_fails_the_offline_verifier(service: Services, tmp_path: Path) -> None:
    first, second = checkpointed_twice(service)
    bundle = tmp_path / "bundle"
    assert audit(service, "export", "--out", str(bundle)).exit_code == 0
    checkpoints = (bundle / "checkpoints.jsonl").read_text().splitlines()
    later = json.loads(checkpoints[1])
    later["time"] = "2020-01-01T00:00:00.000Z"  # signed text changed: the signature fails
    (bundle / "checkpoints.jsonl").write_text(f"{checkpoints[0]}\n{json.dumps(later)}\n")
    offline = run_verifier(bundle)
    assert offline.returncode == 1
    assert f"FAIL at position {first}: the checkpoint of size {second}: its signature" in (
        offline.stdout
    )


def test_a_checkpoint_of_a_log_that_has_not_grown_says_nothing_new_was_signed(
    service: Services,
) -> None:
    take_attempt(service, correct=9)
    first = audit(service, "checkpoint")
    again = audit(service, "checkpoint")
    assert (first.exit_code, again.exit_code) == (0, 0), first.output + again.output
    assert "nothing new to sign" not in first.output
    assert again.output.splitlines() == [
        "the log has not grown since its latest checkpoint: nothing new to sign",
        first.output.strip(),
    ]


def test_the_key_is_made_once_and_never_replaced(tmp_path: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(main, ["audit", "keygen", "--data", str(tmp_path)])
    assert made.exit_code == 0, made.output
    key = tmp_path / "audit-ed25519.pem"
    assert "-----BEGIN PUBLIC KEY-----" in made.stdout
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    again = runner.invoke(main, ["audit", "keygen", "--data", str(tmp_path)])
    assert again.exit_code == 1
    assert "already holds the log's key" in again.output
    assert key.read_bytes() == before


def test_assess_dev_checkpoints_by_itself_and_proves_an_event(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    env = {"ASSESS_AUDIT_CHECKPOINT_SECONDS": "1"}
    with server("dev", "--data", data, env=env, log=tmp_path / "dev.log") as url:
        key = assess("keys", "create", "--tenant", "acme", "--data", data).splitlines()[-1]
        started = httpx.post(
            f"{url}/api/v1/verify",
            headers={"x-api-key": key},
            json={
                "student": {"studentId": "s1", "name": "Ada", "email": "ada@example.com"},
                "skills": [{"skillId": "skill_001", "name": "React"}],
            },
        )
        record_id = started.json()["data"]["recordVerificationId"]
        proof = _poll(f"{url}/api/v1/audit/proof/{record_id}/1", key)
        assert proof["size"] > proof["position"]
        assert "ok:" in assess("audit", "verify", "--store", "--data", data)


def _poll(url: str, key: str) -> dict[str, Any]:
    """The proof, once a checkpoint covers the event (assess dev signs every second)."""
    deadline = time.monotonic() + 30
    while True:
        answer = httpx.get(url, headers={"x-api-key": key})
        if answer.status_code == 200 or time.monotonic() > deadline:
            assert answer.status_code == 200, answer.text
            data: dict[str, Any] = answer.json()["data"]
            return data
        time.sleep(0.2)


def test_the_projector_signs_a_checkpoint_every_n_events(pg_url: str, tmp_path: Path) -> None:
    service = make_service(pg_url, data_dir=tmp_path)
    record_id = take_attempt(service, correct=7)
    assert service.credential_issuer().issue(UUID(record_id[-32:])) == 1  # before the projector
    log, total = AuditLog(service.store), sum(1 for _ in stored_events(service.store))
    signing = tmp_path / "signing.pem"
    env = {
        "ASSESS_DATABASE_URL": pg_url,
        "ASSESS_MASTER_KEY": MASTER_KEY,
        "ASSESS_AUDIT_CHECKPOINT_EVENTS": "5",
        "ASSESS_AUDIT_KEY_FILE": str(signing),
    }
    with running("projector", env=env, log=tmp_path / "projector.log"):
        deadline = time.monotonic() + 60
        while (latest := log.checkpoint()) is None or latest.size < total:
            assert time.monotonic() < deadline, (tmp_path / "projector.log").read_text()
            time.sleep(0.2)
    published = tmp_path / "published.pem"
    published.write_bytes(AuditKey.load(signing).public_pem)
    result = audit(service, "verify", "--store", "--public-key", str(published))
    assert result.exit_code == 0, result.output
    assert f"ok: {total} entries, 1 checkpoint (" in result.output
    service.store.close()
