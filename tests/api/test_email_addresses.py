"""Email addresses are checked at the boundary as one deliverable mailbox, with the check the
mailer uses; and a student cannot review their own skills."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from consumers.emails import deliverable
from infrastructure.mailer import Undeliverable
from tests.api.http import VERIFY, assert_error, event_count, invite, start_human
from tests.support import STUDENT

# Each is refused by the mailer: a list, a display form, stray brackets, a quoted local
# part, an IP literal, no dot, a special-use name, two dots, a trailing dot.
SHAPE = "student.email must be an email address"  # what the schema's pattern refuses first
UNDELIVERABLE = [
    "a,x@example.org",
    "x@example.org>",
    "x<y@example.org",
    "Ada <ada@example.org>",
    '"a b"@example.org',
    "a@[127.0.0.1]",
    "a@localhost",
    "a@school.local",
    "a..b@example.org",
    "a@example.org.",
]


@pytest.mark.parametrize("email", UNDELIVERABLE)
def test_a_student_email_the_mailer_would_refuse_is_refused(
    client: TestClient[Litestar], tenant_key: str, email: str
) -> None:
    body = {
        "student": {**STUDENT, "email": email},
        "skills": [{"skillId": "skill_001", "name": "React"}],
    }
    response = client.post(VERIFY, json=body, headers={"x-api-key": tenant_key})
    message = assert_error(response, 400, "VALIDATION_ERROR")
    assert message.startswith(("student.email: not one deliverable mailbox (", SHAPE)), message
    assert email not in message
    with pytest.raises(Undeliverable):
        deliverable(email)


@pytest.mark.parametrize("email", UNDELIVERABLE)
def test_a_reviewer_email_the_mailer_would_refuse_is_refused(
    client: TestClient[Litestar], tenant_key: str, email: str
) -> None:
    record, session = start_human(client, tenant_key)
    message = assert_error(invite(client, session, email=email), 400, "VALIDATION_ERROR")
    assert message.startswith(("email: not one deliverable mailbox (", SHAPE[8:])), message
    assert event_count(client, tenant_key, record) == 1


@pytest.mark.parametrize("email", ["ada@example.com", "ADA@Example.COM", " Ada@example.com"])
def test_the_student_cannot_be_their_own_reviewer(
    client: TestClient[Litestar], tenant_key: str, email: str
) -> None:
    assert STUDENT["email"] == "ada@example.com"
    record, session = start_human(client, tenant_key)
    for credential, extra in ((session, {}), (tenant_key, {"recordVerificationId": record})):
        response = invite(client, credential, email=email, **extra)
        if email != email.strip():  # a blank around is not an address at all
            assert_error(response, 400, "VALIDATION_ERROR")
            continue
        message = assert_error(response, 400, "VALIDATION_ERROR")
        assert message == "email: the reviewer must be someone other than the student"
    assert event_count(client, tenant_key, record) == 1
    assert invite(client, session, email="grace@example.com").status_code == 200


def test_a_valid_address_passes_both_checks() -> None:
    assert str(deliverable("grace.hopper+review@navy.example.com")) == (
        "grace.hopper+review@navy.example.com"
    )
