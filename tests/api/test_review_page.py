"""The reviewer page over HTTP: what it shows and escapes, its headers, the form post that
records what the API would, and every link that cannot be served as a page with its reason
and status (never the JSON envelope), hostile paths included."""

from __future__ import annotations

import base64
import hashlib
import json
from html.parser import HTMLParser
from typing import Any, NamedTuple

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from application.service import AssessmentService
from tests.api.http import (
    API,
    ENDORSE,
    PAGE,
    SKILLS,
    SOURCE,
    VERIFY,
    assert_error,
    event_count,
    invite,
)
from tests.support import STUDENT, Clock, link_token, make_service

FULL_SOURCE = {
    "type": "experience",
    "title": "Engineer at Babbage & Co",
    "subtitle": "Analytical Engine team",
    "description": "Wrote the first published programs.",
    "startDate": "2025-01-01",
    "endDate": "2025-06-30",
    "url": "https://example.com/babbage",
}
VOID = {"meta", "input", "br", "img", "link", "hr", "source", "wbr", "area", "base", "col"}


class Element(NamedTuple):
    tag: str
    attrs: dict[str, str | None]
    text: list[str]  # its text, in pieces (the parser appends while it is open)

    @property
    def words(self) -> str:
        return " ".join("".join(self.text).split())


class Html(HTMLParser):
    """The elements of a page, each with its attributes and text, as a browser reads them
    (entities decoded)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), [])
        self.elements.append(element)
        if tag not in VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text.append(data)

    def all(self, tag: str, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())
        ]

    def one(self, tag: str, **attrs: str) -> Element:
        [element] = self.all(tag, **attrs)
        return element

    def checkboxes(self) -> dict[str, str]:
        """Each checkbox's value and the text of its label."""
        return {
            str(box.attrs["value"]): self.one("label", **{"for": str(box.attrs["id"])}).words
            for box in self.all("input", type="checkbox")
        }


def start_human(client: TestClient[Litestar], tenant_key: str, **body: Any) -> tuple[str, str]:
    request = {
        "student": STUDENT,
        "skills": SKILLS,
        "method": "human_endorsement",
        "sources": [SOURCE],
        **body,
    }
    response = client.post(VERIFY, json=request, headers={"x-api-key": tenant_key})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    return data["recordVerificationId"], data["sessionToken"]


def invited(
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str, **body: Any
) -> tuple[str, str]:
    """A human record whose reviewer was invited: its id and the path of the link."""
    record_id, session = start_human(client, tenant_key, **body)
    assert invite(client, session).status_code == 200
    return record_id, f"/review/{link_token(service, record_id)}"


def assert_page(response: httpx.Response, status: int) -> Html:
    """An HTML page with the page's headers and no script, loading nothing."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = dict(
        [*directive.split(" ", 1), ""][:2]
        for directive in response.headers["content-security-policy"].split("; ")
    )
    html = Html(response.text)
    [style] = html.all("style")
    digest = base64.b64encode(hashlib.sha256("".join(style.text).encode()).digest()).decode()
    assert policy == {
        "default-src": "'none'",
        "style-src": f"'sha256-{digest}'",
        "form-action": "'self'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
    }
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-robots-tag"] == "noindex"
    assert response.headers["cache-control"] == "no-store"
    assert not html.all("script")
    assert not html.all("link")
    assert not [e for e in html.elements if "src" in e.attrs or "style" in e.attrs]
    assert html.one("html").attrs["lang"] == "en"
    return html


def assert_problem(response: httpx.Response, status: int, heading: str) -> str:
    """A page saying why, with the status the API answers; never the JSON envelope."""
    html = assert_page(response, status)
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)
    assert html.one("h1").words == heading
    assert not html.all("form")
    return html.one("main").words


def test_the_page_shows_who_asks_the_sources_and_each_skill_with_its_checkbox(
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str
) -> None:
    _, link = invited(client, service, tenant_key, sources=[FULL_SOURCE, SOURCE])
    html = assert_page(client.get(link), 200)
    assert html.one("title").words == "Endorse the skills of Ada Lovelace"
    assert html.one("h1").words == "Endorse the skills of Ada Lovelace"
    assert "Grace Hopper, as their tech lead" in html.one("main").words
    assert "19 January 2026, 10:00 UTC" in html.one("main").words
    assert [h.words for h in html.all("h2")] == ["Where the skills were shown", "Skills"]
    assert [h.words for h in html.all("h3")] == ["Engineer at Babbage & Co", SOURCE["title"]]
    words = html.one("ul", **{"class": "sources"}).words
    assert "Experience · Analytical Engine team · 1 Jan 2025 to 30 Jun 2025" in words
    assert "Wrote the first published programs." in words
    assert "Project · since 1 Jan 2025" in words
    links = {a.attrs["href"]: a.words for a in html.all("a")}
    assert links == {
        FULL_SOURCE["url"]: FULL_SOURCE["url"],
        SOURCE["url"]: SOURCE["url"],
        "https://github.com/ada/app": "https://github.com/ada/app",
    }
    assert all(a.attrs["rel"] == "noopener noreferrer" for a in html.all("a"))
    assert html.checkboxes() == {"skill_001": "React", "skill_002": "Python"}
    assert html.all("input", type="checkbox", name="skillIds") == html.all("input")
    assert html.one("ul", **{"aria-label": "Proof of React"}).words == "https://github.com/ada/app"
    form = html.one("form")
    assert form.attrs == {"method": "post"}  # to the page's own address
    assert html.one("button").attrs == {"type": "submit"}
    assert html.one("button").words == "Endorse selected skills"
    assert html.one("legend").words == "Tick each skill you can endorse"


def test_everything_shown_is_escaped(
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str
) -> None:
    student = {**STUDENT, "name": "<script>alert(1)</script>"}
    proof = 'https://example.com/?q="><script>alert(2)</script>'
    skills = [
        {"skillId": "skill_001", "name": "<img src=x onerror=alert(3)>", "proofUrls": [proof]}
    ]
    source = {**FULL_SOURCE, "title": '"><svg onload=alert(4)>', "description": "a & b <b>"}
    _, link = invited(client, service, tenant_key, student=student, skills=skills, sources=[source])
    response = client.get(link)
    html = assert_page(response, 200)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    for markup in ("<script", "<img", "<svg", "<b>"):
        assert markup not in response.text
    assert html.one("h1").words == "Endorse the skills of <script>alert(1)</script>"
    assert html.checkboxes() == {"skill_001": "<img src=x onerror=alert(3)>"}
    assert html.all("h3")[0].words == '"><svg onload=alert(4)>'
    assert proof in {a.attrs["href"] for a in html.all("a")}
    assert "a & b <b>" in html.one("main").words


def endorsed_record(client: TestClient[Litestar], tenant_key: str, record_id: str) -> Any:
    """The record's history with its id taken out, to compare two records."""
    response = client.get(
        f"{API}/verifications/{record_id}/history", headers={"x-api-key": tenant_key}
    )
    assert response.status_code == 200, response.text
    return json.loads(response.text.replace(record_id, "<id>"))["data"]


