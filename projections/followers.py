"""Every follower of the event store as an operator sees it: each read model, the relay or
the embedded fan-out, the audit log; its position, how many events it is behind, and when
it last moved (for /ready and /metrics)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from application.store import EventStore
from domain.moments import iso
from infrastructure.database import transaction
from infrastructure.following import MOVES, Tracker
from infrastructure.progress import ProgressLog
from projections.queries import ReadSide
from projections.views import count_after, table_of


class LogFollower(NamedTuple):
    """A follower other than a view: its name, and the topics it reads (None: every one)."""

    name: str
    topics: Sequence[str] | None


class FollowerState(NamedTuple):
    """Where a follower is: its position, the events of its topics after it, and when it
    last moved (seconds since the epoch; None if it never has)."""

    position: int
    lag: int
    moved_at: float | None
    reported_at: float | None = None  # a consumer group's: when a member last reported

    def plain(self) -> dict[str, Any]:
        """As /ready shows it."""
        shown = {"position": self.position, "lag": self.lag, "lastMovedAt": moment(self.moved_at)}
        if self.reported_at is not None:
            shown["lastReportedAt"] = moment(self.reported_at)
        return shown


def moment(seconds: float | None) -> str | None:
    """Seconds since the epoch as an ISO-8601 moment (None stays None)."""
    return None if seconds is None else iso(datetime.fromtimestamp(seconds, UTC))


class Followers:
    """Every view, each log follower that this deployment runs (`expected`) or that has
    ever moved, and each Kafka consumer group that has reported (`consumers.<group>`: its
    lag is in messages of the topic, as its members last saw it)."""

    def __init__(
        self,
        store: EventStore,
        read: ReadSide,
        followers: Sequence[LogFollower],
        expected: Collection[str],
        groups: ProgressLog,
    ) -> None:
        self.store = store
        self.read = read
        self.followers = followers
        self.expected = expected
        self.groups = groups
        self.trackers = {follower.name: Tracker(store, follower.name) for follower in followers}

    def report(
        self, views: Mapping[str, Mapping[str, int]] | None = None
    ) -> dict[str, FollowerState]:
        """Each follower's state now, by name; the views' from `views` (ReadSide.status, as
        the caller already read it), else read now."""
        views = self.read.status() if views is None else views
        with transaction(self.store, commit=False) as sql:
            moves = {row["name"]: row["moved_at"] for row in sql.all(f"SELECT * FROM {MOVES}")}
        report = {
            name: FollowerState(
                view["position"], view["lag"], moves.get(table_of(name, view["generation"]))
            )
            for name, view in views.items()
        }
        for follower in self.followers:
            if follower.name in self.expected or follower.name in moves:
                position = self.trackers[follower.name].position()
                lag = count_after(self.store, position, follower.topics)
                report[follower.name] = FollowerState(position, lag, moves.get(follower.name))
        for group, progress in self.groups.groups().items():
            report[f"consumers.{group}"] = FollowerState(*progress)
        return report
