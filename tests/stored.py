"""What the event store holds, read back as its events."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from application.settings import Settings
from domain.banks import QuestionBank
from infrastructure.following import decoded
from infrastructure.persistence import open_store

HOSTILE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def strings(value: Any) -> Iterator[str]:
    """Every string inside a value: in containers, keys and the attributes of objects."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from strings(item)
    elif hasattr(value, "__dict__"):
        yield from strings(vars(value))


def hostile_strings(url: str) -> list[str]:
    """The strings of stored events with a control character or a lone surrogate, other
    than text of the imported question banks (code in a question may span lines)."""
    store = open_store(Settings(database_url=url))
    try:
        events = [
            decoded(store, notification)
            for notification in store.recorder.select_notifications(start=1, limit=1_000_000)
        ]
    finally:
        store.close()
    banks = {
        text for event in events if isinstance(event, QuestionBank.Event) for text in strings(event)
    }
    return [
        text
        for event in events
        for text in strings(event)
        if HOSTILE.search(text) and text not in banks
    ]
