"""Who may call: tenant API keys and students' session tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.utils import get_topic

from application.callers import Caller, ReviewerCaller, SessionCaller, TenantCaller
from application.recent import Recent
from application.store import EventStore
from domain.access import MODES, ApiKey
from domain.assessment import Assessment
from domain.errors import (
    InvalidInput,
    InvalidReviewerToken,
    MissingReviewerToken,
    Unauthorized,
)

# A process remembers a key this long: a key revoked elsewhere is refused within it (the
# contract allows 5 seconds), and each key costs a process one lookup per interval.
KEY_MEMORY_SECONDS = 3.0
NO_SUCH_KEY = "no such key: give the key or its id from `assess keys list`"
SESSION_TOKEN = re.compile(r"sess_([0-9a-f]{32})_[A-Za-z0-9_-]{43}")
REVIEWER_TOKEN = re.compile(r"rvw_([0-9a-f]{32})_[A-Za-z0-9_-]{43}")


def digest(secret: str) -> str:
    """The stored form of a key or token: its SHA-256 (they carry 256 random bits)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def derived_key(master: bytes, label: bytes) -> bytes:
    """A key for one purpose, derived from the master key: HMAC-SHA256 of its label."""
    return hmac.new(master, label, hashlib.sha256).digest()


def credential_key(master: bytes) -> bytes:
    """The key credentials' ids are derived under (from the master key)."""
    return derived_key(master, b"assess:credential-ids")


def session_key(master: bytes) -> bytes:
    """The key session tokens are derived under: HMAC-SHA256 of a label under the master
    key (ASSESS_MASTER_KEY). A server-side secret: no tenant key makes a session."""
    return derived_key(master, b"assess:session-tokens:v2")


def new_session_token(key: bytes, record: UUID, api_key: UUID) -> str:
    """A record's session token: its id and HMAC-SHA256(session key, id and the id of the
    tenant key that started it). Only its hash is stored; a replay of the POST /verify
    that started the record, with the same tenant key, derives it again."""
    mac = hmac.new(key, record.bytes + api_key.bytes, hashlib.sha256).digest()
    return f"sess_{record.hex}_{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def reviewer_key(master: bytes) -> bytes:
    """The key reviewer tokens are derived under: HMAC-SHA256 of a label under the master
    key (ASSESS_MASTER_KEY), so the API and the email consumer derive the same tokens."""
    return derived_key(master, b"assess:reviewer-tokens")


def reviewer_token(key: bytes, record: UUID, invitation: int) -> str:
    """The link token of a record's nth invitation: its id and HMAC-SHA256(reviewer key, id
    and n), 256 bits no one can guess without the key. A later invitation's token differs;
    the store keeps only the hash, the email consumer derives it again for the link."""
    mac = hmac.new(key, record.bytes + invitation.to_bytes(4, "big"), hashlib.sha256).digest()
    return f"rvw_{record.hex}_{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def reviewer_record(token: str) -> UUID | None:
    """The record a reviewer token names, if it is shaped like one."""
    match = REVIEWER_TOKEN.fullmatch(token)
    return UUID(match.group(1)) if match else None


@dataclass(frozen=True)
class KeyEntry:
    """What an operator sees of a key: never the key, nor its hash. The id is the key's
    aggregate id, which `revoke_key` also takes."""

    id: str
    tenant: str
    mode: str
    created_at: datetime
    revoked_at: datetime | None


def _entry(key: ApiKey) -> KeyEntry:
    return KeyEntry(str(key.id), key.tenant, key.mode, key.created_on, key.revoked_at)


