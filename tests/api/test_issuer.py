"""The issuer's public documents: its did:web document and its JWKS, every key ever used,
and `assess credentials keygen [--rotate]`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from litestar.testing import TestClient

from api.app import create_app
from entrypoints.cli import main
from tests.support import MASTER_KEY, make_service


def keygen(data: Path, *args: str) -> tuple[int, str]:
    env = {"ASSESS_MASTER_KEY": MASTER_KEY, "ASSESS_PUBLIC_URL": "https://assess.example.com"}
    result = CliRunner().invoke(
        main, ["credentials", "keygen", *args, "--data", str(data)], env=env
    )
    return result.exit_code, result.output


def test_the_did_document_and_the_jwks_publish_every_key_ever_used(
    sqlite_url: str, tmp_path: Path
) -> None:
    code, printed = keygen(tmp_path)
    assert code == 0, printed
    issuer, first = printed.strip().splitlines()[-1].split("#")
    assert issuer == "did:web:assess.example.com"
    service = make_service(sqlite_url, data_dir=tmp_path, public_url="https://assess.example.com")
    with TestClient(create_app(service)) as client:
        document = client.get("/.well-known/did.json")
        keys = client.get("/.well-known/jwks.json")
        assert document.status_code == keys.status_code == 200
        assert document.headers["content-type"].startswith("application/did+json")
        assert keys.headers["content-type"].startswith("application/jwk-set+json")
        assert document.json()["id"] == issuer
        assert document.json()["assertionMethod"] == [f"{issuer}#{first}"]
        assert [key["kid"] for key in keys.json()["keys"]] == [first]
        code, printed = keygen(tmp_path, "--rotate")
        assert code == 0, printed
        second = printed.strip().splitlines()[-1].split("#")[1]
        rotated = client.get("/.well-known/jwks.json").json()  # the running app sees it
        assert [key["kid"] for key in rotated["keys"]] == [first, second]
        methods = client.get("/.well-known/did.json").json()["assertionMethod"]
        assert methods == [f"{issuer}#{second}", f"{issuer}#{first}"]  # the current first
    service.store.close()


def test_keygen_never_replaces_a_key_and_rotates_only_one_that_exists(tmp_path: Path) -> None:
    code, printed = keygen(tmp_path, "--rotate")
    assert code == 1
    assert "holds no key yet" in printed
    assert keygen(tmp_path)[0] == 0
    code, printed = keygen(tmp_path)
    assert code == 1
    assert "already holds the issuer's key; it is kept" in printed
