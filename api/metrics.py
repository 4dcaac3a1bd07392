"""Prometheus gauges of each view's and each follower's position and lag, read when /metrics
is scraped."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from projections.followers import Followers, FollowerState
from projections.queries import ReadSide

log = logging.getLogger("assess.api")


class ViewMetrics(Collector):
    """By view: assess_projection_position, _lag and _dead_letters; by follower (every view,
    the relay or the embedded fan-out, the audit log, the consumer groups):
    assess_follower_position, _lag_events and _last_moved_timestamp_seconds. The views are
    read once a scrape, for both."""

    def __init__(self, read: ReadSide, followers: Followers) -> None:
        self.read = read
        self.followers = followers

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Read the positions now; nothing when the store cannot be reached."""
        try:
            status = self.read.status()
            report = self.followers.report(status)
        except Exception as error:
            log.warning("view and follower metrics unavailable: %s", error)
            return
        yield from projection_gauges(status)
        yield from follower_gauges(report)


def projection_gauges(status: Mapping[str, Mapping[str, int]]) -> Iterator[GaugeMetricFamily]:
    """assess_projection_position, _lag and _dead_letters, by view."""
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
    yield from (position, lag, dead_letters)


def follower_gauges(report: Mapping[str, FollowerState]) -> Iterator[GaugeMetricFamily]:
    """assess_follower_position, _lag_events and _last_moved_timestamp_seconds, by follower."""
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
    yield from (position, lag, moved)
