"""The audit log: one leaf per stored event, in notification order, in a Merkle tree (RFC
9162) whose complete subtrees are stored, and the signed checkpoints of its roots.

An event's entry is the canonical JSON (RFC 8785) of its position, notification id,
stream, version, type (the stored topic) and the SHA-256 of its stored bytes, read as the
store holds them when the follower appends it. Nothing here ever changes a leaf."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

import msgspec
import rfc8785
from eventsourcing.persistence import Notification

from application.store import EventStore
from infrastructure.auditverify import leaf_hash, node_hash, signed_text
from infrastructure.database import transaction
from infrastructure.merkle import (
    Node,
    Subtree,
    complete_subtrees,
    consistency,
    fold,
    from_nodes,
    inclusion,
    nodes_needed,
)
from infrastructure.signing import AuditKey
from infrastructure.sql import Sql

LEAVES = "audit_leaves"
NODES = "audit_nodes"
CHECKPOINTS = "audit_checkpoints"
AUDIT_TABLES = [
    f"CREATE TABLE IF NOT EXISTS {LEAVES} (position BIGINT PRIMARY KEY,"
    " notification_id BIGINT NOT NULL UNIQUE, stream TEXT NOT NULL, version BIGINT NOT NULL,"
    " entry TEXT NOT NULL, UNIQUE (stream, version))",
    f"CREATE TABLE IF NOT EXISTS {NODES} (level INTEGER NOT NULL, idx BIGINT NOT NULL,"
    " hash TEXT NOT NULL, PRIMARY KEY (level, idx))",
    f"CREATE TABLE IF NOT EXISTS {CHECKPOINTS} (size BIGINT PRIMARY KEY,"
    " root_hash TEXT NOT NULL, time TEXT NOT NULL, origin TEXT NOT NULL,"
    " signature TEXT NOT NULL, public_key TEXT NOT NULL)",
]
CHECKPOINT_COLUMNS = "origin, size, root_hash, time, signature, public_key"


class Checkpoint(msgspec.Struct, frozen=True, rename="camel"):
    """The tree's size and root at a time, signed (Ed25519) by the log's key."""

    origin: str
    size: int
    root_hash: str
    time: str
    signature: str
    public_key: str


def entry_of(position: int, notification: Notification) -> str:
    """The entry of a stored event at a position of the log."""
    return rfc8785.dumps(
        {
            "position": position,
            "notificationId": notification.id,
            "stream": str(notification.originator_id),
            "version": notification.originator_version,
            "type": notification.topic,
            "storedSha256": hashlib.sha256(notification.state).hexdigest(),
        }
    ).decode()


class AuditLog:
    """The audit log's tables in the store's database."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def size(self, sql: Sql) -> int:
        """How many leaves the tree has."""
        row = sql.one(f"SELECT MAX(position) AS last FROM {LEAVES}")
        return 0 if row["last"] is None else int(row["last"]) + 1

    def append(self, sql: Sql, notifications: Sequence[Notification]) -> int:
        """Add a leaf per stored event, in order, and the nodes they complete, in the
        caller's transaction; return the new size."""
        size = self.size(sql)
        tops = complete_subtrees(0, size)
        stored = self._nodes(sql, tops)
        peaks = [(level, index, stored[level, index]) for level, index in tops]
        leaves, nodes = [], []
        for position, notification in enumerate(notifications, size):
            entry = entry_of(position, notification)
            stream, version = str(notification.originator_id), notification.originator_version
            leaves.append((position, notification.id, stream, version, entry))
            peaks.append((0, position, leaf_hash(entry.encode())))
            nodes.append(peaks[-1])
            while len(peaks) > 1 and peaks[-1][0] == peaks[-2][0]:
                (level, index, left), (_, _, right) = peaks[-2], peaks.pop()
                peaks[-1] = (level + 1, index >> 1, node_hash(left, right))
                nodes.append(peaks[-1])
        columns = ("position", "notification_id", "stream", "version", "entry")
        sql.insert(LEAVES, columns, leaves)
        sql.insert(NODES, ("level", "idx", "hash"), [(lv, ix, h.hex()) for lv, ix, h in nodes])
        return size + len(leaves)

    def _nodes(self, sql: Sql, needed: Sequence[Node] | set[Node]) -> dict[Node, bytes]:
        if not needed:
            return {}
        pairs = ", ".join(["(?, ?)"] * len(needed))
        rows = sql.all(
            f"SELECT level, idx, hash FROM {NODES} WHERE (level, idx) IN (VALUES {pairs})",
            *(number for node in needed for number in node),
        )
        return {(int(row["level"]), int(row["idx"])): bytes.fromhex(row["hash"]) for row in rows}

    def root(self, sql: Sql, size: int) -> bytes:
        """The root of the tree of the first `size` leaves (size > 0), from stored nodes."""
        needed = complete_subtrees(0, size)
        nodes = self._nodes(sql, needed)
        return fold([nodes[node] for node in needed])

    def _proof(self, proof: Callable[[Subtree], list[bytes]]) -> list[str]:
        with transaction(self.store, commit=False) as sql:
            nodes = self._nodes(sql, nodes_needed(proof))
        return [step.hex() for step in proof(from_nodes(nodes))]

    def inclusion(self, position: int, size: int) -> list[str]:
        """The inclusion proof of a leaf in the tree of `size` leaves (position < size)."""
        return self._proof(lambda subtree: inclusion(position, size, subtree))

    def consistency(self, first: int, second: int) -> list[str]:
        """The consistency proof between the trees of two sizes (0 < first <= second)."""
        return self._proof(lambda subtree: consistency(first, second, subtree))

    def leaf(self, stream: UUID, version: int) -> tuple[int, str] | None:
        """The position and entry of a stream's event, if the log has it yet."""
        with transaction(self.store, commit=False) as sql:
            row = sql.one(
                f"SELECT position, entry FROM {LEAVES} WHERE stream = ? AND version = ?",
                str(stream),
                version,
            )
        return None if row is None else (int(row["position"]), str(row["entry"]))

    def leaves(self, start: int = 0, batch: int = 10_000) -> Iterator[tuple[int, str]]:
        """Every leaf's notification id and entry from a position on, in order."""
        while True:
            with transaction(self.store, commit=False) as sql:
                rows = sql.all(
                    f"SELECT notification_id, entry FROM {LEAVES} WHERE position >= ?"
                    " ORDER BY position LIMIT ?",
                    start,
                    batch,
                )
            yield from ((int(row["notification_id"]), str(row["entry"])) for row in rows)
            if len(rows) < batch:
                return
            start += batch

    def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint, smallest first."""
        return self._checkpoints(f"SELECT {CHECKPOINT_COLUMNS} FROM {CHECKPOINTS} ORDER BY size")

    def checkpoint(self, size: int | None = None) -> Checkpoint | None:
        """The checkpoint of a size, or the latest."""
        if size is None:
            found = self._checkpoints(
                f"SELECT {CHECKPOINT_COLUMNS} FROM {CHECKPOINTS} ORDER BY size DESC LIMIT 1"
            )
        else:
            found = self._checkpoints(
                f"SELECT {CHECKPOINT_COLUMNS} FROM {CHECKPOINTS} WHERE size = ?", size
            )
        return found[0] if found else None

    def _checkpoints(self, query: str, *params: Any) -> list[Checkpoint]:
        with transaction(self.store, commit=False) as sql:
            rows = sql.all(query, *params)
        return [
            Checkpoint(
                origin=row["origin"],
                size=int(row["size"]),
                root_hash=row["root_hash"],
                time=row["time"],
                signature=row["signature"],
                public_key=row["public_key"],
            )
            for row in rows
        ]

    def sign(self, key: AuditKey, origin: str, time: str) -> Checkpoint | None:
        """Sign a checkpoint of the tree as it is (None while it is empty); one of this
        size made at the same moment elsewhere stands, and is returned."""
        with transaction(self.store) as sql:
            size = self.size(sql)
            if size == 0:
                return None
            root = self.root(sql, size).hex()
            sql.run(
                f"INSERT INTO {CHECKPOINTS} ({CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (size) DO NOTHING",
                origin,
                size,
                root,
                time,
                key.sign(signed_text(origin, size, root, time)),
                key.public_raw,
            )
        return self.checkpoint(size)
