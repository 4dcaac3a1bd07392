"""Question banks: validation of the file format and the draw of an attempt."""

from __future__ import annotations

import json
import random
from collections import Counter
from importlib.resources import files
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.questions import (
    BANK,
    Bank,
    BankQuestion,
    draw,
    keyed,
    parse_bank,
    question_id,
    shown,
)


def bank_file(**overrides: Any) -> bytes:
    document: dict[str, Any] = {
        "skillId": "skill_x",
        "name": "X",
        "questions": [
            {"question": "One?", "options": ["a", "b", "c"], "answer": 0},
            {"question": "Two?", "options": ["a", "b"], "answer": 1},
        ],
    }
    document.update(overrides)
    return json.dumps(document).encode()


def test_a_valid_bank_parses() -> None:
    bank = parse_bank(bank_file())
    assert (bank.skill_id, bank.name, len(bank.questions)) == ("skill_x", "X", 2)


@pytest.mark.parametrize(
    ("questions", "reason"),
    [
        ([{"question": "Q?", "options": ["only"], "answer": 0}], "questions[0] (question 1)"),
        ([{"question": "Q?", "options": list("abcdef"), "answer": 0}], "2 to 5 options"),
        ([{"question": "Q?", "options": ["a", "b"], "answer": 2}], "answer 2"),
        ([{"question": "Q?", "options": ["a", "b"], "answer": -1}], "answer -1"),
        ([{"question": "Q?", "options": ["a", "a"], "answer": 0}], "options repeat"),
        (
            [
                {"question": "Q?", "options": ["a", "b"], "answer": 0},
                {"question": "Q?", "options": ["c", "d"], "answer": 1},
            ],
            "questions[1] (question 2): the question text appears twice",
        ),
        ([{"question": "Q?", "options": ["a", "b"], "answer": "0"}], "questions[0].answer"),
        ([{"question": "", "options": ["a", "b"], "answer": 0}], "questions[0].question"),
        ([], "at least one question"),
        (
            [{"question": "Q?", "options": ["a", "b"], "answer": 0, "topics": ["t"] * 11}],
            "length <= 10 - at `$.questions[0].topics`",
        ),
        (
            [{"question": "Q?", "options": ["a", "b"], "answer": 0, "topics": ["t" * 41]}],
            "length <= 40 - at `$.questions[0].topics[0]`",
        ),
        (
            [{"question": "Q?", "options": ["a", "b"], "answer": 0, "topics": [""]}],
            "length >= 1 - at `$.questions[0].topics[0]`",
        ),
    ],
)
def test_a_bad_bank_is_rejected_whole_naming_the_position(
    questions: list[dict[str, Any]], reason: str
) -> None:
    with pytest.raises(InvalidInput, match=__import__("re").escape(reason)):
        parse_bank(bank_file(questions=questions))


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        ([], "questions: a bank needs at least one question"),
        (
            [{"question": "Q?", "options": ["only"], "answer": 0}],
            "questions[0] (question 1): needs 2 to 5 options, has 1",
        ),
        (
            [
                {"question": "Q?", "options": ["a", "b"], "answer": 0},
                {"question": "R?", "options": ["a", "a"], "answer": 0},
            ],
            "questions[1] (question 2): options repeat",
        ),
        (
            [{"question": "Q?", "options": ["a", "b"], "answer": 2}],
            "questions[0] (question 1): answer 2 is not an index of its options",
        ),
        (
            [
                {"question": "Q?", "options": ["a", "b"], "answer": 0},
                {"question": "Q?", "options": ["c", "d"], "answer": 1},
            ],
            "questions[1] (question 2): the question text appears twice",
        ),
    ],
)
def test_the_operator_is_told_the_fault_in_these_words(
    questions: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_bank(bank_file(questions=questions))
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (bank_file(level="hard"), "unknown field `level`"),
        (
            bank_file(questions=[{"question": "Q?", "options": ["a", "b"], "answer": 0, "x": 1}]),
            "unknown field `x` - at `$.questions[0]`",
        ),
    ],
)
def test_a_bank_with_an_unknown_field_is_rejected_whole(document: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput, match=__import__("re").escape(reason)):
        parse_bank(document)


def test_a_question_id_is_fixed_by_its_skill_and_text() -> None:
    # Stored answers and skill history refer to these ids: they must never change.
    assert question_id("skill_x", "One?") == "q_4bbef1905934d4d9fa6d"
    drawn = draw([parse_bank(bank_file())], 2, random.Random(3))
    assert {question.question_id: question.question for question in drawn} == {
        "q_4bbef1905934d4d9fa6d": "One?",
        "q_4b0c511d6a802f524777": "Two?",
    }


