"""Each layer imports only the libraries it may (an allowlist, which import-linter's
contracts in pyproject.toml cannot say; they say the rest)."""

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
        *("bm25s", "Stemmer"),  # ranking bank questions by a record's sources
        "joserfc",  # the credentials' keys and JWTs
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
        *("entrypoints", "msgspec", "litestar", "click", "uvicorn", "granian", "rich"),
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
