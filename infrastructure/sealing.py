"""Sealing personal data and webhook secrets: AES-256-GCM under keys derived from the master
key, each sealed value bound to where it is stored (docs/personal-data.md)."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from functools import cached_property
from uuid import UUID

import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from domain.values import Contact, Sealed

WRAPPING_LABEL = b"assess:subject-key-wrapping:v1"
NONCE_BYTES = 12


def wrapping_key(master: bytes) -> bytes:
    """The key that wraps the subjects' keys, derived from the master key."""
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=WRAPPING_LABEL).derive(master)


def new_subject_key() -> bytes:
    """A data subject's key: 256 random bits."""
    return AESGCM.generate_key(bit_length=256)


def _encrypt(key: bytes, plaintext: bytes, associated: bytes) -> str:
    nonce = os.urandom(NONCE_BYTES)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext, associated)).decode()


def _decrypt(key: bytes, text: str, associated: bytes) -> bytes:
    """The plaintext; cryptography's InvalidTag if the text or its binding was altered."""
    raw = base64.b64decode(text, validate=True)
    return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated)


def wrap(wrapping: bytes, subject: str, key: bytes) -> str:
    """A subject's key as stored: encrypted under the wrapping key, bound to its subject."""
    return _encrypt(wrapping, key, f"assess:subject-key:{subject}".encode())


def unwrap(wrapping: bytes, subject: str, wrapped: str) -> bytes:
    """A subject's key from its stored form."""
    return _decrypt(wrapping, wrapped, f"assess:subject-key:{subject}".encode())


def binding(subject: str, record: UUID, version: int) -> bytes:
    """The associated data of a contact sealed in a record's event of this version."""
    return f"assess:contact:{subject}:{record.hex}:{version}".encode()


def seal(key: bytes, subject: str, contact: Contact, record: UUID, version: int) -> Sealed:
    """A contact sealed under its subject's key, for the record's event of this version."""
    plaintext = msgspec.json.encode(contact)
    return Sealed(subject, _encrypt(key, plaintext, binding(subject, record, version)))


def unseal(key: bytes, sealed: Sealed, record: UUID, version: int) -> Contact:
    """A sealed contact, opened (InvalidTag if it was not sealed for this event)."""
    plaintext = _decrypt(key, sealed.box, binding(sealed.subject, record, version))
    return msgspec.json.decode(plaintext, type=Contact)


SECRETS_LABEL = b"assess:webhook-secrets:v1"
SEALED_SECRET = "sealed_v1_"


class WebhookSecrets:
    """Webhook signing secrets as the store keeps them: AES-256-GCM under a key derived from
    the master key (HKDF, a label of its own), bound to the tenant and mode, so a copy of
    the store's files alone signs nothing. A secret stored before they were sealed (a
    `whsec_…` in clear) opens as itself."""

    def __init__(self, master: Callable[[], bytes]) -> None:
        self._master = master

    @cached_property
    def key(self) -> bytes:
        """The sealing key (the master key is read on first use)."""
        return HKDF(algorithm=SHA256(), length=32, salt=None, info=SECRETS_LABEL).derive(
            self._master()
        )

    @staticmethod
    def _binding(tenant: str, mode: str) -> bytes:
        return f"assess:webhook-secret:{tenant}:{mode}".encode()

    def seal(self, secret: str, tenant: str, mode: str) -> str:
        """A secret as stored."""
        return SEALED_SECRET + _encrypt(self.key, secret.encode(), self._binding(tenant, mode))

    def open(self, stored: str, tenant: str, mode: str) -> str:
        """A stored secret, opened (InvalidTag if it was sealed for another tenant)."""
        if not stored.startswith(SEALED_SECRET):
            return stored
        sealed = stored.removeprefix(SEALED_SECRET)
        return _decrypt(self.key, sealed, self._binding(tenant, mode)).decode()
