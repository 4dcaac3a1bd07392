"""The audit log's endpoints: its signed checkpoints and the proofs that check against them."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from api.auth import API_KEY, authenticated
from api.errors import KEYED, errors_of
from api.schemas import Envelope, PathId
from application.callers import Caller, tenant_of
from application.service import AssessmentService
from domain.errors import AuditNotFound, InvalidInput, NotYetCheckpointed
from infrastructure.auditlog import AuditLog

# Sizes and versions stay below 2**53, where RFC 8785 numbers are exact.
LARGEST = 2**53 - 1
Size = Annotated[int, QueryParameter(ge=1, le=LARGEST)]
SizeAsked = Annotated[int | None, QueryParameter(ge=1, le=LARGEST)]
Version = Annotated[int, PathParameter(ge=1, le=LARGEST)]


class AuditCheckpoint(msgspec.Struct, frozen=True, rename="camel"):
    """A signed checkpoint: the signature (base64 Ed25519) covers the UTF-8 bytes of
    "{origin}\\n{size}\\n{rootHash}\\n{time}\\n"; publicKey is the raw 32-byte key in base64."""

    origin: str
    size: int
    root_hash: str
    time: str
    signature: str
    public_key: str


class InclusionProof(msgspec.Struct, frozen=True, rename="camel"):
    """RFC 9162's inclusion proof of an event's leaf (SHA-256 of 0x00 and the UTF-8 bytes
    of entry) in the tree of the latest checkpoint's size."""

    position: int
    entry: str
    size: int
    root_hash: str
    path: list[str]


class ConsistencyProof(msgspec.Struct, frozen=True):
    """RFC 9162's consistency proof between the trees of two checkpoints' sizes."""

    first: int = msgspec.field(name="from")
    to: int
    path: list[str]


class CheckpointResponse(Envelope[AuditCheckpoint], frozen=True, kw_only=True):
    """Envelope of GET /audit/checkpoint."""


class InclusionProofResponse(Envelope[InclusionProof], frozen=True, kw_only=True):
    """Envelope of GET /audit/proof/{recordVerificationId}/{version}."""


class ConsistencyProofResponse(Envelope[ConsistencyProof], frozen=True, kw_only=True):
    """Envelope of GET /audit/consistency."""


def audit_log(service: AssessmentService) -> AuditLog:
    """The audit log of the service's store."""
    return AuditLog(service.store)


class AuditController(Controller):
    """Anyone checks the log's checkpoints and their consistency; a tenant proves that an
    event of its record is in the log."""

    path = "/api/v1/audit"
    tags = ("audit",)

    @get(
        "/checkpoint",
        **errors_of("VALIDATION_ERROR", "NOT_FOUND", "NOT_YET_CHECKPOINTED"),
        operation_id="getAuditCheckpoint",
        summary="The latest signed checkpoint of the audit log",
        sync_to_thread=True,
    )
    def checkpoint(
        self, service: NamedDependency[AssessmentService], size: SizeAsked = None
    ) -> CheckpointResponse:
        """The latest signed checkpoint of the audit log (the Merkle tree over every stored
        event), or the one of a given size; no credential needed. Check its signature with
        publicKey, then check proofs against its rootHash."""
        found = audit_log(service).checkpoint(size)
        if found is None:
            wanted = "yet" if size is None else f"of size {size}"
            raise AuditNotFound(f"no checkpoint {wanted}")
        return CheckpointResponse(
            data=msgspec.convert(found, AuditCheckpoint, from_attributes=True)
        )

    @get(
        "/proof/{record_verification_id:str}/{version:int}",
        guards=[authenticated],
        security=API_KEY,
        **errors_of(
            *KEYED,
            "VALIDATION_ERROR",
            "NOT_FOUND",
            "NOT_YET_CHECKPOINTED",
            "VERIFICATION_NOT_FOUND",
        ),
        operation_id="getAuditProof",
        summary="Prove that an event of a record is in the audit log",
        sync_to_thread=True,
    )
    def proof(
        self,
        record_verification_id: PathId,
        version: Version,
        caller: NamedDependency[Caller],
        service: NamedDependency[AssessmentService],
    ) -> InclusionProofResponse:
        """The inclusion proof of a record's event (by its version) in the latest checkpoint;
        with the tenant key of that record."""
        record = service.record_of(tenant_of(caller), record_verification_id)
        if version > record.version:
            raise AuditNotFound(f"{record_verification_id} has no event of version {version}")
        log = audit_log(service)
        leaf, latest = log.leaf(record.id, version), log.checkpoint()
        if leaf is None or latest is None or leaf[0] >= latest.size:
            raise NotYetCheckpointed(
                f"version {version} of {record_verification_id} is newer than the latest"
                " checkpoint: ask again after the next one"
            )
        position, entry = leaf
        path = log.inclusion(position, latest.size)
        proof = InclusionProof(position, entry, latest.size, latest.root_hash, path)
        return InclusionProofResponse(data=proof)

    @get(
        "/consistency",
        **errors_of("VALIDATION_ERROR", "NOT_FOUND", "NOT_YET_CHECKPOINTED"),
        operation_id="getAuditConsistency",
        summary="Prove that one checkpoint's log extends another's",
        sync_to_thread=True,
    )
    def consistency(
        self,
        service: NamedDependency[AssessmentService],
        first: Annotated[int, QueryParameter(name="from", ge=1, le=LARGEST)],
        to: Size,
    ) -> ConsistencyProofResponse:
        """RFC 9162's consistency proof between the trees of two checkpoints' sizes (from <=
        to): it shows that the later log holds the earlier one unchanged. No credential
        needed."""
        if first > to:
            raise InvalidInput(f"from: {first} is after to: {to}")
        log = audit_log(service)
        for size in (first, to):
            if log.checkpoint(size) is None:
                raise AuditNotFound(f"no checkpoint of size {size}")
        proof = ConsistencyProof(first, to, log.consistency(first, to))
        return ConsistencyProofResponse(data=proof)
