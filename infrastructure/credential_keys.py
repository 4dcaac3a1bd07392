"""The credential issuer's keys: ES256 (P-256). The current private key is in a PEM file
(ASSESS_CREDENTIAL_KEY_FILE, default <data>/credentials-p256.pem) that only the processes
that sign read; every public key ever used is kept beside it, in `<file>.jwks.json`, so that
credentials signed before a rotation still verify. A key's id is its RFC 7638 thumbprint."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

ALGORITHM = "ES256"
CURVE = "P-256"


def issuer_id(public_url: str) -> str:
    """The issuer's did:web: the host of the public URL (a port percent-encoded)."""
    netloc = urlsplit(public_url).netloc.rsplit("@", 1)[-1]
    return "did:web:" + netloc.replace(":", "%3A")


def _write_new(path: Path, data: bytes) -> None:
    """Write a file that must not exist yet, readable by its owner only, whole and once
    (FileExistsError if another process or an earlier run made it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    made = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    made.touch(mode=0o600)
    made.write_bytes(data)
    try:
        os.link(made, path)
    finally:
        made.unlink()


def _replace(path: Path, data: bytes) -> None:
    """Replace a file whole (readers see the old or the new, never half)."""
    made = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    made.touch(mode=0o600)
    made.write_bytes(data)
    made.replace(path)


class CredentialKeys:
    """The key that signs credentials now, and every public key ever used, as published."""

    def __init__(self, current: ECKey, published: list[dict[str, Any]]) -> None:
        self.current = current
        self.published = published

    @staticmethod
    def published_path(path: Path) -> Path:
        """Where the public keys ever used are kept: `<key file>.jwks.json`."""
        return path.with_name(path.name + ".jwks.json")

    @classmethod
    def load(cls, path: Path) -> CredentialKeys:
        """The keys at path (ValueError if it holds no P-256 private key); the current key
        is added to the published ones if it is not there yet."""
        try:
            current = ECKey.import_key(path.read_bytes())
        except JoseError:
            raise ValueError(f"{path}: not a P-256 private key") from None
        if current.curve_name != CURVE or not current.is_private:
            raise ValueError(f"{path}: not a P-256 private key")
        published_path = cls.published_path(path)
        try:
            published = json.loads(published_path.read_text())["keys"]
        except FileNotFoundError:
            published = []
        keys = cls(current, published)
        if keys.kid not in {key["kid"] for key in published}:
            keys.published = [*published, keys.public_jwk(current)]
            _replace(published_path, keys.jwks_bytes())
        return keys

    @classmethod
    def create(cls, path: Path) -> CredentialKeys:
        """Make the first key (FileExistsError if there is one: it is never replaced)."""
        key = ECKey.generate_key(CURVE)
        _write_new(path, key.as_pem(private=True))
        return cls.load(path)

    @classmethod
    def load_or_create(cls, path: Path) -> CredentialKeys:
        """The keys at path, the first made on first use."""
        try:
            return cls.create(path)
        except FileExistsError:
            return cls.load(path)

    @classmethod
    def rotate(cls, path: Path) -> CredentialKeys:
        """A new current key; the old one's public key stays published, so what it signed
        still verifies (its private key is no longer kept)."""
        before = cls.load(path)
        key = ECKey.generate_key(CURVE)
        _replace(path, key.as_pem(private=True))
        rotated = cls.load(path)
        assert before.kid in {published["kid"] for published in rotated.published}
        return rotated

    @property
    def kid(self) -> str:
        """The current key's id (its RFC 7638 thumbprint)."""
        return str(self.current.thumbprint())

    @staticmethod
    def public_jwk(key: ECKey) -> dict[str, Any]:
        """A key's public half as published: JWK with its id, algorithm and use."""
        return {
            **key.as_dict(private=False),
            "kid": key.thumbprint(),
            "alg": ALGORITHM,
            "use": "sig",
        }

    def jwks(self) -> dict[str, Any]:
        """Every public key ever used, as a JWKS (GET /.well-known/jwks.json)."""
        return {"keys": self.published}

    def jwks_bytes(self) -> bytes:
        """The JWKS as kept in its file."""
        return json.dumps(self.jwks(), indent=1).encode() + b"\n"

    def did_document(self, issuer: str) -> dict[str, Any]:
        """The issuer's did:web document (GET /.well-known/did.json): every key ever used as
        a JsonWebKey verification method, each able to assert credentials."""
        methods = [f"{issuer}#{key['kid']}" for key in self.published]
        return {
            "@context": ["https://www.w3.org/ns/did/v1", "https://www.w3.org/ns/cid/v1"],
            "id": issuer,
            "verificationMethod": [
                {
                    "id": method,
                    "type": "JsonWebKey",
                    "controller": issuer,
                    "publicKeyJwk": {k: v for k, v in key.items() if k not in ("use",)},
                }
                for method, key in zip(methods, self.published, strict=True)
            ],
            "assertionMethod": methods,
        }

    def sign(self, claims: dict[str, Any], issuer: str) -> str:
        """A compact JWS (JWT) of the claims under the current key: the header holds `alg`,
        `typ` and `kid` (`<issuer>#<key id>`) and nothing else."""
        header = {"alg": ALGORITHM, "typ": "JWT", "kid": f"{issuer}#{self.kid}"}
        return jwt.encode(header, claims, self.current, algorithms=[ALGORITHM])


class Issuer:
    """A deployment's credential issuer: its did:web, its name, and its keys (read at first
    use, and again when the key file changes: a rotation reaches running processes)."""

    def __init__(self, public_url: str, name: str, key_file: Path) -> None:
        self.id = issuer_id(public_url)
        self.name = name
        self.key_file = key_file
        self._keys: tuple[float, CredentialKeys] | None = None

    @property
    def keys(self) -> CredentialKeys:
        """The current keys (made on first use)."""
        changed = self.key_file.stat().st_mtime if self.key_file.exists() else None
        if self._keys is None or changed != self._keys[0]:
            keys = CredentialKeys.load_or_create(self.key_file)
            self._keys = (self.key_file.stat().st_mtime, keys)
        return self._keys[1]
