"""What every read model is: tables, and how each assessment event changes their rows."""

from __future__ import annotations

from abc import ABC, abstractmethod

from eventsourcing.domain import AggregateEvent

from application.integration_events import ASSESSMENT_TOPICS
from infrastructure.following import Batch
from infrastructure.sql import Sql


class PoisonEvent(Exception):
    """An event this read model cannot apply: the view stops rather than skip it."""


class ReadModel(ABC):
    """A read model of the assessments, built by folding their events into rows."""

    name: str
    topics = ASSESSMENT_TOPICS
    # Every public event is one or the other (tests/unit/test_read_models.py): a new event
    # fails that test until each model says whether it changes its rows.
    applies: tuple[type[AggregateEvent], ...]
    ignores: tuple[type[AggregateEvent], ...]
    # Columns added to the model's table after its first schema, (name, DDL), in order:
    # migrate adds those a live generation made before lacks (a rebuild makes them all).
    added_columns: tuple[tuple[str, str], ...] = ()
    # Tables added after its first schema (their names' suffixes after the model's table):
    # migrate rebuilds a live generation made before them, which would lack their rows.
    added_tables: tuple[str, ...] = ()

    @abstractmethod
    def create_statements(self, table: str) -> list[str]:
        """DDL of the model's tables, all named after `table` (portable SQL)."""

    @abstractmethod
    def drop_statements(self, table: str) -> list[str]:
        """DDL that removes the model's tables."""

    @abstractmethod
    def apply(self, sql: Sql, table: str, events: Batch) -> None:
        """Change the rows for a batch of (event, position), in order, with few statements;
        raise PoisonEvent if one cannot be applied."""
