"""The reviewer page as a test reads it: its elements parsed as a browser would, the
checks every page passes (headers, no script, nothing loaded), and records to review."""

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

from entrypoints.bootstrap import Services
from tests.api.http import SKILLS, SOURCE, VERIFY, invite
from tests.support import STUDENT, link_token

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
    client: TestClient[Litestar], service: Services, tenant_key: str, **body: Any
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
