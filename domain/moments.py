"""How the service writes a moment: UTC ISO-8601 with milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    """Format a moment as UTC ISO-8601 with milliseconds, as the API shows times."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
