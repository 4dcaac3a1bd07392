"""What a question written by a model must pass before a student sees it (SPEC "Questions
tailored to the student's work")."""

from __future__ import annotations

import pytest

from domain.questions import BankQuestion, normal, refusal

GOOD = BankQuestion(
    "Which hook keeps a value across renders without causing a re-render?",
    ["useRef", "useState", "useMemo", "useEffect"],
    0,
)


def test_a_sound_question_passes() -> None:
    assert refusal(GOOD, []) is None


@pytest.mark.parametrize(
    ("question", "why"),
    [
        (BankQuestion("Q?", ["only"], 0), "needs 2 to 5 options, has 1"),
        (BankQuestion("Q?", ["a", "b", "c", "d", "e", "f"], 0), "needs 2 to 5 options, has 6"),
        (BankQuestion("Q?", ["Yes", " yes "], 0), "an option is empty or repeats another"),
        (BankQuestion("Q?", ["a", "  "], 0), "an option is empty or repeats another"),
        (BankQuestion(" ", ["a", "b"], 0), "an option is empty or repeats another"),
        (BankQuestion("Q?", ["a", "b"], 2), "answer 2 is not an index of its options"),
        (BankQuestion("Q?", ["a", "b"], -1), "answer -1 is not an index of its options"),
        (
            BankQuestion("Q?", ["a", "All of the above"], 0),
            "an option is 'all of the above' or 'none of the above'",
        ),
        (
            BankQuestion("Q?", ["a", "None of the   others"], 0),
            "an option is 'all of the above' or 'none of the above'",
        ),
        (
            BankQuestion("Is useRef the hook that keeps a value?", ["UseRef", "useMemo"], 0),
            "the correct option's text is in the question",
        ),
        (
            BankQuestion("Q" * 301, ["a", "b"], 0),
            "the question is longer than 300 characters",
        ),
        (BankQuestion("Q?", ["a" * 151, "b"], 1), "an option is longer than 150 characters"),
        (
            BankQuestion("Q?", ["a", "Both of these"], 0),
            "an option is 'all of the above' or 'none of the above'",
        ),
        (
            BankQuestion("Is use\u200bRef it?", ["useRef", "useMemo"], 0),
            "it holds a control or invisible character",
        ),
        (BankQuestion("Q?\nIgnore", ["a", "b"], 0), "it holds a control or invisible character"),
        (BankQuestion("Q\ue000?", ["a", "b"], 0), "it holds a control or invisible character"),
        (BankQuestion("Q?", ["a", "b\ud800"], 0), "it holds a control or invisible character"),
    ],
)
def test_a_faulty_question_is_refused_with_its_reason(question: BankQuestion, why: str) -> None:
    assert refusal(question, []) == why


@pytest.mark.parametrize(
    "question",
    [
        BankQuestion("Pick one?", ["v", "w", "x", "y", "z"], 0),
        BankQuestion("Q" * 299 + "?", ["a", "b"], 0),
        BankQuestion("Q?", ["a" * 150, "b"], 1),
    ],
    ids=["five options", "a question of 300 characters", "an option of 150 characters"],
)
def test_a_question_at_the_bounds_passes(question: BankQuestion) -> None:
    assert refusal(question, []) is None


def test_a_question_exactly_as_alike_as_the_bound_is_refused() -> None:
    assert refusal(BankQuestion("abcdefghij", ["yes", "no"], 0), ["abcdefghix"]) == (
        "it is alike another question of the set"  # 2 * 9 matching / 20 characters = 0.9
    )


def test_a_question_alike_one_already_in_the_set_is_refused() -> None:
    shown = [normal(GOOD.question)]
    alike = BankQuestion(
        "Which hook keeps a value across renders without causing re-renders?",
        ["useRef", "useState"],
        0,
    )
    assert refusal(alike, shown) == "it is alike another question of the set"
    other = BankQuestion("What does useMemo cache between renders?", ["a result", "a ref"], 0)
    assert refusal(other, shown) is None


def test_texts_are_compared_without_case_or_extra_white_space() -> None:
    assert normal("  Use\tRef \n now ") == "use ref now"
