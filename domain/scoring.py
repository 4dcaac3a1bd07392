"""Scoring rules of an attempt."""

from __future__ import annotations

PASS_MARK = 60


def score_percent(correct_answers: int, total_questions: int) -> int:
    """Return round(correct / total * 100), rounding halves up, in exact integer arithmetic."""
    return (correct_answers * 200 + total_questions) // (2 * total_questions)


def has_passed(score: int) -> bool:
    """Tell whether a score passes the assessment."""
    return score >= PASS_MARK


PASSED_MESSAGE = "You have successfully passed the assessment and earned the Verified skill."
PASSED_MESSAGE_MANY = (
    "You have successfully passed the assessment and earned {count} Verified skills."
)
FAILED_MESSAGE = (
    "You did not pass the assessment: a score of {score} is below the pass mark of {mark}."
    " Generate a new set of questions to try again."
)


def result_message(passed: bool, score: int, skills: int) -> str:
    """The words of result.message, telling a pass from a fail; a pass counts the skills it
    verified (the seed page's words for one)."""
    if not passed:
        return FAILED_MESSAGE.format(score=score, mark=PASS_MARK)
    return PASSED_MESSAGE if skills == 1 else PASSED_MESSAGE_MANY.format(count=skills)
