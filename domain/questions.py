"""Question banks: the bank file format, its validation, and drawing an attempt's questions."""

from __future__ import annotations

import hashlib
import random
from typing import Annotated

import msgspec

from domain.errors import InvalidInput

MIN_OPTIONS, MAX_OPTIONS = 2, 5

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class BankQuestion(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One multiple-choice question of a bank, with the index of its correct option."""

    question: NonEmpty
    options: list[NonEmpty]
    answer: int


class Bank(msgspec.Struct, frozen=True, rename="camel", forbid_unknown_fields=True):
    """A skill's question bank, in the file format operators import."""

    skill_id: NonEmpty
    name: NonEmpty
    questions: list[BankQuestion]


class PublicQuestion(msgspec.Struct, frozen=True, rename="camel"):
    """A question of an attempt as the student sees it: options in their shown order."""

    question_id: str
    skill_id: str
    question: str
    options: list[str]


class DrawnQuestion(msgspec.Struct, frozen=True):
    """A question as shown in one attempt: options in their shuffled order, and the key."""

    question_id: str
    skill_id: str
    question: str
    options: list[str]
    answer: int

    @classmethod
    def keyed(cls, question: PublicQuestion, answer: int) -> DrawnQuestion:
        """A shown question with its answer key."""
        return cls(
            question.question_id, question.skill_id, question.question, question.options, answer
        )

    def public(self) -> PublicQuestion:
        """The question as the student sees it: no answer key."""
        return PublicQuestion(self.question_id, self.skill_id, self.question, list(self.options))


def parse_bank(document: bytes) -> Bank:
    """Decode and validate a bank file; raise InvalidInput naming the first fault and where."""
    try:
        bank = msgspec.json.decode(document, type=Bank)
    except msgspec.ValidationError as error:
        raise InvalidInput(f"bank file: {error}") from None
    except msgspec.DecodeError as error:
        raise InvalidInput(f"bank file is not valid JSON: {error}") from None
    validate_bank(bank)
    return bank


def validate_bank(bank: Bank) -> None:
    """Check the rules of a bank: 2-5 distinct options, one valid answer, unique questions."""
    if not bank.questions:
        raise InvalidInput("questions: a bank needs at least one question")
    seen: set[str] = set()
    for position, item in enumerate(bank.questions):
        where = f"questions[{position}] (question {position + 1})"
        if not MIN_OPTIONS <= len(item.options) <= MAX_OPTIONS:
            raise InvalidInput(f"{where}: needs 2 to 5 options, has {len(item.options)}")
        if len(set(item.options)) != len(item.options):
            raise InvalidInput(f"{where}: options repeat")
        if not 0 <= item.answer < len(item.options):
            raise InvalidInput(f"{where}: answer {item.answer} is not an index of its options")
        if item.question in seen:
            raise InvalidInput(f"{where}: the question text appears twice")
        seen.add(item.question)


def question_id(skill_id: str, text: str) -> str:
    """A stable id for a bank question, the same across re-imports of unchanged text."""
    digest = hashlib.sha256(f"{skill_id}\n{text}".encode()).hexdigest()
    return f"q_{digest[:20]}"


def draw(banks: list[Bank], per_attempt: int, rng: random.Random) -> list[DrawnQuestion]:
    """Draw an attempt: spread over the banks in turn, questions and options shuffled."""
    shares = [0] * len(banks)
    wanted = min(per_attempt, sum(len(bank.questions) for bank in banks))
    while sum(shares) < wanted:
        for index, bank in enumerate(banks):
            if sum(shares) < wanted and shares[index] < len(bank.questions):
                shares[index] += 1
    drawn: list[DrawnQuestion] = []
    for bank, share in zip(banks, shares, strict=True):
        for item in rng.sample(bank.questions, share):
            order = rng.sample(range(len(item.options)), len(item.options))
            drawn.append(
                DrawnQuestion(
                    question_id=question_id(bank.skill_id, item.question),
                    skill_id=bank.skill_id,
                    question=item.question,
                    options=[item.options[shown] for shown in order],
                    answer=order.index(item.answer),
                )
            )
    rng.shuffle(drawn)
    return drawn
