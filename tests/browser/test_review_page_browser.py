"""The reviewer page in a real browser (the machine's Debian chromium, driven by Playwright)
against a real `assess dev` server: a reviewer ticks a skill by its label and presses the
button, with JavaScript on and off, and the record is completed; by keyboard alone; no
serious or critical axe-core violation; nothing loaded from elsewhere and nothing refused by
the page's own policy. Saves the screenshot in docs/reviewer-page.png when ASSESS_SCREENSHOTS=1.

Chromium missing is a failure, not a skip: CI installs it (.ci/run)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
)

from application.access import reviewer_key, reviewer_token
from tests.processes import assess, server

# The screenshot in docs/ is written only when asked (ASSESS_SCREENSHOTS=1): no test run
# changes a tracked file.
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "reviewer-page.png"
SCREENSHOTS = os.environ.get("ASSESS_SCREENSHOTS") == "1"
MASTER_KEY = secrets.token_hex(32)
API = "/api/v1"
STUDENT = {"studentId": "stu_42", "name": "Ada Lovelace", "email": "ada@example.com"}
SKILLS = [
    {
        "skillId": "skill_001",
        "name": "React",
        "proofUrls": ["https://github.com/ada/engine-ui", "https://ada.example.com/demo"],
    },
    {"skillId": "skill_002", "name": "Python", "proofUrls": ["https://github.com/ada/notes"]},
    {"skillId": "skill_005", "name": "SQL"},
]
SOURCES = [
    {
        "type": "experience",
        "title": "Software engineer",
        "subtitle": "Babbage & Co",
        "description": "Built the ordering front end and its reporting jobs.",
        "startDate": "2024-03-01",
        "endDate": "2025-06-30",
        "url": "https://babbage.example.com",
    },
    {"type": "project", "title": "Analytical Engine notes", "startDate": "2025-01-01"},
]
REVIEWER = {
    "name": "Grace Hopper",
    "email": "grace@example.com",
    "company": "Babbage & Co",
    "endorsementType": "tech_lead",
}
SERIOUS = ("serious", "critical")


class Dev:
    """The running server: its address and a tenant key."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.key = key

    def invited(self) -> tuple[str, str]:
        """A new human record whose reviewer was invited: its id and the link's URL."""
        body = {
            "student": STUDENT,
            "skills": SKILLS,
            "method": "human_endorsement",
            "sources": SOURCES,
        }
        started = httpx.post(f"{self.url}{API}/verify", json=body, headers=self.headers)
        assert started.status_code == 201, started.text
        record_id = started.json()["data"]["recordVerificationId"]
        reviewer = {**REVIEWER, "recordVerificationId": record_id}
        invited = httpx.post(
            f"{self.url}{API}/humanverification/reviewer", json=reviewer, headers=self.headers
        )
        assert invited.status_code == 200, invited.text
        key = reviewer_key(bytes.fromhex(MASTER_KEY))
        return record_id, f"{self.url}/review/{reviewer_token(key, UUID(record_id[-32:]), 1)}"

    def history(self, record_id: str) -> dict[str, Any]:
        """The record's history, read from the event store."""
        response = httpx.get(
            f"{self.url}{API}/verifications/{record_id}/history", headers=self.headers
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.key}


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    """`assess dev` on a fresh data folder, with a known master key and a tenant key."""
    folder = tmp_path_factory.mktemp("dev")
    data = str(folder / "data")
    env = {"ASSESS_MASTER_KEY": MASTER_KEY}
    with server("dev", "--data", data, env=env, log=folder / "dev.log") as url:
        key = assess("keys", "create", "--tenant", "acme", "--data", data, env=env)
        yield Dev(url, key.splitlines()[-1])


class Watched:
    """A page, with every request it made and every console error (a style the page's
    policy refused shows there)."""

    def __init__(self, context: BrowserContext) -> None:
        self.page: Page = context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)


