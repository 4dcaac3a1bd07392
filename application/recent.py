"""A per-process memory of values read from the store, reused for a few seconds."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from time import monotonic
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class Recent(Generic[Key, Value]):
    """Reuse what a load returned for `seconds`; a load that finds nothing forgets the key."""

    def __init__(self, seconds: float, max_entries: int = 10_000) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: dict[Key, tuple[Value, float]] = {}

    def put(self, key: Key, value: Value) -> None:
        """Remember a value this process just stored."""
        self.get(key, lambda: value, fresh=True)

    def forget(self, key: Key) -> None:
        """Drop what is remembered of a key this process just changed."""
        self._entries.pop(key, None)

    def knows(self, key: Key) -> bool:
        """Whether the last load of this key found something (however long ago)."""
        return key in self._entries

    def fresh(self, key: Key) -> bool:
        """Whether `get` would answer this key from memory now."""
        entry = self._entries.get(key)
        return entry is not None and entry[1] > monotonic()

    def get(
        self, key: Key, load: Callable[[], Value | None], *, fresh: bool = False
    ) -> Value | None:
        """The remembered value, or a newly loaded one when fresh, expired or unknown."""
        now = monotonic()
        entry = self._entries.get(key)
        if entry is not None and not fresh and entry[1] > now:
            return entry[0]
        value = load()
        if value is None:
            self._entries.pop(key, None)
        else:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (value, now + self.seconds)
        return value
