"""The credential issuer's keys: ES256 (P-256). The current private key is in a PEM file
(ASSESS_CREDENTIAL_KEY_FILE, default <data>/credentials-p256.pem) that only the processes
that sign read; every public key ever used is kept beside it, in `<file>.jwks.json`, so that
credentials signed before a rotation still verify. A key's id is its RFC 7638 thumbprint."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from application.settings import folder_of

ALGORITHM = "ES256"
CURVE = "P-256"


def issuer_id(public_url: str) -> str:
    """The issuer's did:web: the host of the public URL, lowercased, with its port (percent-
    encoded) unless it is the scheme's default."""
    parts = urlsplit(public_url)
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"ASSESS_PUBLIC_URL {public_url!r} names no host")
    default = {"https": 443, "http": 80}.get(parts.scheme)
    port = "" if parts.port in (None, default) else f"%3A{parts.port}"
    return f"did:web:{host}{port}"


def _written(path: Path, data: bytes) -> Path:
    """A new file beside path holding data, on disk (fsync), readable by its owner only."""
    folder_of(path.parent)
    made = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(made, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    return made


def _settled(folder: Path) -> None:
    """The folder's entries on disk (a crash then leaves the old file or the new)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_new(path: Path, data: bytes) -> None:
    """Write a file that must not exist yet, whole and once (FileExistsError if another
    process or an earlier run made it)."""
    made = _written(path, data)
    try:
        os.link(made, path)
    finally:
        made.unlink()
    _settled(path.parent)


def _replace(path: Path, data: bytes) -> None:
    """Replace a file whole (readers see the old or the new, never half)."""
    _written(path, data).replace(path)
    _settled(path.parent)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold the lock of the published keys (processes adding theirs take turns)."""
    folder_of(path.parent)
    with path.with_name(path.name + ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


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
        keys = cls(current, cls._published(path))
        if keys.kid not in {key["kid"] for key in keys.published}:
            keys.published = cls.publish(path, current)
        return keys

    @classmethod
    def _published(cls, path: Path) -> list[dict[str, Any]]:
        try:
            found: list[dict[str, Any]] = json.loads(cls.published_path(path).read_text())["keys"]
        except FileNotFoundError:
            return []
        return found

    @classmethod
    def publish(cls, path: Path, key: ECKey) -> list[dict[str, Any]]:
        """Add a key's public half to the published ones, under their lock (re-read there,
        so no process's key is lost); the keys as published now."""
        with _locked(cls.published_path(path)):
            published = cls._published(path)
            if key.thumbprint() not in {known["kid"] for known in published}:
                published = [*published, cls.public_jwk(key)]
                document = json.dumps({"keys": published}, indent=1).encode() + b"\n"
                _replace(cls.published_path(path), document)
        return published

    @classmethod
    def create(cls, path: Path) -> CredentialKeys:
        """Make the first key (FileExistsError if there is one: it is never replaced)."""
        key = ECKey.generate_key(CURVE)
        _write_new(path, key.as_pem(private=True))
        return cls.load(path)

    @classmethod
    def load_or_create(cls, path: Path) -> CredentialKeys:
        """The keys at path, the first made on first use."""
        if path.exists():
            return cls.load(path)
        try:
            return cls.create(path)
        except FileExistsError:  # another process made it at the same moment
            return cls.load(path)

    @classmethod
    def rotate(cls, path: Path) -> CredentialKeys:
        """A new current key; the old one's public key stays published, so what it signed
        still verifies (its private key is no longer kept)."""
        before = cls.load(path)
        key = ECKey.generate_key(CURVE)
        cls.publish(path, key)  # published before it signs anything
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

    def did_document(self, issuer: str) -> dict[str, Any]:
        """The issuer's did:web document (GET /.well-known/did.json): every key ever used as
        a JsonWebKey verification method, each able to assert credentials; the current key
        first (a verifier that takes the first method checks today's status lists)."""
        published = sorted(self.published, key=lambda key: key["kid"] != self.kid)
        methods = [f"{issuer}#{key['kid']}" for key in published]
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
                for method, key in zip(methods, published, strict=True)
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
        self._keys: tuple[tuple[tuple[int, int, int], ...] | None, CredentialKeys] | None = None

    @property
    def keys(self) -> CredentialKeys:
        """The current keys (made on first use; read again once either file changed)."""
        seen = self._seen()
        if self._keys is None or seen != self._keys[0] or seen is None:
            keys = CredentialKeys.load_or_create(self.key_file)
            self._keys = (seen, keys)
        return self._keys[1]

    def sign(self, claims: dict[str, Any]) -> str:
        """A JWT of the claims under the current key, its `kid` after the did the claims
        name as their issuer (`iss`): a credential issued before the deployment's public
        URL changed keeps naming its own issuer, and its key under it."""
        return self.keys.sign(claims, claims["iss"])

    def _seen(self) -> tuple[tuple[int, int, int], ...] | None:
        """What identifies the two files' contents now (None before there is a key)."""
        try:
            stats = [
                path.stat()
                for path in (self.key_file, CredentialKeys.published_path(self.key_file))
            ]
        except FileNotFoundError:
            return None
        return tuple((stat.st_ino, stat.st_mtime_ns, stat.st_size) for stat in stats)
