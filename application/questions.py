"""An attempt's question set for a record: asked of the configured generator ahead of the
attempt (consumers/preparation.py), or drawn from the banks when generate finds none."""

from __future__ import annotations

import random

from application.banks import QuestionBanks
from application.personal import student_contact, work
from application.ports import PersonalData, QuestionGenerator
from application.settings import Settings
from domain.assessment import Assessment
from domain.questions import BANK, QuestionRequest, QuestionSet

SEED_BITS = 52  # a seed that a JSON number holds exactly, in any language


class QuestionSets:
    """Makes question sets for records: the request from the record (its skills' banks,
    its sources as revealed, the previous attempt's questions to avoid) and a new seed."""

    def __init__(
        self,
        banks: QuestionBanks,
        personal: PersonalData,
        settings: Settings,
        rng: random.Random,
        generator: QuestionGenerator,
        bank: QuestionGenerator,
    ) -> None:
        self.banks = banks
        self.personal = personal
        self.settings = settings
        self.rng = rng
        self.generator = generator
        self.bank = bank

    def request(self, record: Assessment) -> QuestionRequest:
        """What a generator is asked for this record's next attempt (its sources are read:
        none once its student is erased)."""
        student = self.personal.reveal([student_contact(record)])[0]
        # none once the student is erased, not even those records of old held in clear
        sources = work(record.sources, record.skills, student)[0] if student else []
        return QuestionRequest(
            banks=[self.banks.bank(skill.skill_id) for skill in record.skills],
            sources=sources,
            count=self.settings.questions_per_attempt,
            seed=self.rng.getrandbits(SEED_BITS),
            avoid=record.asked_questions,
        )

    def prepared(self, record: Assessment) -> QuestionSet:
        """The next attempt's set, by the configured generator."""
        return self.generator.make(self.request(record))

    def drawn(self, record: Assessment) -> QuestionSet:
        """The next attempt's set from the banks, when generate finds none prepared (with
        the `llm` generator, that is a fallback, and says so)."""
        made = self.bank.make(self.request(record))
        if self.settings.question_generator == BANK:
            return made
        wait = self.settings.generate_wait_seconds
        reason = f"no set was prepared within {wait:g} s; the whole set came from the banks"
        return QuestionSet(made.questions, self.generator.name, made.seed, [reason])
