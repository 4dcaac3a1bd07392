"""The ASGI entry of `assess serve` (a factory, so each worker builds its own service)."""

from __future__ import annotations

import msgspec
from litestar import Litestar

from entrypoints.bootstrap import bootstrap
from entrypoints.cli import configure_logging
from entrypoints.settings import from_env
from infrastructure.tracing import start_tracing


def create() -> Litestar:
    """Build the app from the environment (tracing, if on, starts in each worker)."""
    configure_logging()
    settings = msgspec.structs.replace(from_env(), serves_http=True)
    settings.check_production()
    start_tracing(settings)
    services = bootstrap(settings)
    services.personal.check_master_key()
    return services.app()
