"""The structs the API documents are the public shapes the service builds, field for field."""

from __future__ import annotations

import msgspec
import pytest

from api import schemas, students
from application import read_models
from application import students as held
from domain import values


@pytest.mark.parametrize(
    ("documented", "built"),
    [
        (schemas.Record, read_models.RecordSummary),
        (schemas.RecordReviewer, read_models.RecordReviewer),
        (schemas.SkillStatus, values.SkillOutcome),
        (schemas.Attempt, values.Attempt),
        (schemas.StudentSkill, read_models.StudentSkill),
        (students.ExportedRecord, held.ExportedRecord),
        (students.StudentExport, held.StudentExport),
    ],
)
def test_the_api_documents_each_shape_with_its_fields_in_order(
    documented: type[msgspec.Struct], built: type[msgspec.Struct]
) -> None:
    def names(struct: type[msgspec.Struct]) -> list[str]:
        return [field.encode_name for field in msgspec.structs.fields(struct)]

    assert names(documented) == names(built)
