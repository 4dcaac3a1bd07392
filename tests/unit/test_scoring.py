"""Scoring: round half up, pass at 60."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from domain.scoring import has_passed, result_message, score_percent


@pytest.mark.parametrize(
    ("correct", "total", "score"),
    [
        (1, 8, 13),
        (5, 8, 63),
        (119, 200, 60),
        (1, 2, 50),
        (3, 8, 38),
        (0, 10, 0),
        (10, 10, 100),
        (2, 3, 67),
        (1, 3, 33),
        (7, 8, 88),
    ],
)
def test_score_rounds_halves_up(correct: int, total: int, score: int) -> None:
    assert score_percent(correct, total) == score


@pytest.mark.parametrize(("score", "passed"), [(59, False), (60, True), (100, True), (0, False)])
def test_pass_mark_is_60(score: int, passed: bool) -> None:
    assert has_passed(score) is passed


def test_every_score_up_to_500_questions_is_the_decimal_half_up_rounding() -> None:
    for total in range(1, 501):
        for correct in range(total + 1):
            exact = (Decimal(correct) * 100 / Decimal(total)).quantize(0, ROUND_HALF_UP)
            assert score_percent(correct, total) == int(exact), (correct, total)


@pytest.mark.parametrize(
    ("passed", "score", "skills", "words"),
    [
        (True, 80, 1, "You have successfully passed the assessment and earned the Verified skill."),
        (True, 60, 3, "You have successfully passed the assessment and earned 3 Verified skills."),
        (
            False,
            59,
            3,
            "You did not pass the assessment: a score of 59 is below the pass mark of 60."
            " Generate a new set of questions to try again.",
        ),
    ],
)
def test_the_result_message_tells_a_pass_and_counts_its_skills(
    passed: bool, score: int, skills: int, words: str
) -> None:
    assert result_message(passed, score, skills) == words