def test_the_form_post_records_what_the_api_would(
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str
) -> None:
    by_api, _ = invited(client, service, tenant_key)
    api = client.post(
        ENDORSE,
        params={"reviewerToken": link_token(service, by_api)},
        json={"skillIds": ["skill_002"]},
    )
    assert api.status_code == 200, api.text
    by_page, link = invited(client, service, tenant_key)
    response = client.post(link, data={"skillIds": ["skill_002"]})
    html = assert_page(response, 200)
    assert html.one("h1").words == "Your endorsement was recorded"
    lists = [(h.words, ul.words) for h, ul in zip(html.all("h2"), html.all("ul"), strict=True)]
    assert lists == [("Endorsed skills", "Python"), ("Not endorsed", "React")]
    page_record = endorsed_record(client, tenant_key, by_page)
    assert [e["type"] for e in page_record["events"]][-2:] == ["SkillsEndorsed", "Locked"]
    assert page_record == endorsed_record(client, tenant_key, by_api)
    assert page_record["state"]["isLocked"] is True


def test_every_ticked_skill_is_endorsed(
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str
) -> None:
    record_id, link = invited(client, service, tenant_key)
    html = assert_page(client.post(link, data={"skillIds": ["skill_001", "skill_002"]}), 200)
    assert [h.words for h in html.all("h2")] == ["Endorsed skills"]
    assert html.one("ul").words == "ReactPython"  # two items, one list
    skills = endorsed_record(client, tenant_key, record_id)["state"]["skills"]
    assert [(s["skillId"], s["status"], s["verifiedBy"]) for s in skills] == [
        ("skill_001", "verified", "human_endorsement"),
        ("skill_002", "verified", "human_endorsement"),
    ]


@pytest.mark.parametrize(
    ("request_args", "error"),
    [
        ({}, "Tick at least one skill to endorse."),
        ({"data": {"skillIds": []}}, "Tick at least one skill to endorse."),
        ({"json": {"skillIds": ["skill_001"]}}, "Tick at least one skill to endorse."),
        ({"files": {"skillIds": ("a.txt", b"skill_001")}}, "Tick at least one skill to endorse."),
        ({"data": {"skillIds": ["skill_009"]}}, "Tick only skills from the list below."),
        ({"data": {"skillIds": ["skill_001", "\x00"]}}, "Tick only skills from the list below."),
    ],
)
def test_a_post_without_a_skill_of_the_record_shows_the_form_again_and_records_nothing(
    client: TestClient[Litestar],
    service: AssessmentService,
    tenant_key: str,
    request_args: dict[str, Any],
    error: str,
) -> None:
    record_id, link = invited(client, service, tenant_key)
    html = assert_page(client.post(link, **request_args), 400)
    alert = html.one("p", role="alert")
    assert alert.words == error
    assert html.one("fieldset").attrs["aria-describedby"] == alert.attrs["id"]
    assert html.checkboxes() == {"skill_001": "React", "skill_002": "Python"}
    assert event_count(client, tenant_key, record_id) == 2
    assert client.get(link).status_code == 200


