"""Question banks and their catalog as aggregates: where they are stored, what their events
hold, and what a replay of those events gives back."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from domain.banks import BankCatalog, QuestionBank
from domain.questions import Bank, BankQuestion

REACT = Bank(
    skill_id="skill_001",
    name="React",
    questions=[
        BankQuestion(question="What is JSX?", options=["a syntax", "a bundler"], answer=0),
        BankQuestion(question="Hooks?", options=["classes", "functions", "both"], answer=1),
    ],
)
PYTHON = Bank(
    skill_id="skill_002",
    name="Python",
    questions=[BankQuestion(question="A list?", options=["mutable", "immutable"], answer=0)],
)


def replayed(aggregate: Aggregate) -> Any:
    """The aggregate as a later process loads it: folded from its events alone."""
    folded: Any = None
    for event in aggregate.collect_events():
        folded = event.mutate(folded)
    return folded


def test_a_skills_bank_is_stored_under_an_id_fixed_by_the_skill() -> None:
    # Stores hold each skill's bank under this id: it must never change.
    assert QuestionBank.id_for("skill_001") == UUID("78b5446f-918f-521e-aee9-a7788159cf74")
    assert QuestionBank.create("skill_001").id == QuestionBank.id_for("skill_001")
    assert QuestionBank.id_for("skill_002") != QuestionBank.id_for("skill_001")


def test_an_imported_bank_is_stored_in_the_file_format_and_replays_to_the_same_bank() -> None:
    question_bank = QuestionBank.create("skill_001")
    assert question_bank.bank is None
    question_bank.import_bank(REACT)
    created, imported = question_bank.collect_events()
    assert isinstance(created, QuestionBank.Created)
    assert created.skill_id == "skill_001"
    assert isinstance(imported, QuestionBank.Imported)
    assert msgspec.to_builtins(imported.bank) == {
        "skillId": "skill_001",
        "name": "React",
        "questions": [
            {"question": "What is JSX?", "options": ["a syntax", "a bundler"], "answer": 0},
            {"question": "Hooks?", "options": ["classes", "functions", "both"], "answer": 1},
        ],
    }

    again = QuestionBank.create("skill_001")
    again.import_bank(REACT)
    loaded = replayed(again)
    assert (loaded.id, loaded.skill_id, loaded.bank) == (again.id, "skill_001", REACT)


def test_a_new_import_replaces_the_questions() -> None:
    question_bank = QuestionBank.create("skill_001")
    question_bank.import_bank(REACT)
    smaller = Bank(skill_id="skill_001", name="React", questions=REACT.questions[1:])
    question_bank.import_bank(smaller)
    assert question_bank.bank == smaller
    assert replayed(question_bank).bank == smaller


def test_the_catalog_lists_each_skill_once_with_its_name_and_size() -> None:
    catalog = BankCatalog.create()
    assert catalog.skills == {}
    catalog.list_bank(REACT)
    catalog.list_bank(PYTHON)
    catalog.list_bank(Bank(skill_id="skill_001", name="React 19", questions=REACT.questions[:1]))
    expected = {
        "skill_001": {"skillId": "skill_001", "name": "React 19", "questions": 1},
        "skill_002": {"skillId": "skill_002", "name": "Python", "questions": 1},
    }
    assert catalog.skills == expected
    events = list(catalog.collect_events())
    assert [type(event).__name__ for event in events] == ["Created", "Listed", "Listed", "Listed"]
    assert [(e.skill_id, e.name, e.questions) for e in events[1:]] == [  # type: ignore[attr-defined]
        ("skill_001", "React", 2),
        ("skill_002", "Python", 1),
        ("skill_001", "React 19", 1),
    ]
    replay: Any = None
    for event in events:
        replay = event.mutate(replay)
    assert replay.skills == expected
