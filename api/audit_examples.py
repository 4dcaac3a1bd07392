"""The audit endpoints' examples in the OpenAPI document (beside api/examples.py's)."""

from __future__ import annotations

from api.audit import (
    AuditCheckpoint,
    CheckpointResponse,
    ConsistencyProof,
    ConsistencyProofResponse,
    InclusionProof,
    InclusionProofResponse,
)
from api.examples import AT, Example

ROOT = "5f1c0a3e9d2b7c4f8a6e1d0b3c9f7a2e4d6b8c0a1e3f5d7b9c2a4e6f8d0b1c3e"
AUDIT_EXAMPLES = {
    "getAuditCheckpoint": Example(
        None,
        CheckpointResponse(
            data=AuditCheckpoint(
                origin="assess.example.com/audit",
                size=1000,
                root_hash=ROOT,
                time=AT,
                signature="x0VHk1bW4q9o2c7Jm3rT8yZ1aP6dL5sN0fE2gH4jK7lQ9wR3tU6vY8zA1bC4dE7fG0hI3jK6lM9nO2pQ5rS8tU==",
                public_key="pX2cR7vT1yU4iO8pA3sD6fG9hJ2kL5zX8cV1bN4mQ7w=",
            )
        ),
    ),
    "getAuditProof": Example(
        None,
        InclusionProofResponse(
            data=InclusionProof(
                position=41,
                entry='{"notificationId":42,"position":41,"storedSha256":"' + ROOT[::-1] + '",'
                '"stream":"9c2f4a1e-7b3d-4e8f-a6c5-1d0e2b4f6a8c",'
                '"type":"domain.assessment:Assessment.Scored","version":4}',
                size=1000,
                root_hash=ROOT,
                path=[ROOT[::-1], ROOT[1:] + ROOT[0]],
            )
        ),
    ),
    "getAuditConsistency": Example(
        None,
        ConsistencyProofResponse(
            data=ConsistencyProof(first=1000, to=2000, path=[ROOT[::-1], ROOT[2:] + ROOT[:2]])
        ),
    ),
}
