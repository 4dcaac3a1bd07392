"""The reviewer page over HTTP: what it shows and escapes, its headers, and the form post
that records what the API would."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from domain.errors import InvalidInput
from entrypoints.bootstrap import Services
from tests.api.http import API, ENDORSE, SOURCE, event_count
from tests.api.review_pages import assert_page, invited
from tests.support import STUDENT, link_token

FULL_SOURCE = {
    "type": "experience",
    "title": "Engineer at Babbage & Co",
    "subtitle": "Analytical Engine team",
    "description": "Wrote the first published programs.",
    "startDate": "2025-01-01",
    "endDate": "2025-06-30",
    "url": "https://example.com/babbage",
}


def test_the_page_shows_who_asks_the_sources_and_each_skill_with_its_checkbox(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    _, link = invited(client, service, tenant_key, sources=[FULL_SOURCE, SOURCE])
    html = assert_page(client.get(link), 200)
    assert html.one("title").words == "Endorse the skills of Ada Lovelace"
    assert html.one("h1").words == "Endorse the skills of Ada Lovelace"
    assert "Grace Hopper, as their tech lead, through acme," in html.one("main").words
    shared = "(your name, your company and the skills you endorse) is shared with acme and"
    assert shared in html.one("main").words
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
    client: TestClient[Litestar], service: Services, tenant_key: str
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
    client: TestClient[Litestar], service: Services, tenant_key: str
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
    client: TestClient[Litestar], service: Services, tenant_key: str
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
    service: Services,
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


def test_the_page_names_the_tenant_as_its_key_was_named(
    client: TestClient[Litestar], service: Services
) -> None:
    named = service.access.issue_key("acme", "live", "  Acme\tLearning  ")
    _, link = invited(client, service, named)
    words = assert_page(client.get(link), 200).one("main").words
    assert "as their tech lead, through Acme Learning, to confirm" in words
    assert "is shared with Acme Learning and with Ada Lovelace" in words


@pytest.mark.parametrize("name", ["x" * 101, "Acme\u200bLearning\x00"])
def test_a_display_name_that_is_not_one_printable_line_is_refused(
    service: Services, name: str
) -> None:
    with pytest.raises(InvalidInput, match="name: 1 to 100 printable characters"):
        service.access.issue_key("acme", "live", name)


def test_a_form_post_sent_again_records_nothing_more_and_says_it_was_recorded(
    client: TestClient[Litestar], service: Services, tenant_key: str
) -> None:
    """A browser that sends the form again (a reload, a double click): the first answer
    stands, the second records nothing and says the endorsement was already given."""
    record_id, link = invited(client, service, tenant_key)
    assert_page(client.post(link, data={"skillIds": ["skill_002"]}), 200)
    again = assert_page(client.post(link, data={"skillIds": ["skill_001", "skill_002"]}), 409)
    assert again.one("h1").words == "These skills were already endorsed"
    events = [event["type"] for event in endorsed_record(client, tenant_key, record_id)["events"]]
    assert events.count("SkillsEndorsed") == 1
    history = endorsed_record(client, tenant_key, record_id)
    assert [s["skillId"] for s in history["state"]["skills"] if s["status"] == "verified"] == [
        "skill_002"
    ]
