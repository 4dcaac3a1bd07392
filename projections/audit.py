"""The audit log's follower: a leaf per stored event, exactly once, and signed checkpoints
every ASSESS_AUDIT_CHECKPOINT_EVENTS events or ASSESS_AUDIT_CHECKPOINT_SECONDS seconds."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError

from application.settings import Settings
from application.store import EventStore
from domain.moments import iso
from infrastructure.auditlog import AuditLog, Checkpoint
from infrastructure.database import transaction
from infrastructure.following import IDLE_WAIT, MAX_BACKOFF, Tracker
from infrastructure.signing import AuditKey

log = logging.getLogger("assess.audit")

AUDIT_FOLLOWER = "audit_log"  # the follower name of its position


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


class AuditFollower:
    """Appends every stored event of the log, in notification order, to the audit log: a
    batch of leaves, their nodes and the follower's position are one transaction, and the
    tracking recorder refuses a position that is not past the last, so each event is one
    leaf even with two followers running. The stored bytes are hashed as read."""

    def __init__(
        self,
        store: EventStore,
        settings: Settings,
        log: AuditLog,
        tracker: Tracker,
        clock: Callable[[], datetime] = utc_now,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.timer = timer
        self.log = log
        self.tracker = tracker
        self._key: AuditKey | None = None
        self._resync()

    def _resync(self) -> None:
        with transaction(self.store, commit=False) as sql:
            self.size = self.log.size(sql)
        latest = self.log.checkpoint()
        self.checkpointed = latest.size if latest else 0
        self.checkpointed_at = self.timer()

    def append(self, limit: int = 1000) -> int:
        """Append the next stored events (up to limit); how many."""
        notifications = self.store.recorder.select_notifications(
            start=self.tracker.position() + 1, limit=limit
        )
        if not notifications:
            return 0
        with transaction(self.store) as sql:
            self.tracker.advance_within(sql.cursor, notifications[-1].id)
            self.size = self.log.append(sql, notifications)
        return len(notifications)

    def catch_up(self) -> None:
        """Append every stored event not yet in the log."""
        while self.append():
            pass

    def checkpoint(self) -> Checkpoint | None:
        """Sign a checkpoint of the log as it is (None while it is empty); the key is made
        on first use."""
        made = self.log.sign(self.key(), self.settings.audit_origin, iso(self.clock()))
        self.checkpointed, self.checkpointed_at = (made.size if made else 0), self.timer()
        return made

    def key(self) -> AuditKey:
        """The signing key (ASSESS_AUDIT_KEY_FILE), read once, made on first use."""
        if self._key is None:
            self._key = AuditKey.load_or_create(self.settings.audit_key_path)
        return self._key

    def due(self) -> bool:
        """Whether a checkpoint is due: N events since the last, or S seconds and some."""
        new = self.size - self.checkpointed
        waited = self.timer() - self.checkpointed_at
        return new >= self.settings.audit_checkpoint_events or (
            new > 0 and waited >= self.settings.audit_checkpoint_seconds
        )

    def run(self, stopping: threading.Event) -> None:
        """Follow the log until stopped; an outage, or another follower's batch, pauses it
        and it goes on from the recorded position."""
        backoff = 0.5
        while not stopping.is_set():
            try:
                appended = self.append()
                if self.due():
                    made = self.checkpoint()
                    log.info("signed the audit checkpoint of size %s", made and made.size)
                backoff = 0.5
                if not appended:
                    stopping.wait(IDLE_WAIT)
            except (OperationalError, InterfaceError, IntegrityError) as error:
                log.warning("audit log paused (%s); going on from its position", error)
                stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                self._resync_quietly()

    def _resync_quietly(self) -> None:
        with contextlib.suppress(OperationalError, InterfaceError):
            self._resync()


def start_audit(follower: AuditFollower, stopping: threading.Event) -> threading.Thread:
    """Follow the audit log in a daemon thread (its key read first: a bad key file stops
    the process at its start, not at its first checkpoint)."""
    follower.key()
    thread = threading.Thread(target=follower.run, args=(stopping,), name="audit", daemon=True)
    thread.start()
    return thread
