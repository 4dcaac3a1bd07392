"""Who may call: tenant API keys and students' session tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from application.messages import Caller, SessionCaller, TenantCaller
from application.recent import Recent
from application.store import EventStore
from domain.access import MODES, ApiKey
from domain.assessment import Assessment
from domain.errors import InvalidInput, Unauthorized

# Keys never change once issued, so a process may remember them for a while.
KEY_MEMORY_SECONDS = 60.0
SESSION_TOKEN = re.compile(r"sess_([0-9a-f]{32})_[A-Za-z0-9_-]{43}")


def digest(secret: str) -> str:
    """The stored form of a key or token: its SHA-256 (they carry 256 random bits)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def session_key(credential: str) -> bytes:
    """The key from which a tenant key's session tokens are derived: HMAC-SHA256 of a label
    under the tenant key, so it is as secret as the key and never stored."""
    return hmac.new(credential.encode(), b"assess:session-tokens", hashlib.sha256).digest()


def new_session_token(key: bytes, record: UUID) -> str:
    """A record's session token: its id and HMAC-SHA256(session key, id). Only its hash is
    stored; a replay of the POST /verify that started the record derives it again."""
    mac = hmac.new(key, record.bytes, hashlib.sha256).digest()
    return f"sess_{record.hex}_{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


class Access:
    """Issues tenant keys and tells callers apart by their x-api-key."""

    def __init__(self, store: EventStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self._tenant_keys: Recent[str, TenantCaller] = Recent(KEY_MEMORY_SECONDS)

    def issue_key(self, tenant: str, mode: str) -> str:
        """Issue a tenant API key; only its hash is stored, the key is returned once."""
        if mode not in MODES or not tenant.strip():
            raise InvalidInput("give a tenant name and a mode of live or test")
        key = f"ak_{mode}_{secrets.token_urlsafe(32)}"
        self.store.save(ApiKey.issue(tenant.strip(), mode, digest(key)))
        return key

    def authenticate(self, credential: str | None) -> Caller:
        """A tenant (by its key) or a student's session (by its token, with its record)."""
        if credential and credential.startswith("sess_"):
            return self._session(credential)
        if credential and credential.startswith("ak_"):
            key_hash = digest(credential)
            tenant = self._tenant_keys.get(key_hash, lambda: self._tenant(credential, key_hash))
            if tenant is not None:
                return tenant
        raise Unauthorized("a valid x-api-key is required")

    def _tenant(self, credential: str, key_hash: str) -> TenantCaller | None:
        key = self.store.find(ApiKey, ApiKey.id_for(key_hash))
        if key is None or not key.matches(key_hash):
            return None
        return TenantCaller(tenant=key.tenant, mode=key.mode, session_key=session_key(credential))

    def _session(self, token: str) -> SessionCaller:
        match = SESSION_TOKEN.fullmatch(token)
        record = self.store.find(Assessment, UUID(match.group(1))) if match else None
        if (
            record is None
            or not hmac.compare_digest(record.session_token_hash, digest(token))
            or self.clock() >= record.session_expires_at
        ):
            raise Unauthorized("the session token is unknown or expired")
        return SessionCaller(record)
