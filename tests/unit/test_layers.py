"""The shape of the house: domain/ is pure, and each layer imports only what it may."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {
    "domain": {"domain", "msgspec", "eventsourcing.domain"},
    # Use cases and their ports: the library's Application, never a database or a socket.
    "application": {
        *("domain", "application", "msgspec", "eventsourcing.application"),
        *("eventsourcing.domain", "eventsourcing.persistence", "eventsourcing.utils"),
    },
    "infrastructure": {
        *("domain", "application", "infrastructure", "msgspec", "eventsourcing", "psycopg"),
        "psycopg_pool",  # the pool of the store's reads and writes from the event loop
        *("idna", "httpx", "httpcore", "opentelemetry"),
        *("cryptography", "rfc8785"),  # the audit log's; sealing personal data
        "email_validator",  # one check of email addresses, the API's and the mailer's
    },
    "projections": {"domain", "application", "infrastructure", "projections", "eventsourcing"},
    "consumers": {
        *("domain", "application", "infrastructure", "consumers", "msgspec", "eventsourcing"),
        *("kafka", "httpx", "standardwebhooks", "opentelemetry"),
    },
    # HTTP reads the views through projections.queries; it knows no command line.
    "api": {
        *("domain", "application", "infrastructure", "projections", "api"),
        *("msgspec", "litestar", "anyio", "prometheus_client"),
        *("eventsourcing.persistence", "jinja2", "opentelemetry"),  # jinja2: the reviewer page
        "swagger_ui_bundle",  # the files of the API reference at /schema
    },
    # On top: the composition root builds every part, and the command line starts every
    # process, the consumers' too.
    "entrypoints": {
        *("domain", "application", "infrastructure", "projections", "consumers", "api"),
        *("entrypoints", "msgspec", "litestar", "click", "uvicorn", "rich"),
    },
}


def imported_modules(package: str) -> set[str]:
    names: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    return names


def allowed(name: str, package: str) -> bool:
    top = name.split(".")[0]
    # mutmut: the copies `mutmut run` makes of mutated modules import its trampoline.
    if top in sys.stdlib_module_names or top in ("__future__", "mutmut"):
        return True
    return any(name == rule or name.startswith(rule + ".") for rule in ALLOWED[package])


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_layer_imports_only_what_it_may(package: str) -> None:
    assert sorted(n for n in imported_modules(package) if not allowed(n, package)) == []


def test_domain_knows_no_io() -> None:
    io = {"sqlite3", "socket", "http", "urllib", "smtplib", "subprocess", "asyncio"}
    assert {n.split(".")[0] for n in imported_modules("domain")} & io == set()


def test_consumers_read_messages_not_the_write_model() -> None:
    # What a consumer needs of a record comes with the topic (consumers/known_records.py): of the
    # domain, it knows the result's words, how to write a moment and the typed values a
    # message carries (a skill's outcome), no aggregate.
    domain = {name for name in imported_modules("consumers") if name.split(".")[0] == "domain"}
    assert domain <= {"domain.scoring", "domain.moments", "domain.values"}
