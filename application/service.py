"""The assessment service: runs command handlers (application/handlers/) with idempotency,
and answers the event-store queries."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Generic, TypeVar
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.access import (
    Access,
    derived_key,
    reviewer_key,
    session_key,
)
from application.banks import QuestionBanks
from application.callers import Caller, SessionCaller, TenantCaller, tenant_of
from application.commands import Idempotency
from application.idempotency import answered_again, idempotency_record
from application.ports import (
    DeliveryLog,
    LoopEvents,
    PersonalData,
    TargetCheck,
)
from application.queries import RECORD_ID, record_of
from application.questions import QuestionSets
from application.results import (
    WebhookStatus,
)
from application.settings import Settings
from application.store import EventStore
from application.webhooks import Webhooks
from domain.access import IdempotentResponse
from domain.assessment import Assessment
from domain.errors import (
    Conflict,
    DomainError,
)
from domain.webhooks import TenantWebhooks

Result = TypeVar("Result", bound=msgspec.Struct)
Command = TypeVar("Command")


@dataclass(frozen=True)
class Handler(Generic[Command, Result]):
    """A command's handler (one module each, in application/handlers/): `decide` loads what
    the command is about, asks the domain, and returns the result with the aggregates to
    save; `AssessmentService.execute` saves them. `tenant_only` refuses session tokens;
    `saved`, if given, runs once they are saved. `reads`, if given, names the aggregates
    `decide` finds in the store, so that it may decide on the event loop
    (`execute_on_loop`) with them loaded first; `on_loop` and `saved_on_loop`, if given,
    are `decide` and `saved` for the event loop, reading and writing through LoopEvents."""

    result: type[Result]
    decide: Callable[[AssessmentService, Caller, Command], tuple[Result, list[Aggregate]]]
    tenant_only: bool = False
    saved: Callable[[AssessmentService, list[Aggregate]], None] | None = None
    reads: Callable[[AssessmentService, Caller, Command], set[UUID]] | None = None
    on_loop: (
        Callable[
            [AssessmentService, LoopEvents, Caller, Command],
            Awaitable[tuple[Result, list[Aggregate]]],
        ]
        | None
    ) = None
    saved_on_loop: (
        Callable[[AssessmentService, LoopEvents, list[Aggregate]], Awaitable[None]] | None
    ) = None

    @property
    def decides_on_loop(self) -> bool:
        """Whether `execute_on_loop` can run it (where the store can be read from there)."""
        return (self.reads is not None or self.on_loop is not None) and (
            self.saved is None or self.saved_on_loop is not None
        )


def record_read(caller: Caller, record_verification_id: str | None) -> set[UUID]:
    """What `AssessmentService.record_of` finds: nothing for a session (its record came
    with it), else the record the id names."""
    match = RECORD_ID.fullmatch(record_verification_id or "")
    return {UUID(match[2])} if match and not isinstance(caller, SessionCaller) else set()


def webhooks_read(caller: Caller) -> set[UUID]:
    """What `AssessmentService.webhook_status` finds: the webhooks of the caller's tenant
    (a session's: its record's)."""
    if isinstance(caller, SessionCaller):
        return {TenantWebhooks.id_for(caller.record.tenant, caller.record.mode)}
    if isinstance(caller, TenantCaller):
        return {TenantWebhooks.id_for(caller.tenant, caller.mode)}
    return set()


class AssessmentService:
    """Runs the command handlers (saving what they change, with idempotency) and answers
    the event-store queries; it never sees HTTP."""

    def __init__(
        self,
        store: EventStore,
        settings: Settings,
        clock: Callable[[], datetime],
        new_id: Callable[[], UUID],
        rng: random.Random,
        *,
        access: Access,
        banks: QuestionBanks,
        webhooks: Webhooks,
        deliveries: DeliveryLog,
        check_target: TargetCheck,
        personal: PersonalData,
        questions: QuestionSets,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.new_id = new_id
        self.rng = rng
        self.access = access
        self.banks = banks
        self.check_target = check_target
        self.webhooks = webhooks
        self.deliveries = deliveries
        self.personal = personal
        self.questions = questions

    # -- commands ---------------------------------------------------------------------------

    def execute(
        self,
        handler: Handler[Command, Result],
        caller: Caller,
        command: Command,
        idempotency: Idempotency | None,
    ) -> Result:
        """Run a command's handler and save what it changed, atomically; with an
        Idempotency-Key, the first result is saved with it and answered to every retry."""
        if handler.tenant_only:
            tenant_of(caller)  # a session is refused before any replay
        if (replayed := self._replayed(caller, idempotency, handler.result, command)) is not None:
            return replayed
        try:
            decided = handler.decide(self, caller, command)
            result, changed = self._kept(decided, caller, idempotency)
            self.store.save(*changed)
            if handler.saved is not None:
                handler.saved(self, changed)
        except (DomainError, IntegrityError) as error:
            # A request with the same key may have won since we looked: answer as it did.
            replayed = self._replayed(caller, idempotency, handler.result, command)
            if replayed is not None:
                return replayed
            if isinstance(error, IntegrityError):
                raise Conflict("a concurrent command on this record was recorded first") from None
            raise
        return result

    async def execute_on_loop(
        self,
        events: LoopEvents,
        handler: Handler[Command, Result],
        caller: Caller,
        command: Command,
        idempotency: Idempotency | None,
    ) -> Result:
        """As `execute`, deciding on the event loop: what the handler reads (and the
        Idempotency-Key's first answer) is loaded first in one round trip, and what it
        changed is saved in one more. NotLoaded, with nothing saved, if the decision read
        anything else (a question bank this process no longer remembers, say): the caller
        then runs `execute` in a worker thread, on a caller authenticated again."""
        assert handler.decides_on_loop
        if handler.tenant_only:
            tenant_of(caller)
        prior = self._prior(caller, idempotency)
        reads = handler.reads(self, caller, command) if handler.reads is not None else set()
        failure: DomainError | IntegrityError | None = None
        with self.store.loaded(await events.load(reads | prior)):
            replayed = self._replayed(caller, idempotency, handler.result, command)
            if replayed is not None:
                return replayed
            try:
                if handler.on_loop is not None:
                    decided = await handler.on_loop(self, events, caller, command)
                else:
                    decided = handler.decide(self, caller, command)
                result, changed = self._kept(decided, caller, idempotency)
            except (DomainError, IntegrityError) as error:
                failure = error
        if failure is None:
            try:
                await events.save(*changed)
            except IntegrityError as error:
                failure = error
            else:
                if handler.saved_on_loop is not None:
                    await handler.saved_on_loop(self, events, changed)
                return result
        # A request with the same key may have won since we looked: answer as it did.
        with self.store.loaded(await events.load(prior)):
            replayed = self._replayed(caller, idempotency, handler.result, command)
        if replayed is not None:
            return replayed
        if isinstance(failure, IntegrityError):
            raise Conflict("a concurrent command on this record was recorded first") from None
        raise failure

    def once(
        self,
        caller: Caller,
        idempotency: Idempotency | None,
        result_type: type[Result],
        act: Callable[[], Result],
    ) -> Result:
        """Run an action that changes no aggregate (a redelivery, say) once per
        Idempotency-Key: a retry answers as the first did instead of acting again."""
        if (replayed := self._replayed(caller, idempotency, result_type, None)) is not None:
            return replayed
        result = act()
        if idempotency is not None:
            first = IdempotentResponse.record(
                caller.scope, idempotency.key, idempotency.fingerprint, idempotency_record(result)
            )
            try:
                self.store.save(first)
            except IntegrityError:  # a retry acted meanwhile: answer as it did
                replayed = self._replayed(caller, idempotency, result_type, None)
                if replayed is not None:
                    return replayed
                raise
        return result

    @staticmethod
    def _kept(
        decided: tuple[Result, list[Aggregate]],
        caller: Caller,
        idempotency: Idempotency | None,
    ) -> tuple[Result, list[Aggregate]]:
        """A handler's result and what it changed, with the Idempotency-Key's record."""
        result, changed = decided
        if idempotency is not None:
            changed.append(
                IdempotentResponse.record(
                    caller.scope,
                    idempotency.key,
                    idempotency.fingerprint,
                    idempotency_record(result),
                )
            )
        return result, changed

    # -- plumbing --------------------------------------------------------------------------

    @staticmethod
    def _prior(caller: Caller, idempotency: Idempotency | None) -> set[UUID]:
        """The id of the Idempotency-Key's first answer, if there is a key."""
        if idempotency is None:
            return set()
        return {IdempotentResponse.id_for(caller.scope, idempotency.key)}

    def _replayed(
        self,
        caller: Caller,
        idempotency: Idempotency | None,
        result_type: type[Result],
        command: object,
    ) -> Result | None:
        """The first result answered with this Idempotency-Key, if there was one."""
        if idempotency is None:
            return None
        prior = self.store.find(
            IdempotentResponse, IdempotentResponse.id_for(caller.scope, idempotency.key)
        )
        if prior is None:
            return None
        kept_result = prior.replay(idempotency.fingerprint, idempotency.unkeyed)
        restored_result = answered_again(caller, kept_result, command, self.session_key)
        return msgspec.convert(restored_result, result_type)

    def awaits_questions(self, caller: Caller, record_verification_id: str | None) -> bool:
        """Whether the record a generate names wants a set that is not prepared yet (read
        now; False where the command will refuse)."""
        try:
            record = self.store.find(Assessment, self.record_of(caller, record_verification_id).id)
        except DomainError:
            return False
        return record is not None and record.wants_questions

    def record_of(self, caller: Caller, record_verification_id: str | None) -> Assessment:
        """The record a command is about: the session's own, or the tenant's by its id."""
        return record_of(self.store, caller, record_verification_id)

    @cached_property
    def link_key(self) -> bytes:
        """The key reviewer links are derived under (from the master key, read once)."""
        return reviewer_key(self.settings.master_secret())

    @cached_property
    def fingerprint_key(self) -> bytes:
        """The key Idempotency-Key fingerprints are made under (from the master key)."""
        return derived_key(self.settings.master_secret(), b"assess:idempotency-fingerprints")

    @cached_property
    def session_key(self) -> bytes:
        """The key session tokens are derived under (from the master key, read once)."""
        return session_key(self.settings.master_secret())

    def webhook_status(
        self, assessment: Assessment, event_type: str = "verification.completed"
    ) -> WebhookStatus:
        """Whether the webhook a command fires is queued for some endpoint."""
        if assessment.callback_webhook_url or self.webhooks.any_for(
            assessment.tenant, assessment.mode, event_type
        ):
            return WebhookStatus(sent=True, status="queued")
        return WebhookStatus(sent=False, status="no_endpoint")