@pytest.fixture(params=[True, False], ids=["javascript-on", "javascript-off"])
def watched(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Watched]:
    """A page on a phone-sized screen, with JavaScript on or off."""
    context = browser.new_context(
        java_script_enabled=request.param, viewport={"width": 412, "height": 915}
    )
    yield Watched(context)
    context.close()


def test_a_reviewer_endorses_a_ticked_skill(dev: Dev, watched: Watched) -> None:
    record_id, link = dev.invited()
    page = watched.page
    opened = page.goto(link)
    assert opened is not None
    assert opened.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Endorse the skills of Ada Lovelace")
    expect(page.get_by_role("link", name="https://github.com/ada/notes")).to_be_visible()
    # the inline style applies: its hash is in the page's policy
    button = page.get_by_role("button", name="Endorse selected skills")
    expect(button).to_have_css("background-color", "rgb(29, 95, 191)")

    page.get_by_label("Python", exact=True).check()
    button.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your endorsement was recorded")
    expect(page.get_by_role("heading", name="Endorsed skills")).to_be_visible()
    expect(page.get_by_role("listitem")).to_have_text(["Python", "React", "SQL"])
    assert watched.requests == [link, link]  # the page, the form post: nothing else
    assert watched.errors == []

    history = dev.history(record_id)
    types = [event["type"] for event in history["events"]]
    assert types[types.index("SkillsEndorsed") :][:2] == ["SkillsEndorsed", "Locked"]
    assert history["state"]["isLocked"] is True
    assert [(s["name"], s["status"]) for s in history["state"]["skills"]] == [
        ("React", "rejected"),
        ("Python", "verified"),
        ("SQL", "rejected"),
    ]

    again = page.goto(link)
    assert again is not None
    assert again.status == 409
    expect(page.get_by_role("heading", level=1)).to_have_text("These skills were already endorsed")


def focused(page: Page) -> str:
    """What has the keyboard's focus: a checkbox's label, or a control's text."""
    name: str = page.evaluate(
        "() => { const e = document.activeElement;"
        " return (e.labels && e.labels[0] ? e.labels[0].textContent : e.textContent) || '' }"
    )
    return name.strip()


def test_a_reviewer_endorses_by_keyboard_alone_and_sees_where_the_focus_is(
    dev: Dev, browser: Browser
) -> None:
    record_id, link = dev.invited()
    context = browser.new_context()
    page = context.new_page()
    page.goto(link)
    for _ in range(12):
        page.keyboard.press("Tab")
        if focused(page) == "SQL":
            break
    assert focused(page) == "SQL"
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth] }"
    )
    assert outline == ["solid", "3px"]
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert focused(page) == "Endorse selected skills"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your endorsement was recorded")
    skills = dev.history(record_id)["state"]["skills"]
    assert [s["name"] for s in skills if s["status"] == "verified"] == ["SQL"]
    context.close()


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']}"
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]


def test_the_reviewer_pages_have_no_serious_accessibility_violation(
    dev: Dev, browser: Browser
) -> None:
    _, link = dev.invited()
    context = browser.new_context(viewport={"width": 412, "height": 915})
    page = context.new_page()
    page.goto(link)
    shot = page.screenshot(full_page=True)  # taken every run: the page renders whole
    assert shot.startswith(b"\x89PNG")
    if SCREENSHOTS:
        SCREENSHOT.write_bytes(shot)
    assert serious_violations(page) == []
    page.get_by_role("button", name="Endorse selected skills").click()  # none ticked
    expect(page.get_by_role("alert")).to_have_text("Tick at least one skill to endorse.")
    assert serious_violations(page) == []
    page.get_by_label("React", exact=True).check()
    page.get_by_role("button", name="Endorse selected skills").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your endorsement was recorded")
    assert serious_violations(page) == []
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("These skills were already endorsed")
    assert serious_violations(page) == []
    context.close()
