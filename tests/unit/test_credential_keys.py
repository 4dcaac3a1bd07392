"""The credential issuer's keys: made once, rotated with the old ones kept published, and
what they sign verified by another JOSE library (PyJWT)."""

from __future__ import annotations

import base64
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from joserfc.jwk import ECKey

from infrastructure.credential_keys import CredentialKeys, issuer_id

ISSUER = "did:web:assess.example.com"


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638, by hand: SHA-256 of the required members in order, base64url."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verified(token: str, keys: CredentialKeys) -> dict[str, object]:
    kid = jwt.get_unverified_header(token)["kid"].split("#", 1)[1]
    [published] = [key for key in keys.jwks()["keys"] if key["kid"] == kid]
    claims: dict[str, object] = jwt.decode(
        token, jwt.PyJWK(published).key, algorithms=["ES256"], options={"verify_aud": False}
    )
    return claims


def test_the_first_key_is_made_on_first_use_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "credentials-p256.pem"
    made = CredentialKeys.load_or_create(path)
    again = CredentialKeys.load_or_create(path)
    assert made.kid == again.kid
    assert path.stat().st_mode & 0o777 == 0o600
    [published] = made.jwks()["keys"]
    assert published["kid"] == made.kid == thumbprint(published)
    assert (published["kty"], published["crv"], published["alg"]) == ("EC", "P-256", "ES256")
    assert "d" not in published  # never the private part
    assert json.loads(CredentialKeys.published_path(path).read_text()) == made.jwks()
    with pytest.raises(FileExistsError):
        CredentialKeys.create(path)


def test_a_signed_token_has_only_alg_typ_and_kid_and_verifies_with_another_library(
    tmp_path: Path,
) -> None:
    keys = CredentialKeys.load_or_create(tmp_path / "k.pem")
    token = keys.sign({"iss": ISSUER, "jti": "urn:uuid:1"}, ISSUER)
    assert jwt.get_unverified_header(token) == {
        "alg": "ES256",
        "typ": "JWT",
        "kid": f"{ISSUER}#{keys.kid}",
    }
    assert verified(token, keys) == {"iss": ISSUER, "jti": "urn:uuid:1"}
    head, _body, signature = token.split(".")
    tampered = base64.urlsafe_b64encode(b'{"iss":"did:web:evil"}').rstrip(b"=").decode()
    with pytest.raises(jwt.InvalidSignatureError):
        verified(f"{head}.{tampered}.{signature}", keys)


def test_a_rotation_signs_with_a_new_key_and_what_the_old_signed_still_verifies(
    tmp_path: Path,
) -> None:
    path = tmp_path / "k.pem"
    old = CredentialKeys.load_or_create(path)
    signed_before = old.sign({"n": 1}, ISSUER)
    new = CredentialKeys.rotate(path)
    assert new.kid != old.kid
    assert [key["kid"] for key in new.jwks()["keys"]] == [old.kid, new.kid]
    assert verified(signed_before, new) == {"n": 1}
    assert verified(new.sign({"n": 2}, ISSUER), new) == {"n": 2}
    assert CredentialKeys.load(path).jwks() == new.jwks()  # kept on disk
    document = new.did_document(ISSUER)
    assert document["id"] == ISSUER
    assert document["assertionMethod"] == [f"{ISSUER}#{new.kid}", f"{ISSUER}#{old.kid}"]
    assert [m["type"] for m in document["verificationMethod"]] == ["JsonWebKey"] * 2
    assert document["verificationMethod"][0]["publicKeyJwk"]["kid"] == new.kid


def test_a_key_file_that_holds_another_kind_of_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    path.write_bytes(
        Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
    )
    with pytest.raises(ValueError, match="P-256"):
        CredentialKeys.load(path)


@pytest.mark.parametrize(
    ("url", "did"),
    [
        ("https://assess.example.com", "did:web:assess.example.com"),
        ("https://assess.example.com/api/", "did:web:assess.example.com"),
        ("http://127.0.0.1:8000", "did:web:127.0.0.1%3A8000"),
        ("https://Assess.Example.COM:443", "did:web:assess.example.com"),
        ("https://assess.example.com:8443", "did:web:assess.example.com%3A8443"),
    ],
)
def test_the_issuer_is_the_did_web_of_the_public_urls_host(url: str, did: str) -> None:
    assert issuer_id(url) == did


def test_a_public_url_without_a_host_names_no_issuer() -> None:
    with pytest.raises(ValueError, match="names no host"):
        issuer_id("assess.example.com")


def test_keys_published_by_processes_at_once_are_all_kept(tmp_path: Path) -> None:
    """Each process adds its key under the lock, re-reading what others added."""
    path = tmp_path / "k.pem"
    keys = [ECKey.generate_key("P-256") for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: CredentialKeys.publish(path, key), keys))
    published = json.loads(CredentialKeys.published_path(path).read_text())["keys"]
    assert sorted(key["kid"] for key in published) == sorted(key.thumbprint() for key in keys)
