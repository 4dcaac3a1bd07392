"""Reading credentials: a record's, signed; one by its id, for its public page and its JWT;
and a status list, signed. Each is made from the record's events when read (a credential's
content never changes; its signature is the issuer's current key's)."""

from __future__ import annotations

import time
from uuid import UUID

import msgspec

from application.callers import Caller, tenant_of
from application.credentials import (
    ACTIVE,
    REVOKED,
    claims,
    credential,
    encoded_list,
    list_url,
    narrative,
    status_list_credential,
)
from application.ports import CredentialLookup, CredentialSigner, PersonalData
from application.queries import record_of
from application.results import CredentialItem
from application.store import EventStore
from domain.assessment import Assessment
from domain.credentials import HeldCredential
from domain.endorsement import HUMAN_ENDORSEMENT
from domain.moments import iso

ISSUING_WAIT = 1.0  # seconds; the issuer polls the store every 0.1 s when idle


class CredentialShown(msgspec.Struct, frozen=True):
    """What a credential's public page shows: never the student, never the reason of a
    revocation (the partner's, not the public's)."""

    credential_id: str
    skill: str
    issuer_name: str
    issuer_id: str
    method: str
    narrative: str
    valid_from: str
    status: str
    revoked_at: str | None
    jwt: str | None


class CredentialReads:
    """Credentials and status lists, signed as they are read."""

    def __init__(
        self,
        store: EventStore,
        personal: PersonalData,
        signer: CredentialSigner,
        lookup: CredentialLookup,
        public_url: str,
    ) -> None:
        self.store = store
        self.personal = personal
        self.signer = signer
        self.lookup = lookup
        self.public_url = public_url

    def of_record(self, caller: Caller, record_verification_id: str) -> list[CredentialItem]:
        """The credentials of a tenant's record, each signed (none yet: an empty list). A
        record just verified is read again for up to ISSUING_WAIT seconds, while the issuer
        (which follows the store) issues them, so that a read right after a pass finds them."""
        tenant = tenant_of(caller)
        record = record_of(self.store, tenant, record_verification_id)
        deadline = time.monotonic() + ISSUING_WAIT
        while record.uncredentialed and time.monotonic() < deadline:
            time.sleep(0.05)
            record = record_of(self.store, tenant, record_verification_id)
        status = REVOKED if record.credentials_revoked else ACTIVE
        return [
            CredentialItem(
                held.issued.skill_id,
                str(held.issued.credential_id),
                self.signed(record, held),
                status,
            )
            for held in record.credentials
        ]

    def shown(self, credential_id: UUID) -> CredentialShown | None:
        """A credential by its id, as its public page shows it (None: no such credential)."""
        record_id = self.lookup.record_of(credential_id)
        record = self.store.find(Assessment, record_id) if record_id else None
        if record is None:
            return None
        issued = (one for one in record.credentials if one.issued.credential_id == credential_id)
        held = next(issued, None)
        if held is None:
            return None
        document_jwt = self.signed(record, held)
        return CredentialShown(
            credential_id=str(credential_id),
            skill=record.skill_status[held.issued.skill_id].name,
            issuer_name=held.issuance.issuer_name,
            issuer_id=held.issuance.issuer_id,
            method="endorsement" if record.method == HUMAN_ENDORSEMENT else "assessment",
            narrative=narrative(record, held.issued.skill_id),
            valid_from=iso(held.issued_at),
            status=REVOKED if record.credentials_revoked else ACTIVE,
            revoked_at=revoked_at(record),
            jwt=document_jwt,
        )

    def signed(self, record: Assessment, held: HeldCredential) -> str | None:
        """A credential as a signed JWT (None once its student is erased: there is no longer
        a pseudonym to issue it to)."""
        subject = self.personal.pseudonym(record.student.contact.subject)
        if subject is None:
            return None
        return self.signer.sign(claims(credential(record, held, subject)))

    def status_list(self, status_list: int) -> str | None:
        """A status list as a signed BitstringStatusListCredential (None: no such list)."""
        found = self.lookup.revoked(status_list)
        if found is None:
            return None
        revoked, changed = found
        url = list_url(self.public_url, status_list)
        document = status_list_credential(self.signer.id, url, encoded_list(revoked), changed)
        return self.signer.sign(claims(document))


def revoked_at(record: Assessment) -> str | None:
    """When a record's credentials were revoked: by the tenant, or by the erasure."""
    moment = record.revoked_at or record.erased_at
    return iso(moment) if moment else None
