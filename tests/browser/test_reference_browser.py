"""The API reference at /schema in a real browser (the machine's chromium) against a real
`assess dev`, with every request to another host refused: the page renders every operation
and the webhooks, asks nothing of any other host, and logs no error.

Chromium missing is a failure, not a skip: CI installs it (.ci/run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Route, expect, sync_playwright

from tests.processes import server

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`assess dev` on a fresh data folder; its URL."""
    folder = tmp_path_factory.mktemp("dev")
    with server("dev", "--data", str(folder / "data"), log=folder / "dev.log") as url:
        yield url


def test_the_reference_renders_offline_from_the_service_alone(dev: str) -> None:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    document = httpx.get(f"{dev}/schema/openapi.json").json()
    operations = sum(len(item) for item in document["paths"].values())
    origin = urlsplit(dev).netloc
    elsewhere: list[str] = []
    errors: list[str] = []

    def only_the_service(route: Route) -> None:
        if urlsplit(route.request.url).netloc == origin:
            route.continue_()
        else:  # as with no internet: the request fails
            elsewhere.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page()
        page.route("**/*", only_the_service)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{dev}/schema")
        expect(page.locator(".opblock-summary")).to_have_count(operations + 3)  # + webhooks
        expect(page.get_by_text("Start a verification")).to_be_visible()
        expect(page.get_by_role("button", name="Authorize")).to_be_visible()
        browser.close()
    assert elsewhere == []
    assert errors == []
