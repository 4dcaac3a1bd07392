"""Prometheus gauges of each view's and each follower's position and lag, read when /metrics
is scraped."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from projections.followers import Followers
from projections.queries import ReadSide

log = logging.getLogger("assess.api")


class ProjectionMetrics(Collector):
    """assess_projection_position, _lag and _dead_letters, by view."""

    def __init__(self, read: ReadSide) -> None:
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Read the views' positions now; nothing when the store cannot be reached."""
        try:
            status = self.read.status()
        except Exception as error:
            log.warning("projection metrics unavailable: %s", error)
            return
        position = GaugeMetricFamily(
            "assess_projection_position", "Last event applied by the view", labels=["view"]
        )
        lag = GaugeMetricFamily(
            "assess_projection_lag", "Assessment events the view has not applied", labels=["view"]
        )
        dead_letters = GaugeMetricFamily(
            "assess_projection_dead_letters",
            "Events the view has set aside because it cannot apply them",
            labels=["view"],
        )
        for view, figures in status.items():
            position.add_metric([view], figures["position"])
            lag.add_metric([view], figures["lag"])
            dead_letters.add_metric([view], figures["deadLetters"])
        yield position
        yield lag
        yield dead_letters


class FollowerMetrics(Collector):
    """assess_follower_position, _lag_events and _last_moved_timestamp_seconds, by follower
    (every view, the relay or the embedded fan-out, the audit log)."""

    def __init__(self, followers: Followers) -> None:
        self.followers = followers

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Read the followers' positions now; nothing when the store cannot be reached."""
        try:
            report = self.followers.report()
        except Exception as error:
            log.warning("follower metrics unavailable: %s", error)
            return
        labels = ["follower"]
        position = GaugeMetricFamily(
            "assess_follower_position", "Last event the follower handled", labels=labels
        )
        lag = GaugeMetricFamily(
            "assess_follower_lag_events", "Events of its topics it has not handled", labels=labels
        )
        moved = GaugeMetricFamily(
            "assess_follower_last_moved_timestamp_seconds",
            "When the follower last recorded a new position (absent: never)",
            labels=labels,
        )
        for name, state in report.items():
            position.add_metric([name], state.position)
            lag.add_metric([name], state.lag)
            if state.moved_at is not None:
                moved.add_metric([name], state.moved_at)
        yield position
        yield lag
        yield moved
