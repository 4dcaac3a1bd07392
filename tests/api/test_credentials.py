"""Open Badges 3.0 credentials, checked by verifiers outside the service: PyJWT against the
published JWKS, and openbadgeslib resolving the issuer's did:web and fetching the status
list. Issued once a record locks, revoked by the tenant or by the student's erasure."""

from __future__ import annotations

import base64
import gzip
import json
import random
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import jwt
import pytest
from jsonschema import Draft202012Validator
from litestar import Litestar
from litestar.testing import TestClient
from openbadgeslib.ob3.verifier import OB3VerificationError, OB3Verifier

from api.app import create_app
from domain.assessment import Assessment
from entrypoints.bootstrap import Services
from infrastructure.credential_keys import CredentialKeys
from projections.runner import MODELS, rebuild
from tests.api.http import assert_error
from tests.integration.test_emails import send_result_emails
from tests.processes import assess
from tests.support import (
    MASTER_KEY,
    PYTHON,
    REACT,
    make_service,
    project,
    take_attempt,
    take_endorsement,
)

PUBLIC = "https://badges.example.com"
SCHEMA = Draft202012Validator(
    json.loads(
        (Path(__file__).parents[1] / "data" / "open-badge-credential.schema.json").read_text()
    ),
    format_checker=Draft202012Validator.FORMAT_CHECKER,
)
ISSUER = "did:web:badges.example.com"


@pytest.fixture
def issuing(sqlite_url: str, tmp_path: Path) -> Iterator[Services]:
    """A service whose public URL is PUBLIC, its issuer's key under tmp_path."""
    service = make_service(sqlite_url, data_dir=tmp_path, public_url=PUBLIC)
    yield service
    service.store.close()


@pytest.fixture
def web(issuing: Services) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(issuing)) as client:
        yield client


@pytest.fixture
def key(issuing: Services) -> str:
    return issuing.access.issue_key("acme", "live")


def fetcher(web: TestClient[Litestar]) -> Callable[[str], bytes]:
    """What openbadgeslib downloads over HTTPS, served by the app (the public URL's host)."""

    def download(url: str) -> bytes:
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc) == ("https", "badges.example.com"), url
        response = web.get(parts.path)
        assert response.status_code == 200, (url, response.text)
        return response.content

    return download


def issued(service: Services, record_id: str) -> int:
    """Issue the record's credentials as the issuer follows the locks, and project them."""
    count = service.credential_issuer().issue(UUID(record_id[-32:]))
    project(service)
    return count


def credentials_of(web: TestClient[Litestar], key: str, record_id: str) -> list[dict[str, Any]]:
    response = web.get(f"/api/v1/verifications/{record_id}/credentials", headers={"x-api-key": key})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found


def bits(encoded: str) -> bytes:
    assert encoded.startswith("u")
    packed = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
    return gzip.decompress(packed)


