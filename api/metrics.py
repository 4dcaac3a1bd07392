"""Prometheus gauges of each view's position and lag, read when /metrics is scraped."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

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
