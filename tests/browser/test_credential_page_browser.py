"""A student's credential end to end, against a real `assess dev` server: endorsed skills
are issued by its own follower, the confirmation email links to the credential's page,
which renders in the machine's chromium (nothing loaded from elsewhere, nothing refused by
its policy, no serious accessibility violation), and the JWT it offers verifies with two
verifiers outside the service, openbadgeslib (Python) and jose (Node, tests/node), until
the tenant revokes it or the student is erased. A changed byte and another key fail.
Saves docs/credential-page.png when ASSESS_SCREENSHOTS=1."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import jwt
import pytest
from axe_playwright_python.sync_playwright import Axe
from cryptography.hazmat.primitives.asymmetric import ec
from openbadgeslib.ob3.verifier import OB3VerificationError, OB3Verifier
from playwright.sync_api import Browser, expect

from application.access import reviewer_key, reviewer_token
from application.settings import Settings
from domain.assessment import Assessment
from infrastructure.persistence import open_store
from tests.browser.test_review_page_browser import (
    MASTER_KEY,
    SCREENSHOTS,
    Watched,
)
from tests.processes import assess, server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "credential-page.png"
VERIFY = ROOT / "tests" / "node" / "verify.mjs"
PUBLIC = "https://badges.example.com"
ISSUER = "did:web:badges.example.com"
API = "/api/v1"
SKILLS = [{"skillId": "skill_001", "name": "React"}, {"skillId": "skill_002", "name": "Python"}]


class Dev:
    """The running server (its public URL is PUBLIC), a tenant key and its outbox."""

    def __init__(self, url: str, key: str, data: Path) -> None:
        self.url = url
        self.key = key
        self.data = data
        self.outbox = data / "outbox"

    def local(self, public: str) -> str:
        """A public URL of the service, as this server answers it."""
        assert public.startswith(PUBLIC), public
        return self.url + public.removeprefix(PUBLIC)

    def download(self, url: str) -> bytes:
        """What openbadgeslib fetches over HTTPS, from this server."""
        response = httpx.get(self.local(url))
        assert response.status_code == 200, (url, response.text)
        return response.content

    def call(self, verb: str, path: str, **body: Any) -> Any:
        """An API call with the tenant key; its data."""
        response = httpx.request(
            verb, f"{self.url}{API}{path}", json=body or None, headers={"x-api-key": self.key}
        )
        assert response.status_code < 300, response.text
        return response.json()["data"]

    def endorsed(self, student: str) -> str:
        """A human record of the student whose reviewer endorsed Python (not React)."""
        record_id: str = self.call(
            "POST",
            "/verify",
            student={"studentId": student, "name": "Ada Lovelace", "email": "ada@example.com"},
            skills=SKILLS,
            method="human_endorsement",
        )["recordVerificationId"]
        self.call(
            "POST",
            "/humanverification/reviewer",
            name="Grace Hopper",
            email="grace@example.com",
            endorsementType="tech_lead",
            recordVerificationId=record_id,
        )
        token = reviewer_token(reviewer_key(bytes.fromhex(MASTER_KEY)), UUID(record_id[-32:]), 1)
        endorsed = httpx.post(
            f"{self.url}{API}/humanverification/verify",
            json={"skillIds": ["skill_002"]},
            params={"reviewerToken": token},
        )
        assert endorsed.status_code == 200, endorsed.text
        return record_id

    def passed(self, student: str) -> str:
        """An assessment record of the student whose first attempt answered every question
        right (the answers read from the server's store, as only a test can)."""
        started = self.call(
            "POST",
            "/verify",
            student={"studentId": student, "name": "Ada Lovelace", "email": "ada@example.com"},
            skills=SKILLS[:1],
        )
        session = {"x-api-key": started["sessionToken"]}
        drawn = httpx.post(f"{self.url}{API}/assessment/generate", json={}, headers=session)
        assert drawn.status_code == 200, drawn.text
        record_id: str = started["recordVerificationId"]
        store = open_store(Settings(data_dir=self.data, master_key=MASTER_KEY))
        try:
            record = store.find(Assessment, UUID(record_id[-32:]))
            assert record is not None
            assert record.question_set is not None
            answers = [
                {"questionId": question.question_id, "selectedAnswer": question.answer}
                for question in record.question_set
            ]
        finally:
            store.close()
        submitted = httpx.post(
            f"{self.url}{API}/assessment/submit", json={"answers": answers}, headers=session
        )
        assert submitted.status_code == 200, submitted.text
        return record_id

    def credentials(self, record_id: str) -> list[dict[str, Any]]:
        """The record's credentials, once its follower has issued them."""
        deadline = time.monotonic() + 30
        while True:
            found: list[dict[str, Any]] = self.call(
                "GET", f"/verifications/{record_id}/credentials"
            )
            if found:
                return found
            assert time.monotonic() < deadline, "no credential was issued"
            time.sleep(0.1)

    def emailed(self, link: str) -> bool:
        """Whether a result or confirmation email in the outbox links to this page (waiting
        for the email consumer to write it)."""
        deadline = time.monotonic() + 30
        while True:
            texts = [
                message_from_bytes(eml.read_bytes(), policy=policy.default)
                .get_body(("plain",))
                .get_content()  # type: ignore[union-attr]
                for eml in self.outbox.glob("*.eml")
            ]
            if any(line.endswith(f": {link}") for text in texts for line in text.splitlines()):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    folder = tmp_path_factory.mktemp("credentials")
    data = folder / "data"
    env = {"ASSESS_MASTER_KEY": MASTER_KEY, "ASSESS_PUBLIC_URL": PUBLIC}
    with server("dev", "--data", str(data), env=env, log=folder / "dev.log") as url:
        key = assess("keys", "create", "--tenant", "acme", "--data", str(data), env=env)
        yield Dev(url, key.splitlines()[-1], data)


def node_verdict(dev: Dev, token: str) -> dict[str, Any]:
    """What the Node verifier (jose) says of a credential; AssertionError if it refuses."""
    ran = subprocess.run(
        ["node", str(VERIFY), PUBLIC, dev.url],
        input=token,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    verdict: dict[str, Any] = json.loads(ran.stdout)
    return verdict


def node_refuses(dev: Dev, token: str) -> str:
    ran = subprocess.run(
        ["node", str(VERIFY), PUBLIC, dev.url], input=token, capture_output=True, text=True
    )
    assert ran.returncode != 0, ran.stdout
    return ran.stderr


def test_an_endorsed_skill_is_a_badge_anyone_can_check_until_it_is_revoked(
    dev: Dev, browser: Browser
) -> None:
    record_id = dev.endorsed("stu_7")
    [credential] = dev.credentials(record_id)
    link = f"{PUBLIC}/credentials/{credential['credentialId']}"
    assert dev.emailed(link)

    context = browser.new_context(viewport={"width": 412, "height": 915})
    watched = Watched(context)
    page = watched.page
    page.goto(dev.local(link))
    expect(page.get_by_role("heading", level=1)).to_have_text("Python")
    expect(page.get_by_text("Active: the issuer stands by this credential.")).to_be_visible()
    assert watched.requests == [dev.local(link)]  # nothing else: no script, no font, no image
    assert watched.errors == []
    results = Axe().run(page)
    assert [
        v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")
    ] == []
    shot = page.screenshot(full_page=True)
    assert shot.startswith(b"\x89PNG")
    if SCREENSHOTS:
        SCREENSHOT.write_bytes(shot)
    jwt_link = page.get_by_role("link", name="Download the credential (JWT)").get_attribute("href")
    served = httpx.get(f"{dev.url}{jwt_link}")
    assert served.headers["content-type"].startswith("application/jwt")
    token = served.text
    assert token == token.strip()
    context.close()

    assert node_verdict(dev, token) | {"index": 0} == {
        "verified": True,
        "revoked": False,
        "index": 0,
    }
    verifier = OB3Verifier.for_issuer_did(ISSUER, download=dev.download)
    verifier.verify(token, check_status=True, download=dev.download)

    head, body, signature = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(body))
    forged = jwt.encode(
        {**claims, "name": "Rust"},
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"kid": jwt.get_unverified_header(token)["kid"], "typ": "JWT"},
    )
    assert "signature verification failed" in node_refuses(dev, forged)
    with pytest.raises(OB3VerificationError, match="Invalid signature"):
        verifier.verify(forged)
    changed = jwt.utils.base64url_encode(json.dumps({**claims, "name": "Rust"}).encode()).decode()
    assert "signature verification failed" in node_refuses(dev, f"{head}.{changed}.{signature}")

    dev.call("POST", f"/verifications/{record_id}/revoke", reason="endorsed by mistake")
    assert node_verdict(dev, token)["revoked"] is True  # at once
    with pytest.raises(OB3VerificationError, match="'revocation' is set"):
        verifier.verify(token, check_status=True, download=dev.download)
    page_after = httpx.get(dev.local(link))
    assert "Revoked on" in page_after.text


