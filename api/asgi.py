"""The ASGI entry of `assess serve` (a factory, so each worker builds its own service)."""

from __future__ import annotations

from litestar import Litestar

from api.app import create_app
from api.bootstrap import bootstrap
from application.settings import from_env


def create() -> Litestar:
    """Build the app from the environment."""
    return create_app(bootstrap(from_env()))
