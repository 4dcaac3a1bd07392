"""Every relative link of the README and docs/ points at a file inside the repository."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
HTML_LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']*)["']""")


def targets(tokens: list[Token]) -> Iterator[str]:
    """Where the document's links, images, HTML links and `../` paths in code point."""
    for token in tokens:
        if token.type == "link_open":
            yield str(token.attrs["href"])
        elif token.type == "image":
            yield str(token.attrs["src"])
        elif token.type in ("html_inline", "html_block"):
            yield from HTML_LINK.findall(token.content)
        elif token.type == "code_inline" and token.content.startswith("../"):
            yield token.content  # a path named in the text, as the README once named the contract
        yield from targets(token.children or [])


def links(document: Path) -> list[str]:
    """The document's link targets, as written."""
    return list(targets(MarkdownIt("commonmark").parse(document.read_text())))


def is_relative(target: str) -> bool:
    """A path in this repository's tree, not a URL (scheme or host) or an in-page anchor."""
    parts = urlsplit(target)
    return not (parts.scheme or parts.netloc or target.startswith("#"))


def problems(document: Path, root: Path = ROOT) -> list[str]:
    """The document's relative links that leave ROOT or name no file."""
    found = []
    for target in filter(is_relative, links(document)):
        path = unquote(urlsplit(target).path)
        base = root if path.startswith("/") else document.parent
        resolved = (base / path.lstrip("/")).resolve()
        if not resolved.is_relative_to(root):
            found.append(f"{target} leaves the repository")
        elif not resolved.exists():
            found.append(f"{target} names no file")
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_relative_links_stay_inside_the_repository_and_exist(document: Path) -> None:
    assert problems(document) == []


def test_the_readme_links_the_contract_in_the_repository() -> None:
    assert {"docs/contract.md", "docs/assessment-submit.md"} <= set(links(ROOT / "README.md"))


def test_a_link_out_of_the_repository_or_to_no_file_is_a_problem(tmp_path: Path) -> None:
    root = tmp_path / "repository"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "contract.md").write_text("# Contract")
    page = root / "docs" / "page.md"
    page.write_text(
        "[spec](../../shared/SPEC.md) ![shot](missing.png) [ok](contract.md#flow) `../seed.txt`"
        ' <a href="/docs/gone.md">gone</a> [web](https://example.com/x.md) [top](#top)'
    )
    assert problems(page, root) == [
        "../../shared/SPEC.md leaves the repository",
        "missing.png names no file",
        "../seed.txt names no file",
        "/docs/gone.md names no file",
    ]