class Access:
    """Issues tenant keys and tells callers apart by their x-api-key."""

    def __init__(self, store: EventStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self._tenant_keys: Recent[str, TenantCaller] = Recent(KEY_MEMORY_SECONDS)
        self._live_keys: Recent[UUID, bool] = Recent(KEY_MEMORY_SECONDS)

    def issue_key(self, tenant: str, mode: str, display_name: str | None = None) -> str:
        """Issue a tenant API key (with the name reviewers see the tenant by, if given);
        only its hash is stored, the key is returned once."""
        if mode not in MODES or not tenant.strip():
            raise InvalidInput("give a tenant name and a mode of live or test")
        shown = " ".join((display_name or "").split()) or None  # one line, no control
        if shown is not None and (len(shown) > 100 or not shown.isprintable()):
            raise InvalidInput("name: 1 to 100 printable characters")
        key = f"ak_{mode}_{secrets.token_urlsafe(32)}"
        self.store.save(ApiKey.issue(tenant.strip(), mode, digest(key), shown))
        return key

    def asker(self, key_id: UUID | None, tenant: str) -> str:
        """How the tenant whose key started a record is named to the people it asks."""
        key = self.store.find(ApiKey, key_id) if key_id is not None else None
        return key.asker if key is not None else tenant

    def list_keys(self, tenant: str | None = None) -> list[KeyEntry]:
        """Every key (or a tenant's), oldest first."""
        keys = (self.store.find(ApiKey, key_id) for key_id in self._issued())
        return [_entry(k) for k in keys if k and (tenant is None or k.tenant == tenant)]

    def _issued(self) -> Iterator[UUID]:
        """The ids of the issued keys, read from the notification log by the Issued topic.
        Keys are few and listed by an operator now and then: reading the log needs no
        second table that could disagree with the events, at the cost of a scan of the
        whole log, which an occasional command can afford."""
        topics, position, page = [get_topic(ApiKey.Issued)], 1, 1000
        while True:
            found = self.store.recorder.select_notifications(position, page, topics=topics)
            yield from (UUID(str(notification.originator_id)) for notification in found)
            if len(found) < page:
                return
            position = found[-1].id + 1

    def revoke_key(self, key_or_id: str) -> KeyEntry:
        """Revoke a key, given itself or its id. This process forgets it at once; the
        others within KEY_MEMORY_SECONDS."""
        key = self.store.find(ApiKey, self._key_id(key_or_id.strip()))
        if key is None:
            raise InvalidInput(NO_SUCH_KEY)
        key.revoke()
        self.store.save(key)
        self._tenant_keys.forget(key.key_hash)
        self._live_keys.forget(key.id)
        return _entry(key)

    @staticmethod
    def _key_id(key_or_id: str) -> UUID:
        if key_or_id.startswith("ak_"):
            return ApiKey.id_for(digest(key_or_id))
        try:
            return UUID(key_or_id)
        except ValueError:
            raise InvalidInput(NO_SUCH_KEY) from None

    def knows(self, credential: str | None) -> bool:
        """Whether this process found the key valid at its last lookup (no lookup now)."""
        return credential is not None and self._tenant_keys.knows(digest(credential))

    def reads(self, credential: str | None) -> set[UUID]:
        """What `authenticate` finds in the store for this credential now: a session's
        record, or a tenant key this process does not remember (else nothing)."""
        if credential and (match := SESSION_TOKEN.fullmatch(credential)):
            return {UUID(match.group(1))}  # then the key that started it, if not fresh
        if credential and credential.startswith("ak_"):
            key_hash = digest(credential)
            return set() if self._tenant_keys.fresh(key_hash) else {ApiKey.id_for(key_hash)}
        return set()

    def authenticate(self, credential: str | None) -> Caller:
        """A tenant (by its key) or a student's session (by its token, with its record)."""
        if credential and credential.startswith("sess_"):
            return self._session(credential)
        if credential and credential.startswith("ak_"):
            key_hash = digest(credential)
            tenant = self._tenant_keys.get(key_hash, lambda: self._tenant(key_hash))
            if tenant is not None:
                return tenant
        raise Unauthorized("a valid x-api-key is required")

    def _tenant(self, key_hash: str) -> TenantCaller | None:
        key = self.store.find(ApiKey, ApiKey.id_for(key_hash))
        if key is None or not key.matches(key_hash):
            return None
        return TenantCaller(tenant=key.tenant, mode=key.mode, key_id=key.id)

    def _live(self, key_id: UUID) -> bool:
        """Whether a tenant key is issued and not revoked (as found within the last few
        seconds: a key revoked elsewhere is refused within KEY_MEMORY_SECONDS)."""

        def load() -> bool | None:
            key = self.store.find(ApiKey, key_id)
            return True if key is not None and key.revoked_at is None else None

        return bool(self._live_keys.get(key_id, load))

    def reviewer(self, token: str | None) -> ReviewerCaller:
        """A reviewer, by the token of their link: the record it names, unchecked (whether
        the link is still the record's, unexpired and unused is the record's to say)."""
        if not token:
            raise MissingReviewerToken("reviewerToken is required")
        record_id = reviewer_record(token)
        record = self.store.find(Assessment, record_id) if record_id else None
        if record is None:
            raise InvalidReviewerToken("the reviewer link is unknown or was replaced")
        return ReviewerCaller(record, token)

    def _session(self, token: str) -> SessionCaller:
        """A session lives while its record's token matches, has not expired, its student
        is not erased and the tenant key that started it is not revoked."""
        match = SESSION_TOKEN.fullmatch(token)
        record = self.store.find(Assessment, UUID(match.group(1))) if match else None
        if (
            record is None
            or not hmac.compare_digest(record.session_token_hash, digest(token))
            or self.clock() >= record.session_expires_at
            or record.personal_data_erased
            or record.api_key_id is None
            or not self._live(record.api_key_id)
        ):
            raise Unauthorized("the session token is unknown, expired or revoked")
        return SessionCaller(record)
