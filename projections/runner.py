"""Following the event store: the projector's loop, and rebuilding a view from zero."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from eventsourcing.domain import AggregateEvent
from eventsourcing.persistence import InterfaceError, OperationalError

from application.store import EventStore
from infrastructure.database import reason
from infrastructure.following import IDLE_WAIT, Batch, UndecodableEvent, decoded, follow_log
from projections.contacts import ContactView
from projections.credentials import CredentialView
from projections.deadletters import BLOCKED_BY_EARLIER, DeadLetter
from projections.model import ReadModel
from projections.records import RecordView
from projections.skills import SkillView
from projections.views import (
    GENERATIONS,
    Superseded,
    View,
    count_after,
    current_generation,
    open_live_view,
    swap_in,
)
from projections.webhook_targets import WebhookTargetsView

log = logging.getLogger("assess.projections")

MODELS: dict[str, ReadModel] = {
    model.name: model
    for model in (
        RecordView(),
        SkillView(),
        ContactView(),
        WebhookTargetsView(),
        CredentialView(),
    )
}


def catch_up(
    view: View,
    until: Callable[[], bool],
    on_batch: Callable[[int, int], None] = lambda applied, position: None,
    stopping: threading.Event | None = None,
) -> None:
    """Apply every event after the view's position, in batches, until `until()` is true
    when nothing is left (or `stopping` is set, between batches). A batch is one
    transaction with its last position; an event that cannot be applied, or does not
    decode, is set aside as a dead letter and the view goes on."""

    def record(batch: Batch) -> None:
        try:
            view.record(batch)
        except (Superseded, OperationalError, InterfaceError):
            raise
        except Exception as error:
            why = reason(error)
            raise PoisonedView(f"{view.table} cannot record a batch: {why}") from error
        on_batch(len(batch), batch[-1][1])

    def set_aside(error: UndecodableEvent) -> None:
        log.error("%s set aside an event it cannot decode: %s", view.table, error)
        view.set_aside_undecodable(error)
        on_batch(1, error.position)

    follow_log(
        view.store,
        view.model.topics,
        view.position,
        record,
        stopping or threading.Event(),
        until=until,
        set_aside=set_aside,
        caught_up_to=view.reach,
    )


class PoisonedView(Exception):
    """A view cannot record a batch even one event at a time (its tables are broken)."""


def follow(store: EventStore, model: ReadModel, stopping: threading.Event) -> None:
    """Keep one read model up to date until stopped; survive outages and rebuilds."""
    while not stopping.is_set():
        try:
            view = open_live_view(store, model)
            catch_up(view, until=lambda: stopping.wait(IDLE_WAIT), stopping=stopping)
        except Superseded:
            log.info("%s: a rebuild swapped in a new generation; following it", model.name)
        except (OperationalError, InterfaceError) as error:
            log.warning("%s: store unreachable (%s); retrying", model.name, error)
            stopping.wait(1.0)
        except PoisonedView as error:
            log.error("%s", error)
            return


def start_projector(store: EventStore, stopping: threading.Event) -> list[threading.Thread]:
    """Follow every read model, each in its own thread (a poisoned one stops alone)."""
    threads = [
        threading.Thread(target=follow, args=(store, model, stopping), name=name, daemon=True)
        for name, model in MODELS.items()
    ]
    for thread in threads:
        thread.start()
    return threads


def rebuild(
    store: EventStore, model: ReadModel, on_batch: Callable[[int, int], None]
) -> tuple[int, int]:
    """Fill the next generation from zero, swap readers over, drop the old one.
    Returns (old generation, new generation)."""
    current = open_live_view(store, model)
    fresh = View(store, model, current.generation + 1, live=False)
    fresh.drop()
    fresh.create()
    catch_up(fresh, until=lambda: True, on_batch=on_batch)
    swap_in(fresh)
    current.drop()
    return current.generation, fresh.generation


def count_events(store: EventStore, model: ReadModel) -> int:
    """How many stored events a rebuild of this model will apply."""
    return count_after(store, 0, model.topics, most=None)


def dead_letters(store: EventStore, model: ReadModel) -> list[DeadLetter]:
    """The events the live view has set aside, in log order."""
    view = open_live_view(store, model)
    with view.transaction() as sql:
        return view.dead_letters.listed(sql)


def retry(store: EventStore, model: ReadModel) -> tuple[int, list[DeadLetter]]:
    """Apply the live view's dead letters again, in log order, once their cause is fixed:
    each that applies leaves the list in the same transaction (so it is applied once);
    one that still fails stays, and so do its record's later events. Returns how many
    applied and what is left."""
    view = open_live_view(store, model)
    with view.transaction() as sql:
        letters = view.dead_letters.listed(sql)
    events = {letter.notification_id: _stored(store, letter) for letter in letters}
    with view.transaction() as sql:
        # Lock the generation's row: the projector's batches (which share it) wait for this.
        sql.run(f"UPDATE {GENERATIONS} SET generation = generation WHERE name = ?", model.name)
        if current_generation(sql, model.name) != view.generation:
            raise Superseded(view.table)
        applied, stuck = 0, set()
        for letter in view.dead_letters.listed(sql):
            event = events.get(letter.notification_id, "set aside after this retry began")
            if letter.record_id in stuck:
                failure: str | None = BLOCKED_BY_EARLIER
            elif isinstance(event, str):
                failure = event
            else:
                failure = view.try_apply(sql, event, letter.notification_id)
            if failure is None:
                view.dead_letters.remove(sql, letter.notification_id)
                applied += 1
            else:
                view.dead_letters.set_aside(sql, replace(letter, error=failure))
                stuck.add(letter.record_id)
        left = view.dead_letters.listed(sql)
    return applied, left


def _stored(store: EventStore, letter: DeadLetter) -> AggregateEvent | str:
    """A dead letter's event as stored now, or why it cannot be decoded."""
    for notification in store.recorder.select_notifications(
        start=letter.notification_id, limit=1, stop=letter.notification_id
    ):
        try:
            return decoded(store, notification)
        except UndecodableEvent as error:
            return str(error)
    return "not in the event store"
