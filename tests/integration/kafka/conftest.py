"""Fixtures of the Kafka consumer suites: a topic of their own and a service on PostgreSQL
that may send webhooks to loopback receivers."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest

from entrypoints.bootstrap import Services
from tests.support import Clock, make_service


@pytest.fixture
def topic() -> str:
    """A fresh topic name: tests share one broker."""
    return f"assessment.events.{uuid4().hex[:8]}"


@pytest.fixture
def service(pg_url: str, clock: Clock) -> Iterator[Services]:
    """A service on a fresh PostgreSQL database."""
    service = make_service(pg_url, clock, webhook_allow_private=True)
    yield service
    service.store.close()
