"""Where each Kafka consumer group is on the topic, as its members report it (a table in the
store's database, so that the API's /ready and /metrics show it without asking Kafka)."""

from __future__ import annotations

import time
from typing import NamedTuple

from application.store import EventStore
from infrastructure.database import transaction

TABLE = "consumer_progress"
CONSUMER_PROGRESS = [
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " consumer_group TEXT NOT NULL, topic_partition INTEGER NOT NULL, position BIGINT NOT NULL,"
    " lag BIGINT NOT NULL, moved_at DOUBLE PRECISION NOT NULL,"
    " reported_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (consumer_group, topic_partition))"
]


class GroupProgress(NamedTuple):
    """A consumer group over its partitions: the sum of its positions and of its lags (in
    messages), when a position last moved, and when a member last reported."""

    position: int
    lag: int
    moved_at: float
    reported_at: float


class ProgressLog:
    """The consumer groups' reports, written by their members and read by the API."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def report(self, group: str, partition: int, position: int, lag: int) -> None:
        """A member's position and lag on one partition now (moved_at changes only when the
        position does)."""
        now = time.time()
        with transaction(self.store) as sql:
            sql.run(
                f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (consumer_group, topic_partition) DO UPDATE SET"
                f" moved_at = CASE WHEN {TABLE}.position = excluded.position"
                f" THEN {TABLE}.moved_at ELSE excluded.moved_at END,"
                " position = excluded.position, lag = excluded.lag,"
                " reported_at = excluded.reported_at",
                *(group, partition, position, lag, now, now),
            )

    def groups(self) -> dict[str, GroupProgress]:
        """Every group that has reported, by name."""
        with transaction(self.store, commit=False) as sql:
            rows = sql.all(
                "SELECT consumer_group, SUM(position) AS position, SUM(lag) AS lag,"
                " MAX(moved_at) AS moved_at, MAX(reported_at) AS reported_at"
                f" FROM {TABLE} GROUP BY consumer_group ORDER BY consumer_group"
            )
        return {
            row["consumer_group"]: GroupProgress(
                int(row["position"]), int(row["lag"]), row["moved_at"], row["reported_at"]
            )
            for row in rows
        }