def test_the_students_erasure_revokes_their_credentials(dev: Dev) -> None:
    record_id = dev.endorsed("stu_8")
    [credential] = dev.credentials(record_id)
    token = credential["jwt"]
    assert node_verdict(dev, token)["revoked"] is False
    dev.call("DELETE", "/students/stu_8")
    assert node_verdict(dev, token)["revoked"] is True
    [after] = dev.call("GET", f"/verifications/{record_id}/credentials")
    assert (after["status"], after["jwt"]) == ("revoked", None)
    assert httpx.get(f"{dev.url}/credentials/{credential['credentialId']}.jwt").status_code == 404


def test_a_student_who_passes_is_emailed_a_badge_that_verifies(dev: Dev) -> None:
    record_id = dev.passed("stu_9")
    [credential] = dev.credentials(record_id)
    link = f"{PUBLIC}/credentials/{credential['credentialId']}"
    assert dev.emailed(link)  # the result email
    page = httpx.get(dev.local(link))
    assert page.status_code == 200
    assert "React" in page.text
    assert "Passed a multiple-choice assessment" in page.text
    token = httpx.get(dev.local(f"{link}.jwt")).text
    assert node_verdict(dev, token)["revoked"] is False
    OB3Verifier.for_issuer_did(ISSUER, download=dev.download).verify(
        token, check_status=True, download=dev.download
    )
