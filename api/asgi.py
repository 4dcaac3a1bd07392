"""The ASGI entry of `assess serve` (a factory, so each worker builds its own service)."""

from __future__ import annotations

from litestar import Litestar

from api.app import create_app
from api.bootstrap import bootstrap
from api.cli import configure_logging
from application.settings import from_env
from infrastructure.tracing import start_tracing


def create() -> Litestar:
    """Build the app from the environment (tracing, if on, starts in each worker)."""
    configure_logging()
    settings = from_env()
    start_tracing(settings)
    return create_app(bootstrap(settings))
