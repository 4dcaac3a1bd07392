"""The question banks: import, list, and the banks a draw takes from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import IntegrityError

from application.recent import Recent
from application.results import BankedSkill
from application.store import EventStore
from domain.banks import CATALOG_ID, BankCatalog, QuestionBank
from domain.errors import Conflict, InvalidInput
from domain.questions import Bank
from domain.values import Skill

# Another process may re-import a bank; a running API sees it within this many seconds
# (and a bank for a new skill at once, since an unknown skill makes it look again).
BANK_MEMORY_SECONDS = 5.0


class QuestionBanks:
    """Each skill's bank and the catalog of skills that have one."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._banks: Recent[str, Bank] = Recent(BANK_MEMORY_SECONDS)
        self._catalog: Recent[UUID, set[str]] = Recent(BANK_MEMORY_SECONDS)

    def import_bank(self, bank: Bank) -> None:
        """Replace a skill's bank (records that already drew keep their questions)."""
        for _ in range(3):
            question_bank = self.store.find(QuestionBank, QuestionBank.id_for(bank.skill_id))
            question_bank = question_bank or QuestionBank.create(bank.skill_id)
            catalog = self.store.find(BankCatalog, CATALOG_ID) or BankCatalog.create()
            question_bank.import_bank(bank)
            catalog.list_bank(bank)
            try:
                self.store.save(question_bank, catalog)
            except IntegrityError:
                continue
            self._banks.put(bank.skill_id, bank)
            return
        raise Conflict("concurrent imports kept winning; try again")

    def list_banks(self) -> list[dict[str, Any]]:
        """The skills that have a bank, with their names and sizes."""
        catalog = self.store.find(BankCatalog, CATALOG_ID)
        return sorted(catalog.skills.values(), key=lambda s: s["skillId"]) if catalog else []

    def skills(self) -> list[BankedSkill]:
        """The skills a record can name (each has a bank), by id."""
        return msgspec.convert(self.list_banks(), list[BankedSkill])

    def bank(self, skill_id: str) -> Bank:
        """The current bank of a skill."""

        def load() -> Bank | None:
            question_bank = self.store.find(QuestionBank, QuestionBank.id_for(skill_id))
            return None if question_bank is None else question_bank.bank

        bank = self._banks.get(skill_id, load)
        if bank is None:
            raise InvalidInput(f"no question bank for skill '{skill_id}'")
        return bank

    def reads(self) -> set[UUID]:
        """What `check_banked` finds in the store now: the catalog, unless remembered."""
        return set() if self._catalog.fresh(CATALOG_ID) else {CATALOG_ID}

    def check_banked(self, skills: Sequence[Skill]) -> None:
        """Refuse skills without a bank, naming the first."""
        banked = self._banked()
        if any(skill.skill_id not in banked for skill in skills):
            banked = self._banked(fresh=True)
        for position, skill in enumerate(skills):
            if skill.skill_id not in banked:
                raise InvalidInput(
                    f"skills[{position}].skillId: no question bank for '{skill.skill_id}'"
                )

    def _banked(self, *, fresh: bool = False) -> set[str]:
        def load() -> set[str]:
            catalog = self.store.find(BankCatalog, CATALOG_ID)
            return set() if catalog is None else set(catalog.skills)

        return self._catalog.get(CATALOG_ID, load, fresh=fresh) or set()
