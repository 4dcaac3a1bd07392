"""The Assessment aggregate: given events, when a command, then events or an error."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from eventsourcing.domain import DomainEventProtocol

from domain import errors
from domain.assessment import Assessment, record_status
from domain.moments import iso
from domain.questions import DrawnQuestion, QuestionSet
from domain.values import Answer, Attempt, Skill, SkillOutcome
from tests.support import START, new_record

AT = START
SKILLS = [Skill("skill_001", "React"), Skill("skill_002", "Python")]


def questions(count: int) -> list[DrawnQuestion]:
    return [
        DrawnQuestion(
            question_id=f"q{n}",
            skill_id=SKILLS[n % 2].skill_id,
            question=f"Q{n}?",
            options=["a", "b", "c", "d"],
            answer=n % 4,
        )
        for n in range(count)
    ]


def made(count: int) -> QuestionSet:
    return QuestionSet(questions(count), "bank", 7)


def started(skills: Sequence[Skill] = SKILLS, **fields: Any) -> Assessment:
    """A record started at AT (an assessment of SKILLS unless told otherwise)."""
    return new_record(skills, at=AT, **fields)


def given(*steps: Callable[[Assessment], Any]) -> Assessment:
    """A record started and taken through steps, its events already saved (none pending)."""
    assessment = started()
    for step in steps:
        step(assessment)
    events = assessment.collect_events()
    replayed: Assessment | None = None
    for event in events:
        replayed = event.mutate(replayed)
    assert replayed is not None
    return replayed


def generated(count: int = 8) -> Callable[[Assessment], Any]:
    return lambda assessment: assessment.generate(lambda: made(count), AT)


def answered(correct: int) -> Callable[[Assessment], Any]:
    def submit(assessment: Assessment) -> None:
        assert assessment.question_set is not None
        assessment.submit(sheet(assessment.question_set, correct), AT)

    return submit


def sheet(question_set: list[DrawnQuestion], correct: int) -> list[tuple[str, int]]:
    return [
        (q.question_id, q.answer if n < correct else (q.answer + 1) % len(q.options))
        for n, q in enumerate(question_set)
    ]


def then(assessment: Assessment) -> list[DomainEventProtocol[Any]]:
    return list(assessment.collect_events())


def names(events: list[DomainEventProtocol[Any]]) -> list[str]:
    return [type(event).__name__ for event in events]


def test_starting_records_verification_started_with_pending_skills() -> None:
    assessment = started(callback_webhook_url="https://hooks.example.com/record")
    [event] = then(assessment)
    assert isinstance(event, Assessment.VerificationStarted)
    assert event.timestamp == AT
    assert assessment.callback_webhook_url == "https://hooks.example.com/record"
    assert (assessment.created_on, assessment.erased_at, assessment.revoked_at) == (AT, None, None)
    assert list(assessment.skill_status.values()) == [
        SkillOutcome("skill_001", "React", False, "pending", None, None),
        SkillOutcome("skill_002", "Python", False, "pending", None, None),
    ]
    assert assessment.status == "pending"


@pytest.mark.parametrize(
    ("skills", "message"),
    [
        ([], "give 1 to 10 skills"),
        ([Skill(f"s{n}", "n") for n in range(11)], "give 1 to 10 skills"),
        ([SKILLS[0], SKILLS[0]], r"skills\[1\].skillId"),
    ],
)
def test_starting_needs_one_to_ten_distinct_skills(skills: list[Skill], message: str) -> None:
    with pytest.raises(errors.InvalidInput, match=message):
        started(skills)


@pytest.mark.parametrize("count", [1, 10])
def test_one_to_ten_skills_start_a_record(count: int) -> None:
    skills = [Skill(f"s{n}", f"Skill {n}") for n in range(count)]
    assessment = started(skills)
    assert names(then(assessment)) == ["VerificationStarted"]
    assert [skill.skill_id for skill in assessment.skill_status.values()] == [
        skill.skill_id for skill in skills
    ]


def test_generate_draws_attempt_one() -> None:
    assessment = given()
    drawn = QuestionSet(questions(8), "llm:smollm2", 7, ["a bank filled in for the model"])
    assert assessment.generate(lambda: drawn, AT) is False
    [event] = then(assessment)
    assert isinstance(event, Assessment.QuestionsGenerated)
    assert (event.attempt_number, event.timestamp) == (1, AT)
    assert (event.generator, event.seed, event.fallbacks) == (
        "llm:smollm2",
        7,
        ["a bank filled in for the model"],
    )
    assert event.answer_key == [n % 4 for n in range(8)]
    assert [question.question_id for question in event.questions] == [f"q{n}" for n in range(8)]
    assert all(not hasattr(question, "answer") for question in event.questions)
    assert assessment.question_set == questions(8)  # shown again as drawn, text and options


def test_generate_again_before_submit_returns_the_same_set_and_records_nothing() -> None:
    assessment = given(generated())
    before = assessment.question_set

    def must_not_draw() -> QuestionSet:
        raise AssertionError("drew again")

    assert assessment.generate(must_not_draw, AT) is True
    assert then(assessment) == []
    assert assessment.question_set == before


def test_a_set_prepared_ahead_is_kept_and_then_shown_by_generate() -> None:
    assessment = given()
    assert assessment.prepare(made(8), AT) is True
    [event] = then(assessment)
    assert isinstance(event, Assessment.QuestionsPrepared)
    assert (event.attempt_number, event.timestamp, event.generator, event.seed) == (
        1,
        AT,
        "bank",
        7,
    )
    assert event.answer_key == [n % 4 for n in range(8)]
    assert assessment.question_set is None  # not shown before generate

    def must_not_draw() -> QuestionSet:
        raise AssertionError("drew although a set was prepared")

    assert assessment.generate(must_not_draw, AT) is False
    assert assessment.question_set == questions(8)


@pytest.mark.parametrize(
    "steps",
    [
        [generated()],
        [lambda assessment: assessment.prepare(made(8), AT)],
        [generated(8), answered(8)],
    ],
    ids=["set pending", "set prepared", "locked"],
)
def test_a_record_that_wants_no_set_keeps_none(steps: list[Callable[[Assessment], Any]]) -> None:
    assessment = given(*steps)
    assert assessment.prepare(made(4), AT) is False
    assert then(assessment) == []


def test_an_empty_prepared_set_is_no_questions() -> None:
    with pytest.raises(errors.NoQuestions) as refused:
        given().prepare(QuestionSet([], "bank", None), AT)
    assert str(refused.value) == "the question banks of this record's skills are empty"


def test_submit_before_generate_is_no_questions() -> None:
    with pytest.raises(errors.NoQuestions) as refused:
        given().submit([("q0", 0)], AT)
    assert str(refused.value) == "no questions to answer: call generate first"


@pytest.mark.parametrize("answers", [None, []])
def test_missing_answers_come_before_no_questions(answers: list[tuple[str, int]] | None) -> None:
    with pytest.raises(errors.MissingAnswers) as refused:
        given().submit(answers, AT)
    assert str(refused.value) == "answers: give one answer per question"


def test_a_pass_records_submitted_scored_locked_and_verifies_every_skill() -> None:
    assessment = given(generated(8))
    answered(5)(assessment)
    events = then(assessment)
    assert names(events) == ["AnswersSubmitted", "Scored", "Locked"]
    scored = events[1]
    assert isinstance(scored, Assessment.Scored)
    assert (scored.score, scored.passed, scored.correct_answers, scored.total_questions) == (
        63,
        True,
        5,
        8,
    )
    assert scored.skills_updated == 2
    assert scored.skills == [
        SkillOutcome(
            "skill_001", "React", True, "verified", "2026-01-05T10:00:00.000Z", "assessment"
        ),
        SkillOutcome(
            "skill_002", "Python", True, "verified", "2026-01-05T10:00:00.000Z", "assessment"
        ),
    ]
    assert assessment.attempts == [Attempt(1, 63, True, 5, 8, "2026-01-05T10:00:00.000Z")]
    assert assessment.is_locked
    assert assessment.status == "passed"


def stored_fields(event: DomainEventProtocol[Any]) -> dict[str, Any]:
    """What an event stores beyond its record, version and time."""
    base = {"originator_id", "originator_version", "timestamp"}
    return {name: value for name, value in vars(event).items() if name not in base}


def test_submitted_and_locked_store_the_attempt_at_the_time_given() -> None:
    later = AT + timedelta(days=2, minutes=7)  # neither the wall clock nor the start
    assessment = given(generated(4), answered(0), generated(4))
    assert assessment.question_set is not None
    answers = sheet(assessment.question_set, 4)
    assessment.submit(answers, later)
    submitted, scored, locked = then(assessment)
    assert isinstance(submitted, Assessment.AnswersSubmitted)
    assert isinstance(scored, Assessment.Scored)
    assert isinstance(locked, Assessment.Locked)
    assert stored_fields(submitted) == {
        "attempt_number": 2,
        "answers": [Answer(question_id, selected) for question_id, selected in answers],
    }
    assert stored_fields(locked) == {"attempt_number": 2}
    assert [event.timestamp for event in (submitted, scored, locked)] == [later] * 3


def test_a_fail_rejects_the_skills_and_uses_up_the_set() -> None:
    assessment = given(generated(8))
    answered(1)(assessment)
    events = then(assessment)
    assert names(events) == ["AnswersSubmitted", "Scored"]
    scored = events[1]
    assert isinstance(scored, Assessment.Scored)
    assert (scored.score, scored.passed) == (13, False)
    assert [(s.status, s.verified, s.verified_at) for s in scored.skills] == [
        ("rejected", False, None)
    ] * 2
    assert assessment.question_set is None
    assert assessment.status == "failed"
    with pytest.raises(errors.NoQuestions):
        assessment.submit(sheet(questions(8), 8), AT)


def test_a_retry_after_a_fail_is_attempt_two_with_a_fresh_draw() -> None:
    assessment = given(generated(8), answered(0))
    drawn: list[int] = []

    def fresh() -> QuestionSet:
        drawn.append(1)
        return made(8)

    assessment.generate(fresh, AT)
    [event] = then(assessment)
    assert isinstance(event, Assessment.QuestionsGenerated)
    assert (event.attempt_number, drawn) == (2, [1])


def test_a_second_fail_updates_no_skill() -> None:
    assessment = given(generated(8), answered(0), generated(8))
    answered(2)(assessment)
    scored = then(assessment)[1]
    assert isinstance(scored, Assessment.Scored)
    assert (scored.attempt_number, scored.skills_updated) == (2, 0)


@pytest.mark.parametrize(
    "command",
    [
        lambda assessment: assessment.generate(lambda: made(8), AT),
        lambda assessment: assessment.submit([], AT),
    ],
    ids=["generate", "submit"],
)
def test_a_passed_record_is_locked(command: Callable[[Assessment], Any]) -> None:
    assessment = given(generated(8), answered(8))
    with pytest.raises(errors.AssessmentLocked) as refused:
        command(assessment)
    assert str(refused.value) == "the assessment was passed and is locked"


def test_incomplete_answers() -> None:
    assessment = given(generated(8))
    assert assessment.question_set is not None
    with pytest.raises(errors.IncompleteAnswers, match="8 questions were generated, 7 answered"):
        assessment.submit(sheet(assessment.question_set, 8)[:7], AT)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: [("nope", 0), *a[1:]], r"answers\[0\].questionId: 'nope'"),
        (lambda a: [a[0], a[0], *a[2:]], r"answers\[1\].questionId"),
        (lambda a: [(a[0][0], 4), *a[1:]], r"answers\[0\].selectedAnswer: 4"),
        (lambda a: [(a[0][0], -1), *a[1:]], r"answers\[0\].selectedAnswer: -1"),
    ],
)
def test_invalid_answers(
    change: Callable[[list[tuple[str, int]]], list[tuple[str, int]]], message: str
) -> None:
    assessment = given(generated(8))
    assert assessment.question_set is not None
    with pytest.raises(errors.InvalidAnswers, match=message):
        assessment.submit(change(sheet(assessment.question_set, 8)), AT)
    assert then(assessment) == []


def test_an_empty_draw_is_no_questions() -> None:
    with pytest.raises(errors.NoQuestions) as refused:
        given().generate(lambda: QuestionSet([], "bank", None), AT)
    assert str(refused.value) == "the question banks of this record's skills are empty"


@pytest.fixture
def server_east_of_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is UTC+05:30 for the test (a POSIX TZ, no tzdata)."""
    monkeypatch.setenv("TZ", "IST-5:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("server_east_of_utc")
def test_times_are_shown_in_utc_whatever_the_servers_time_zone() -> None:
    assert datetime.now().astimezone().utcoffset() == timedelta(hours=5, minutes=30)
    assert iso(datetime(2026, 1, 5, 10, 0, 0, 123_456, tzinfo=UTC)) == "2026-01-05T10:00:00.123Z"
    india = timezone(timedelta(hours=5, minutes=30))
    assert iso(datetime(2026, 1, 5, 15, 30, tzinfo=india)) == "2026-01-05T10:00:00.000Z"
    assessment = given(generated(4))
    assert assessment.question_set is not None
    assessment.submit(sheet(assessment.question_set, 4), AT)
    scored = then(assessment)[1]
    assert isinstance(scored, Assessment.Scored)
    assert {skill.verified_at for skill in scored.skills} == {"2026-01-05T10:00:00.000Z"}
    assert assessment.attempts[0].submitted_at == "2026-01-05T10:00:00.000Z"


@pytest.mark.parametrize(
    ("method", "facts", "status"),
    [
        ("assessment", {}, "pending"),
        ("assessment", {"drawn": True}, "in_progress"),
        ("assessment", {"last_passed": False}, "failed"),
        ("assessment", {"last_passed": False, "drawn": True}, "in_progress"),
        ("assessment", {"last_passed": True}, "passed"),  # scored, its lock not yet applied
        ("assessment", {"last_passed": True, "locked": True}, "passed"),
        ("human_endorsement", {}, "pending"),
        ("human_endorsement", {"reviewed": True}, "in_review"),
        ("human_endorsement", {"reviewed": True, "locked": True}, "completed"),
    ],
)
def test_the_one_status_rule(method: str, facts: dict[str, Any], status: str) -> None:
    given = {"locked": False, "drawn": False, "last_passed": None, "reviewed": False, **facts}
    assert record_status(method, **given) == status