def test_each_link_that_cannot_be_served_is_a_page_with_its_reason(
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str, clock: Clock
) -> None:
    record_id, session = start_human(client, tenant_key)
    first = f"/review/{link_token(service, record_id, 1)}"
    for path in ("/review", "/review/"):
        assert_problem(client.get(path), 400, "This link is incomplete")
        assert_problem(
            client.post(path, data={"skillIds": ["skill_001"]}), 400, "This link is incomplete"
        )
    assert_problem(client.get(first), 401, "This link is not valid")  # not invited yet
    assert invite(client, session).status_code == 200
    assert invite(client, session).status_code == 200
    second = f"/review/{link_token(service, record_id, 2)}"
    reason = assert_problem(client.get(first), 401, "This link is not valid")
    assert "a newer invitation replaced it" in reason
    assert_problem(
        client.post(first, data={"skillIds": ["skill_001"]}), 401, "This link is not valid"
    )
    forged = second[:-2] + ("AA" if not second.endswith("AA") else "BB")
    assert_problem(client.get(forged), 401, "This link is not valid")
    assert event_count(client, tenant_key, record_id) == 3

    clock.advance(days=14)
    reason = assert_problem(client.get(second), 410, "This link has expired")
    assert "invite you again" in reason
    expired = client.post(second, data={"skillIds": ["skill_001"]})
    assert_problem(expired, 410, "This link has expired")
    assert event_count(client, tenant_key, record_id) == 3

    assert invite(client, session).status_code == 200
    third = f"/review/{link_token(service, record_id, 3)}"
    assert client.post(third, data={"skillIds": ["skill_001"]}).status_code == 200
    used = "These skills were already endorsed"
    assert_problem(client.get(third), 409, used)
    assert_problem(client.post(third, data={"skillIds": ["skill_002"]}), 409, used)
    assert event_count(client, tenant_key, record_id) == 6


def test_an_address_past_its_failed_links_is_rate_limited_on_the_page_and_the_api(
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str
) -> None:
    record_id, link = invited(client, service, tenant_key)
    for n in range(service.settings.auth_failures_per_minute):
        assert client.get(f"/review/rvw_guess_{n}").status_code == 401
    limited = client.get(link)  # even the good link, from this address
    assert_problem(limited, 429, "Too many attempts")
    assert 0 < int(limited.headers["retry-after"]) <= 60
    assert_problem(client.post(link, data={"skillIds": ["skill_001"]}), 429, "Too many attempts")
    api = client.get(PAGE, params={"reviewerToken": link_token(service, record_id)})
    assert_error(api, 429, "RATE_LIMITED")
    assert event_count(client, tenant_key, record_id) == 2


def test_the_request_limit_per_address_is_a_page_too(sqlite_url: str) -> None:
    service = make_service(sqlite_url, Clock(), rate_limit_per_minute=2)
    with TestClient(create_app(service)) as client:
        assert client.get("/review/rvw_guess").status_code == 401
        assert client.get("/review/rvw_guess").status_code == 401
        limited = client.get("/review/rvw_guess")
    service.store.close()
    assert_problem(limited, 429, "Too many attempts")
    assert int(limited.headers["retry-after"]) > 0


HOSTILE = [
    "%00",
    "%0a",
    "%ff",
    "%E2%80%AE",
    "%3Cscript%3Ealert(1)%3C%5Cscript%3E",
    "x" * 5000,
    "rvw_" + "0" * 32 + "_" + "A" * 43,
    "rvw_" + "f" * 32 + "_" + "%00" * 43,
    "%2e%2e",
    "%20",
]


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_hostile_path_is_a_page_never_a_server_error(
    client: TestClient[Litestar],
    service: AssessmentService,
    tenant_key: str,
    method: str,
    hostile: str,
) -> None:
    record_id, _ = invited(client, service, tenant_key)
    response = client.request(method, f"/review/{hostile}", data={"skillIds": ["skill_001"]})
    assert_problem(response, 401, "This link is not valid")
    assert "<script>" not in response.text
    assert event_count(client, tenant_key, record_id) == 2


def test_a_body_over_the_limit_is_a_page(
    client: TestClient[Litestar], service: AssessmentService, tenant_key: str
) -> None:
    record_id, link = invited(client, service, tenant_key)
    big = {"skillIds": ["skill_001"], "pad": "x" * service.settings.max_body_bytes}
    assert_problem(client.post(link, data=big), 413, "This request could not be served")
    assert event_count(client, tenant_key, record_id) == 2
