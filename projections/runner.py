"""Following the event store: the projector's loop, and rebuilding a view from zero."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from eventsourcing.persistence import InterfaceError, OperationalError

from application.store import Batch, EventStore, UndecodableEvent, named, read_ahead
from projections.model import ReadModel
from projections.records import RecordView
from projections.skills import SkillView
from projections.views import Superseded, View, count_after, open_live_view, swap_in

log = logging.getLogger("assess.projections")

MODELS: dict[str, ReadModel] = {model.name: model for model in (RecordView(), SkillView())}
IDLE_WAIT = 0.1


def catch_up(
    view: View,
    until: Callable[[], bool],
    on_batch: Callable[[int, int], None] = lambda applied, position: None,
    stopping: threading.Event | None = None,
) -> None:
    """Apply every event after the view's position, in batches, until `until()` is true
    when nothing is left (or `stopping` is set, between batches). A batch is one
    transaction with its last position."""
    try:
        for batch in read_ahead(view.store, view.position(), view.model.topics):
            if stopping is not None and stopping.is_set():
                return
            if not batch:
                if until():
                    return
                continue
            try:
                view.record(batch)
            except (Superseded, OperationalError, InterfaceError):
                raise
            except Exception as error:
                raise PoisonedView(
                    f"{view.table} stopped at an event it cannot apply:"
                    f" {_find_poison(view, batch)}: {error!r}"
                ) from error
            on_batch(len(batch), batch[-1][1])
    except UndecodableEvent as error:
        raise PoisonedView(f"{view.table} stopped at an event it cannot decode: {error}") from error


class PoisonedView(Exception):
    """A view met an event it cannot apply, and stopped there."""


def _find_poison(view: View, batch: Batch) -> str:
    """Name the first event of a failed batch that fails (replayed, then rolled back)."""
    culprit = "no single event (the batch failed as a whole)"
    with contextlib.suppress(_Rollback), view.transaction() as sql:
        for event, position in batch:
            try:
                view.model.apply(sql, view.table, [(event, position)])
            except Exception:
                culprit = named(
                    position,
                    type(event).__qualname__,
                    event.originator_version,
                    event.originator_id,
                )
                break
        raise _Rollback
    return culprit


class _Rollback(Exception):
    pass


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
    return count_after(store, 0, model.topics)
