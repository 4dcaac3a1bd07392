"""Fixtures of the API tests: a started record and its first attempt's questions."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from tests.api.http import Record, draw, start


@pytest.fixture
def record(client: TestClient[Litestar], tenant_key: str) -> Record:
    """A started verification without questions."""
    return start(client, tenant_key)


@pytest.fixture
def questions(client: TestClient[Litestar], record: Record) -> list[dict[str, Any]]:
    """The pending questions of the record's first attempt."""
    return draw(client, record)