def test_a_bank_that_is_not_json_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="not valid JSON"):
        parse_bank(b"{nope")


def test_every_shipped_bank_is_valid_and_large_enough() -> None:
    shipped = [parse_bank(f.read_bytes()) for f in files("application").joinpath("banks").iterdir()]
    assert len(shipped) >= 6
    for bank in shipped:
        assert len(bank.questions) >= 60, bank.skill_id
        assert all(question.topics for question in bank.questions), bank.skill_id
        counts = Counter(topic for question in bank.questions for topic in question.topics)
        assert len([topic for topic, n in counts.items() if n >= 8]) >= 6, (bank.skill_id, counts)


def make_bank(skill_id: str, size: int) -> Bank:
    return Bank(
        skill_id=skill_id,
        name=skill_id,
        questions=[
            BankQuestion(question=f"{skill_id} {n}?", options=["w", "x", "y", "z"], answer=n % 4)
            for n in range(size)
        ],
    )


def test_a_draw_spreads_over_the_skills() -> None:
    drawn = draw([make_bank("a", 30), make_bank("b", 30), make_bank("c", 30)], 10, random.Random(1))
    counts = Counter(question.skill_id for question in drawn)
    assert sum(counts.values()) == 10
    assert sorted(counts.values()) == [3, 3, 4]


def test_a_small_bank_gives_all_it_has_and_the_others_fill_in() -> None:
    drawn = draw([make_bank("a", 2), make_bank("b", 30)], 10, random.Random(1))
    assert Counter(question.skill_id for question in drawn) == {"a": 2, "b": 8}


def test_a_draw_takes_the_whole_bank_when_it_holds_fewer() -> None:
    assert len(draw([make_bank("a", 4)], 10, random.Random(1))) == 4


def test_options_are_shuffled_and_the_key_follows_them() -> None:
    bank = make_bank("a", 30)
    original = {f"a {n}?": bank.questions[n] for n in range(30)}
    drawn = draw([bank], 30, random.Random(3))
    for question in drawn:
        source = original[question.question]
        assert question.options[question.answer] == source.options[source.answer]
    assert any(question.options != ["w", "x", "y", "z"] for question in drawn)


def test_draws_differ_between_attempts() -> None:
    rng = random.Random(5)
    bank = make_bank("a", 30)
    first, second = draw([bank], 10, rng), draw([bank], 10, rng)
    # Other questions, not the same ones in another order.
    assert {q.question_id for q in first} != {q.question_id for q in second}


@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=4),
    per_attempt=st.integers(1, 30),
    seed=st.integers(0, 2**32),
)
def test_any_draw_is_fair_complete_and_keyed(sizes: list[int], per_attempt: int, seed: int) -> None:
    banks = [make_bank(f"s{index}", size) for index, size in enumerate(sizes)]
    drawn = draw(banks, per_attempt, random.Random(seed))

    assert len(drawn) == min(per_attempt, sum(sizes))
    assert len({question.question_id for question in drawn}) == len(drawn)
    shares = Counter(question.skill_id for question in drawn)
    most = max(shares.values())
    for bank in banks:  # a bank gives less than the others only when it has no more
        assert shares[bank.skill_id] >= most - 1 or shares[bank.skill_id] == len(bank.questions)
    by_text = {item.question: item for bank in banks for item in bank.questions}
    for question in drawn:
        source = by_text[question.question]
        assert sorted(question.options) == sorted(source.options)
        assert question.options[question.answer] == source.options[source.answer]


def test_a_generated_question_keeps_its_origin_from_the_draw_to_the_event_and_back() -> None:
    item = BankQuestion("Which hook keeps a value across renders?", ["useRef", "useMemo"], 0)
    made = shown("skill_001", item, random.Random(1), origin="llm:smollm2")
    assert made.question_id == question_id("skill_001", item.question, "g")
    assert made.question_id.startswith("g_")
    public = made.public()  # as the event holds it
    assert (made.origin, public.origin) == ("llm:smollm2", "llm:smollm2")
    assert keyed([public], [made.answer]) == [made]
    from_bank = shown("skill_001", item, random.Random(1))
    assert (from_bank.question_id[:2], from_bank.origin) == ("q_", BANK)


def test_an_answer_key_of_another_length_than_its_questions_is_refused() -> None:
    """A set and its key are stored together: a key that does not fit them is not read."""
    made = shown("skill_001", BankQuestion("Which?", ["a", "b"], 0), random.Random(1))
    with pytest.raises(ValueError, match="zip"):
        keyed([made.public(), made.public()], [made.answer])
