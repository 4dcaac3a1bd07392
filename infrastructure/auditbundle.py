"""The audit log for auditors: the bundle `assess audit export` writes, and the check of the
live store (its stored events hashed again) against its signed checkpoints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventsourcing.persistence import Notification

from application.store import EventStore
from infrastructure import auditverify
from infrastructure.auditlog import AuditLog, entry_of
from infrastructure.auditverify import Failed, Failure, check
from infrastructure.database import transaction
from infrastructure.signing import public_pem

VERIFIER = "verify.py"


def export(store: EventStore, folder: Path) -> int:
    """Write the bundle of every checkpointed leaf into folder: entries.jsonl,
    checkpoints.jsonl, public-key.pem (the key of the latest checkpoint) and the offline
    verifier; return the number of entries (0, writing nothing, before any checkpoint)."""
    log = AuditLog(store)
    checkpoints = log.checkpoints()
    if not checkpoints:
        return 0
    size = checkpoints[-1].size
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "entries.jsonl").open("w", encoding="utf-8", newline="\n") as entries:
        for written, (_, entry) in enumerate(log.leaves()):
            if written == size:
                break
            entries.write(entry + "\n")
    with (folder / "checkpoints.jsonl").open("wb") as lines:
        for checkpoint in checkpoints:
            lines.write(msgspec.json.encode(checkpoint) + b"\n")
    (folder / "public-key.pem").write_bytes(public_pem(checkpoints[-1].public_key))
    (folder / VERIFIER).write_bytes(Path(auditverify.__file__).read_bytes())
    return size


def stored_events(store: EventStore, batch: int = 1000) -> Iterator[Notification]:
    """Every stored event, in notification order, as the store holds it."""
    start = 1
    while notifications := store.recorder.select_notifications(start=start, limit=batch):
        yield from notifications
        start = notifications[-1].id + 1


def verify_store(store: EventStore, public_key: Ed25519PublicKey) -> str:
    """Check each leaf against the stored event it was made from (hashed again now), the
    checkpoints' signatures, and their roots both from those events and from the stored
    nodes that proofs read; a summary, or Failed at the first position that does not hold."""
    log = AuditLog(store)
    checkpoints = log.checkpoints()
    waiting = 0  # stored events the follower has not appended yet

    def entries() -> Iterator[bytes]:
        nonlocal waiting
        leaves, matched = log.leaves(), 0
        for position, event in enumerate(stored_events(store)):
            leaf = next(leaves, None)
            if leaf is None:
                waiting += 1
                continue
            entry = entry_of(position, event)
            if leaf[1] != entry:
                why = (
                    "the stored event differs from the one its leaf was made from"
                    if leaf[0] == event.id
                    else f"the leaf is of notification {leaf[0]}: an event was removed or added"
                )
                raise Failed(Failure(position, f"notification {event.id}: {why}"))
            matched += 1
            yield entry.encode()
        for notification_id, _ in leaves:
            raise Failed(Failure(matched, f"notification {notification_id} is gone"))

    summary = check(
        entries(), [msgspec.to_builtins(c) for c in checkpoints], public_key, uncovered=True
    )
    covered = 0
    with transaction(store, commit=False) as sql:
        for checkpoint in checkpoints:
            try:
                root = log.root(sql, checkpoint.size).hex()
            except KeyError:  # a node is missing
                root = None
            if root != checkpoint.root_hash:
                why = f"the stored nodes proofs read disagree with checkpoint {checkpoint.size}"
                raise Failed(Failure(covered, why))
            covered = checkpoint.size
    return f"{summary}; {waiting} stored events not yet in the log" if waiting else summary
