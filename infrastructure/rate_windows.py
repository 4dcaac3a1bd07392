"""The limits' ledger on PostgreSQL (api/limits.py): each key's total per one-minute window,
shared by every process of the deployment, leased from in one statement. Keys are stored
as hashes (of a credential's hash, or of a client address), never as themselves. Windows
before the last are deleted as time goes on."""

from __future__ import annotations

import hashlib

from infrastructure.loop_events import PostgresLoopEvents, translated

TABLE = "rate_windows"
RATE_WINDOWS = [
    f"CREATE TABLE IF NOT EXISTS {TABLE} (key TEXT NOT NULL, window_start BIGINT NOT NULL,"
    " used BIGINT NOT NULL, granted BIGINT NOT NULL, PRIMARY KEY (key, window_start))"
]
# The grant: up to `w` (wanted) of what the limit `n` leaves once `a` (admitted on credit)
# is added. On a conflict the row is locked, and every SET expression reads it as it was.
GRANT_NEW = "LEAST(%(w)s, GREATEST(%(n)s - %(a)s, 0))"
GRANT = "LEAST(%(w)s, GREATEST(%(n)s - r.used - %(a)s, 0))"
LEASE = (
    f"INSERT INTO {TABLE} AS r (key, window_start, used, granted)"
    f" VALUES (%(key)s, %(window)s, %(a)s + {GRANT_NEW}, {GRANT_NEW})"
    " ON CONFLICT (key, window_start) DO UPDATE"
    f" SET granted = {GRANT}, used = r.used + %(a)s + {GRANT}"
    " RETURNING granted, used"
)
FORGET = f"DELETE FROM {TABLE} WHERE window_start < %s"


class SharedLedger:
    """Leases from one table, on the event loop's pool of the API process."""

    def __init__(self, events: PostgresLoopEvents) -> None:
        self.events = events
        self._forgot = 0  # the window before which the table was last cleared

    async def lease(
        self, key: str, window: int, admitted: int, want: int, limit: int
    ) -> tuple[int, int]:
        """Report what was admitted on credit, and lease up to `want` more without the
        window's total passing the limit: what was granted, and the total after."""
        stored = hashlib.sha256(key.encode()).hexdigest()
        values = {"key": stored, "window": window, "a": admitted, "w": want, "n": limit}
        with translated():
            async with self.events.pool.connection() as connection:
                cursor = await connection.execute(LEASE, values, prepare=True)
                row = await cursor.fetchone()
                if window - 1 > self._forgot:  # once a window: what ended before the last
                    await connection.execute(FORGET, (window - 1,))
                    self._forgot = window - 1
        assert row is not None
        granted, used = row
        return int(granted), int(used)
