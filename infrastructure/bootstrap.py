"""The composition root: builds the store and the service from settings."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from importlib.resources import files
from uuid import UUID, uuid4

from application.service import AssessmentService
from application.settings import Settings
from domain.questions import parse_bank
from infrastructure.deliveries import Deliveries
from infrastructure.persistence import open_store
from infrastructure.targets import refuse_private


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


def bootstrap(
    settings: Settings,
    clock: Callable[[], datetime] = utc_now,
    new_id: Callable[[], UUID] = uuid4,
    rng: random.Random | None = None,
) -> AssessmentService:
    """Open the event store and build the service on it, with the delivery log and the
    webhook target check."""
    store = open_store(settings)
    return AssessmentService(
        store,
        settings,
        clock,
        new_id,
        rng or random.SystemRandom(),
        deliveries=Deliveries(store),
        check_target=partial(refuse_private, allow_private=settings.webhook_allow_private),
    )


def seed_banks(service: AssessmentService) -> list[str]:
    """Import the shipped banks of skills that have none yet; return their skill ids."""
    listed = {entry["skillId"] for entry in service.banks.list_banks()}
    imported = []
    for resource in sorted(files("application").joinpath("banks").iterdir(), key=str):
        bank = parse_bank(resource.read_bytes())
        if bank.skill_id not in listed:
            service.banks.import_bank(bank)
            imported.append(bank.skill_id)
    return imported
