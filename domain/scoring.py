"""Scoring rules of an attempt."""

from __future__ import annotations

PASS_MARK = 60


def score_percent(correct_answers: int, total_questions: int) -> int:
    """Return round(correct / total * 100), rounding halves up, in exact integer arithmetic."""
    return (correct_answers * 200 + total_questions) // (2 * total_questions)


def has_passed(score: int) -> bool:
    """Tell whether a score passes the assessment."""
    return score >= PASS_MARK
