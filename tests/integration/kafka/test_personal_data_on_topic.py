"""Personal data through the Kafka groups, end to end on real services (Tansu, PostgreSQL,
aiosmtpd): the topic carries ids only (no name, no email, in values or headers), an
erasure goes out as PersonalDataErased on each of the student's records, and the email
group sends nothing to the erased student afterwards, while others still get theirs."""

from __future__ import annotations

import time

from application.commands import GenerateQuestions, SubmitAnswers
from application.handlers.generate_questions import generate_questions
from application.handlers.submit_answers import submit_answers
from application.students import Students
from entrypoints.bootstrap import Services
from tests.broker import Broker, read_topic
from tests.kafka_flow import (
    SETTLE,
    consumer_settings,
    decoded,
    mailed_to,
    running_processes,
    submit,
    wait_until,
)
from tests.receivers import smtp_server
from tests.support import (
    ACME,
    STUDENT,
    answer_sheet,
    invite_to_review,
    start_endorsement,
)

BEA = {"studentId": "stu_bea", "name": "Beatrice Shilling", "email": "bea@example.com"}
GRACE = ("Grace Hopper", "grace@example.com")
PERSONAL = [STUDENT["name"], STUDENT["email"], BEA["name"], BEA["email"], *GRACE]


def attempt_again(service: Services, record_id: str) -> None:
    service.commands.execute(generate_questions, ACME, GenerateQuestions(record_id), None)
    answers = [(a["questionId"], a["selectedAnswer"]) for a in answer_sheet(service, record_id, 1)]
    service.commands.execute(submit_answers, ACME, SubmitAnswers(answers, record_id), None)


def test_the_topic_carries_ids_only_and_an_erased_student_gets_no_email(
    service: Services, broker: Broker, pg_url: str, topic: str
) -> None:
    with smtp_server() as (smtp_port, mailbox):
        settings = consumer_settings(pg_url, broker, topic, smtp_port)
        with running_processes(settings):
            assessed, _ = submit(service, STUDENT, 2)
            human = start_endorsement(service)
            invite_to_review(service, human)
            wait_until(lambda: bool(mailed_to(mailbox, STUDENT["email"])), "the result email")
            wait_until(lambda: bool(mailed_to(mailbox, GRACE[1])), "the invitation")
            students = Students(service.store, service.personal, service.sent_emails, service.clock)
            assert students.erase(ACME, STUDENT["studentId"]).records_affected == 2
            attempt_again(service, assessed)  # scored after the erasure: no email to send
            submit(service, BEA, 9)  # someone else's, after it: still emailed
            wait_until(lambda: bool(mailed_to(mailbox, BEA["email"])), "the other student's email")
            time.sleep(SETTLE)
        assert len(mailed_to(mailbox, STUDENT["email"])) == 1  # the result before the erasure

    records = read_topic(
        broker.bootstrap,
        topic,
        lambda records: sum(decoded(r)["type"] == "Scored" for r in records) >= 3,
    )
    messages = [decoded(record) for record in records]
    for record in records:
        for text in PERSONAL:
            assert text.encode() not in record.value
            assert all(text.encode() not in value for _, value in record.headers)
    started = [m for m in messages if m["type"] == "VerificationStarted"]
    assert sorted(m["data"]["student"]["studentId"] for m in started) == [
        "stu_1",
        "stu_1",
        "stu_bea",
    ]
    assert all(set(m["data"]["student"]) == {"studentId"} for m in started)
    [invited] = [m for m in messages if m["type"] == "ReviewerInvited"]
    assert invited["data"]["reviewer"] == {"company": "Navy", "endorsementType": "tech_lead"}
    erased = [m for m in messages if m["type"] == "PersonalDataErased"]
    assert sorted(m["recordVerificationId"] for m in erased) == sorted([assessed, human])
    assert all(m["data"] == {} for m in erased)