def test_a_pass_is_issued_as_a_credential_that_outside_verifiers_accept(
    issuing: Services, web: TestClient[Litestar], key: str
) -> None:
    record_id = take_attempt(issuing, correct=10, skills=(REACT, PYTHON))
    assert credentials_of(web, key, record_id) == []  # not before the issuer ran
    assert issued(issuing, record_id) == 2
    assert issued(issuing, record_id) == 0  # once only
    found = credentials_of(web, key, record_id)
    assert [(item["skillId"], item["status"]) for item in found] == [
        ("skill_001", "active"),
        ("skill_002", "active"),
    ]
    token = found[0]["jwt"]
    assert jwt.get_unverified_header(token) == {
        "alg": "ES256",
        "typ": "JWT",
        "kid": f"{ISSUER}#{web.get('/.well-known/jwks.json').json()['keys'][0]['kid']}",
    }
    keys = jwt.PyJWKSet.from_dict(web.get("/.well-known/jwks.json").json())
    kid = jwt.get_unverified_header(token)["kid"].split("#")[1]
    claims = jwt.decode(token, keys[kid].key, algorithms=["ES256"])
    SCHEMA.validate(claims)
    assert not SCHEMA.is_valid({**claims, "type": ["VerifiableCredential"]})
    assert not SCHEMA.is_valid({**claims, "validFrom": "yesterday"})
    assert claims["iss"] == claims["issuer"]["id"] == ISSUER
    assert claims["jti"] == claims["id"] == f"urn:uuid:{found[0]['credentialId']}"
    assert claims["sub"] == claims["credentialSubject"]["id"]
    assert claims["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    achievement = claims["credentialSubject"]["achievement"]
    assert achievement["achievementType"] == "Competency"
    assert achievement["name"] == "React"
    assert "10 of 10 questions right (100%)" in achievement["criteria"]["narrative"]
    assert "Ada" not in token
    assert "ada@example.com" not in str(claims)
    status = claims["credentialStatus"]
    assert status["statusListCredential"] == f"{PUBLIC}/credentials/status/1"
    assert status["id"] == f"{status['statusListCredential']}#{status['statusListIndex']}"

    verifier = OB3Verifier.for_issuer_did(ISSUER, download=fetcher(web))
    credential = verifier.verify(token, check_status=True, download=fetcher(web))
    assert credential.issuer.id == ISSUER
    head, body, signature = token.split(".")
    changed = f"{head}.{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}.{signature}"
    with pytest.raises(OB3VerificationError, match="Invalid signature"):  # one byte changed
        verifier.verify(changed)


def test_the_same_student_has_one_pseudonym_per_tenant_and_no_name_anywhere(
    issuing: Services, web: TestClient[Litestar], key: str
) -> None:
    first = take_attempt(issuing, correct=10)
    second = take_endorsement(issuing, ["skill_002"])
    issued(issuing, first)
    issued(issuing, second)
    subjects = {
        jwt.decode(item["jwt"], options={"verify_signature": False})["sub"]
        for record_id in (first, second)
        for item in credentials_of(web, key, record_id)
    }
    assert len(subjects) == 1
    [endorsed] = credentials_of(web, key, second)
    claims = jwt.decode(endorsed["jwt"], options={"verify_signature": False})
    narrative = claims["credentialSubject"]["achievement"]["criteria"]["narrative"]
    assert "endorsement type: tech_lead" in narrative
    assert "Grace" not in endorsed["jwt"]
    assert "Navy" not in narrative


def test_a_revocation_reaches_the_status_list_at_once_and_verifiers_refuse_the_credential(
    issuing: Services, web: TestClient[Litestar], key: str
) -> None:
    record_id = take_attempt(issuing, correct=10)
    issued(issuing, record_id)
    [item] = credentials_of(web, key, record_id)
    index = int(
        jwt.decode(item["jwt"], options={"verify_signature": False})["credentialStatus"][
            "statusListIndex"
        ]
    )
    headers = {"x-api-key": key}
    answer = web.post(
        f"/api/v1/verifications/{record_id}/revoke", json={"reason": "exam fraud"}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["reason"] == "exam fraud"
    assert [(s["skillId"], s["status"], s["verified"]) for s in data["skills"]] == [
        ("skill_001", "revoked", False)
    ]
    again = web.post(
        f"/api/v1/verifications/{record_id}/revoke", json={"reason": "other"}, headers=headers
    )
    assert again.json()["data"] == data  # once: the first answer, nothing recorded

    project(issuing)
    listed = web.get("/credentials/status/1")
    again = web.get("/credentials/status/1")
    decoded = jwt.decode(listed.text, options={"verify_signature": False})
    assert jwt.decode(again.text, options={"verify_signature": False}) == decoded
    assert decoded["validFrom"] == data["revokedAt"][:19] + "Z"  # its last change
    assert listed.headers["content-type"].startswith("application/jwt")
    document = jwt.decode(listed.text, options={"verify_signature": False})
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    revoked = bits(document["credentialSubject"]["encodedList"])
    assert len(revoked) == 131_072 // 8
    assert revoked[index // 8] & (0x80 >> (index % 8))
    assert sum(bin(byte).count("1") for byte in revoked) == 1

    [after] = credentials_of(web, key, record_id)
    assert after["status"] == "revoked"
    verifier = OB3Verifier.for_issuer_did(ISSUER, download=fetcher(web))
    verifier.verify(after["jwt"])  # the signature still holds
    with pytest.raises(OB3VerificationError, match=f"'revocation' is set at index {index} "):
        verifier.verify(after["jwt"], check_status=True, download=fetcher(web))
    record = web.get(f"/api/v1/verifications/{record_id}", headers=headers).json()["data"]
    assert record["skills"][0]["status"] == "revoked"
    skills = web.get("/api/v1/students/stu_1/skills", headers=headers).json()["data"]
    assert [(s["skillId"], s["status"]) for s in skills] == [("skill_001", "revoked")]


def test_a_record_with_nothing_verified_cannot_be_revoked(
    issuing: Services, web: TestClient[Litestar], key: str
) -> None:
    record_id = take_attempt(issuing, correct=0)
    answer = web.post(
        f"/api/v1/verifications/{record_id}/revoke",
        json={"reason": "x"},
        headers={"x-api-key": key},
    )
    assert_error(answer, 409, "NOT_VERIFIED")
    blank = web.post(
        f"/api/v1/verifications/{record_id}/revoke", json={"reason": ""}, headers={"x-api-key": key}
    )
    assert_error(blank, 400, "VALIDATION_ERROR")


def test_erasure_revokes_and_stops_offering_the_credential(
    issuing: Services, web: TestClient[Litestar], key: str
) -> None:
    record_id = take_attempt(issuing, correct=10)
    issued(issuing, record_id)
    [item] = credentials_of(web, key, record_id)
    erased = web.delete("/api/v1/students/stu_1", headers={"x-api-key": key})
    assert erased.status_code == 200, erased.text
    project(issuing)
    [after] = credentials_of(web, key, record_id)
    assert (after["status"], after["jwt"]) == ("revoked", None)
    verifier = OB3Verifier.for_issuer_did(ISSUER, download=fetcher(web))
    with pytest.raises(OB3VerificationError, match="'revocation' is set at index"):
        verifier.verify(item["jwt"], check_status=True, download=fetcher(web))
    assert web.get(f"/credentials/{item['credentialId']}.jwt").status_code == 404
    page = web.get(f"/credentials/{item['credentialId']}")
    assert page.status_code == 200
    assert "Revoked" in page.text
    assert "personal data was erased" in page.text


def test_the_public_page_shows_the_badge_and_offers_the_jwt(
    issuing: Services, web: TestClient[Litestar], key: str
) -> None:
    record_id = take_attempt(issuing, correct=10)
    issued(issuing, record_id)
    [item] = credentials_of(web, key, record_id)
    page = web.get(f"/credentials/{item['credentialId']}")
    assert page.status_code == 200
    assert "React" in page.text
    assert "Active" in page.text
    assert "Ada" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    served = web.get(f"/credentials/{item['credentialId']}.jwt")
    assert served.headers["content-type"].startswith("application/jwt")
    assert (
        jwt.decode(served.text, options={"verify_signature": False})["id"]
        == f"urn:uuid:{item['credentialId']}"
    )
    assert web.get("/credentials/not-a-uuid").status_code == 404
    aliases = [
        item["credentialId"].upper(),
        f"urn:uuid:{item['credentialId']}",
        "{" + item["credentialId"] + "}.jwt",
        item["credentialId"].replace("-", ""),
    ]
    for alias in aliases:
        assert web.get(f"/credentials/{alias}").status_code == 404, alias
    for number in ("0001", "+1", "%201", "\u0661", "0", "9" * 10):
        assert web.get(f"/credentials/status/{number}").status_code == 404, number
    assert web.get("/credentials/status/1").status_code == 200
    assert web.get(f"/credentials/{UUID(int=5)}").status_code == 404
    assert web.get("/credentials/status/99").status_code == 404


def test_the_students_emails_link_to_their_credentials_pages(
    sqlite_url: str, tmp_path: Path
) -> None:
    service = make_service(sqlite_url, data_dir=tmp_path, public_url=PUBLIC)
    passed = take_attempt(service, correct=10, skills=(REACT, PYTHON))
    endorsed = take_endorsement(service, ["skill_002"])
    send_result_emails(service)
    texts = [
        message_from_bytes(eml.read_bytes(), policy=policy.default)
        .get_body(("plain",))
        .get_content()  # type: ignore[union-attr]
        for eml in sorted(service.settings.outbox.glob("*.eml"))
    ]
    links = [
        line.split(": ", 1)[1]
        for text in texts
        for line in text.splitlines()
        if f"{PUBLIC}/credentials/" in line
    ]
    assert len(links) == 3  # React and Python passed; Python endorsed (React was not)
    for record_id in (passed, endorsed):
        issued(service, record_id)
    with TestClient(create_app(service)) as web:
        pages = [web.get(urlsplit(link).path) for link in links]
        assert [page.status_code for page in pages] == [200, 200, 200]
        assert ["Python" in page.text for page in pages].count(True) == 2
    service.store.close()


def encoded_of(web: TestClient[Litestar], status_list: int = 1) -> str:
    listed = web.get(f"/credentials/status/{status_list}")
    assert listed.status_code == 200, listed.text
    encoded: str = jwt.decode(listed.text, options={"verify_signature": False})[
        "credentialSubject"
    ]["encodedList"]
    return encoded


def test_a_rebuild_of_the_credential_view_gives_the_same_status_list_bytes(
    issuing: Services, web: TestClient[Litestar], key: str
) -> None:
    records = [take_attempt(issuing, correct=10, student=f"stu_{n}") for n in range(4)]
    for record_id in records:
        issued(issuing, record_id)
    for record_id in records[:2]:
        web.post(
            f"/api/v1/verifications/{record_id}/revoke",
            json={"reason": "fraud"},
            headers={"x-api-key": key},
        )
    web.delete("/api/v1/students/stu_3", headers={"x-api-key": key})
    project(issuing)
    before = encoded_of(web)
    assert sum(bin(byte).count("1") for byte in bits(before)) == 3
    assert rebuild(issuing.store, MODELS["credential_view"], lambda done, total: None) == (1, 2)
    assert encoded_of(web) == before


def test_after_a_rotation_old_and_new_credentials_verify_and_the_list_is_signed_anew(
    issuing: Services, web: TestClient[Litestar], key: str
) -> None:
    first = take_attempt(issuing, correct=10, student="stu_old")
    issued(issuing, first)
    [old] = credentials_of(web, key, first)  # signed with the first key
    CredentialKeys.rotate(issuing.settings.credential_key_path)
    second = take_attempt(issuing, correct=10, student="stu_new")
    issued(issuing, second)
    [new] = credentials_of(web, key, second)
    old_kid, new_kid = (jwt.get_unverified_header(item["jwt"])["kid"] for item in (old, new))
    assert old_kid != new_kid
    verifier = OB3Verifier.for_issuer_did(ISSUER, download=fetcher(web))
    for item in (old, new):
        verifier.verify(item["jwt"], check_status=True, download=fetcher(web))
    methods = web.get("/.well-known/did.json").json()["verificationMethod"]
    assert [method["id"] for method in methods] == [new_kid, old_kid]  # the current first
    listed = web.get("/credentials/status/1").text
    assert jwt.get_unverified_header(listed)["kid"] == new_kid


def stored(service: Services, record_id: str) -> Assessment:
    record = service.store.find(Assessment, UUID(record_id[-32:]))
    assert record is not None
    return record


def test_two_issuers_never_give_two_credentials_one_place(issuing: Services) -> None:
    records = [take_attempt(issuing, correct=10, student=f"stu_{n}") for n in range(2)]
    one, other = issuing.credential_issuer(), issuing.credential_issuer()
    one.rng, other.rng = random.Random(1), random.Random(1)  # the same draws
    one.taken = other.taken = lambda *place: False  # type: ignore[method-assign]
    # Both look before they save, and neither sees the other's place: the store refuses the
    # second save, and the second issuer draws again.
    assert one.issue(UUID(records[0][-32:])) == 1
    assert other.issue(UUID(records[1][-32:])) == 1
    places = [
        (held.issued.status_list, held.issued.status_index)
        for record_id in records
        for held in stored(issuing, record_id).credentials
    ]
    assert len(set(places)) == 2


def test_a_list_whose_draws_keep_finding_places_taken_is_left_for_the_next(
    issuing: Services,
) -> None:
    issuer = issuing.credential_issuer()
    issuer.taken = lambda status_list, status_index: status_list == 1  # type: ignore[method-assign]
    record_id = take_attempt(issuing, correct=10)
    assert issuer.issue(UUID(record_id[-32:])) == 1
    [held] = stored(issuing, record_id).credentials
    assert held.issued.status_list == 2


def test_a_revoked_record_leaves_a_skill_verified_by_another_record_of_the_student(
    issuing: Services, web: TestClient[Litestar], key: str
) -> None:
    first = take_attempt(issuing, correct=10)
    second = take_attempt(issuing, correct=10)
    headers = {"x-api-key": key}

    def react() -> tuple[str, str]:
        project(issuing)
        [skill] = web.get("/api/v1/students/stu_1/skills", headers=headers).json()["data"]
        return skill["status"], skill["recordVerificationId"]

    assert react() == ("verified", first)  # the first verification stands
    revoked = web.post(
        f"/api/v1/verifications/{first}/revoke", json={"reason": "fraud"}, headers=headers
    )
    assert revoked.status_code == 200
    assert react() == ("verified", second)
    web.post(f"/api/v1/verifications/{second}/revoke", json={"reason": "fraud"}, headers=headers)
    assert react() == ("revoked", second)
    third = take_attempt(issuing, correct=10)
    assert react() == ("verified", third)


def test_the_operator_issues_what_the_follower_passed_by(sqlite_url: str, tmp_path: Path) -> None:
    service = make_service(sqlite_url, data_dir=tmp_path, public_url=PUBLIC)
    take_attempt(service, correct=10, skills=(REACT, PYTHON))
    take_endorsement(service, ["skill_002"])
    take_attempt(service, correct=0, student="stu_failed")
    service.store.close()
    env = {
        "ASSESS_DATABASE_URL": sqlite_url,
        "ASSESS_MASTER_KEY": MASTER_KEY,
        "ASSESS_PUBLIC_URL": PUBLIC,
    }
    first = assess("credentials", "issue", "--data", str(tmp_path), env=env)
    assert first.strip() == "issued 3 credentials for 2 records"
    again = assess("credentials", "issue", "--data", str(tmp_path), env=env)
    assert again.strip() == "issued 0 credentials for 0 records"


def test_a_read_right_after_a_pass_finds_the_credential_the_follower_issues(
    issuing: Services, web: TestClient[Litestar], key: str
) -> None:
    stopping = threading.Event()
    follower = threading.Thread(target=issuing.issue_credentials, args=(stopping,))
    follower.start()
    try:
        record_id = take_attempt(issuing, correct=10)
        [item] = credentials_of(web, key, record_id)  # no polling: the read waits a moment
        assert item["status"] == "active"
    finally:
        stopping.set()
        follower.join(timeout=30)


def test_a_page_opened_as_its_credential_is_issued_waits_for_the_view(
    issuing: Services, web: TestClient[Litestar], key: str
) -> None:
    """The student may open the link before the credential view has applied the issue: the
    page waits a moment for it, then says it is being recorded (never 'no such credential')."""
    record_id = take_attempt(issuing, correct=10)
    issuing.credential_issuer().issue(UUID(record_id[-32:]))  # stored, not yet in the view
    [item] = credentials_of(web, key, record_id)
    address = f"/credentials/{item['credentialId']}"
    behind = web.get(address)
    assert (behind.status_code, behind.headers["retry-after"]) == (503, "1")
    assert "being recorded" in behind.text
    assert web.get(f"{address}.jwt").status_code == 503
    projecting = threading.Timer(0.2, project, args=(issuing,))  # the view follows meanwhile
    projecting.start()
    try:
        assert web.get(address).status_code == 200
    finally:
        projecting.join()
    assert web.get(f"/credentials/{UUID(int=7)}").status_code == 404  # caught up: none such
