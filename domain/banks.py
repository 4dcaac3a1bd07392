"""Question banks as aggregates: one per skill, and a catalog of the skills that have one."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.questions import Bank

CATALOG_ID = uuid5(NAMESPACE_URL, "assess:question-bank-catalog")


class QuestionBank(Aggregate):
    """A skill's bank; each import replaces the questions of the one before."""

    class Created(Aggregate.Created):
        """The first bank of a skill was imported."""

        skill_id: str

    class Imported(Aggregate.Event):
        """An operator imported a bank file for the skill."""

        bank: Bank

        def apply(self, aggregate: QuestionBank) -> None:
            aggregate.bank = self.bank

    def __init__(self, skill_id: str) -> None:
        self.skill_id = skill_id
        self.bank: Bank | None = None

    @staticmethod
    def id_for(skill_id: str) -> UUID:
        """The aggregate id of a skill's bank."""
        return uuid5(NAMESPACE_URL, f"assess:question-bank:{skill_id}")

    @classmethod
    def create(cls, skill_id: str) -> QuestionBank:
        """Open the bank of a skill that has none yet."""
        return cls._create(cls.Created, id=cls.id_for(skill_id), skill_id=skill_id)

    def import_bank(self, bank: Bank) -> None:
        """Replace the questions; records that already drew keep theirs."""
        self.trigger_event(self.Imported, bank=bank)


class BankCatalog(Aggregate):
    """Which skills have a bank, with their names and sizes."""

    class Created(Aggregate.Created):
        """The catalog was opened."""

    class Listed(Aggregate.Event):
        """A skill's bank was imported with this many questions."""

        skill_id: str
        name: str
        questions: int

        def apply(self, catalog: BankCatalog) -> None:
            catalog.skills[self.skill_id] = {
                "skillId": self.skill_id,
                "name": self.name,
                "questions": self.questions,
            }

    def __init__(self) -> None:
        self.skills: dict[str, dict[str, Any]] = {}

    @classmethod
    def create(cls) -> BankCatalog:
        """Open the catalog."""
        return cls._create(cls.Created, id=CATALOG_ID)

    def list_bank(self, bank: Bank) -> None:
        """Note a skill's bank after an import."""
        self.trigger_event(
            self.Listed, skill_id=bank.skill_id, name=bank.name, questions=len(bank.questions)
        )
