"""Personal data on a record: its student's contact (and its reviewer's) is sealed under
the key of the student's data subject. Erasing the subject deletes that key, and each of
its records takes a PersonalDataErased event, so that the history says when; the record's
skills, scores and dates stay (they are the tenant's record of the verification)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from domain.errors import PersonalDataGone


def sealed_by_migrate(state: dict[str, Any]) -> None:
    """The upcast of an event stored with personal data in clear: there is none, since
    `migrate` seals such events in place before anything reads them (an event that was not
    sealed must not be read as it stands: its clear name and email would leak into reads)."""
    raise ValueError("stored with personal data in clear: `assess migrate` seals it")


class PersonalData:
    """Erasing a record's personal data, and refusing new personal data once it is."""

    class PersonalDataErased(Aggregate.Event):
        """The personal data of the record's student (and of its reviewer) was erased: the
        key that sealed it is deleted."""

        def apply(self, record: PersonalData) -> None:
            record.personal_data_erased = True
            record.erased_at = self.timestamp

    if TYPE_CHECKING:  # the record's
        personal_data_erased: bool
        erased_at: datetime | None

        def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None: ...

    def erase_personal_data(self, at: datetime) -> bool:
        """Record that the personal data was erased (once); tell if it was not before."""
        if self.personal_data_erased:
            return False
        self.trigger_event(self.PersonalDataErased, timestamp=at)
        return True

    def require_personal_data(self) -> None:
        """Refuse new personal data (a reviewer) on a record whose student was erased."""
        if self.personal_data_erased:
            raise PersonalDataGone(
                "this record's personal data was erased: start a new verification"
            )
