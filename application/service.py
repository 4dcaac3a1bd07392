"""Command handlers (load, decide, save) and event-store queries of the assessment service."""

from __future__ import annotations

import hmac
import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate, AggregateEvent
from eventsourcing.persistence import IntegrityError

from application.access import Access, digest, new_session_token
from application.banks import QuestionBanks
from application.messages import (
    AttemptResult,
    Caller,
    Generated,
    GenerateQuestions,
    History,
    Idempotency,
    RegisteredEndpoint,
    Secret,
    SessionCaller,
    Started,
    StartVerification,
    SubmitAnswers,
    Submitted,
    WebhookStatus,
    tenant_of,
)
from application.ports import DeliveryLog, TargetCheck
from application.public import public_event, public_state, record_summary
from application.settings import Settings
from application.store import EventStore
from application.webhooks import Webhooks
from domain.access import IdempotentResponse
from domain.assessment import Assessment, iso
from domain.errors import (
    Conflict,
    DomainError,
    IdempotencyKeyReused,
    MissingVerificationId,
    VerificationNotFound,
)
from domain.questions import draw
from domain.scoring import result_message

Result = TypeVar("Result", bound=msgspec.Struct)

RECORD_ID = re.compile(r"ver_(live|test)_([0-9a-f]{32})")


def fold(events: list[AggregateEvent]) -> Assessment | None:
    """The record these events make, or None before its first."""
    state: Assessment | None = None
    for event in events:
        state = cast("Assessment", event.mutate(state))
    return state


def kept(result: msgspec.Struct) -> dict[str, Any]:
    """A result as its idempotency record keeps it: a session token only as its hash."""
    stored: dict[str, Any] = msgspec.to_builtins(result)
    if "sessionToken" in stored:
        stored["sessionTokenHash"] = digest(stored.pop("sessionToken"))
    return stored


def restored(caller: Caller, stored: dict[str, Any]) -> dict[str, Any]:
    """A kept result as it was answered: the session token derived again from the replaying
    caller's key, which must be the key that started the record."""
    if "sessionTokenHash" not in stored:  # no token, or one kept before tokens were derived
        return stored
    result = {name: value for name, value in stored.items() if name != "sessionTokenHash"}
    record = UUID(stored["recordVerificationId"].rsplit("_", 1)[1])  # ver_<mode>_<uuid hex>
    token = new_session_token(tenant_of(caller).session_key, record)
    if not hmac.compare_digest(digest(token), stored["sessionTokenHash"]):
        raise IdempotencyKeyReused("this Idempotency-Key was used with another API key")
    return {**result, "sessionToken": token}


class AssessmentService:
    """The commands of the write side and the history query; it never sees HTTP."""

    def __init__(
        self,
        store: EventStore,
        settings: Settings,
        clock: Callable[[], datetime],
        new_id: Callable[[], UUID],
        rng: random.Random,
        deliveries: DeliveryLog,
        check_target: TargetCheck,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.new_id = new_id
        self.rng = rng
        self.access = Access(store, clock)
        self.banks = QuestionBanks(store)
        self.check_target = check_target
        self.webhooks = Webhooks(store, check_target)
        self.deliveries = deliveries

    # -- commands --------------------------------------------------------------------------

    def start_verification(
        self, caller: Caller, command: StartVerification, idempotency: Idempotency | None
    ) -> Started:
        """Start a verification for a student's skills, each of which must have a bank."""
        tenant = tenant_of(caller)

        def decide() -> tuple[Started, list[Aggregate]]:
            self.banks.check_banked(command.skills)
            if command.callback_webhook_url:
                self.check_target(command.callback_webhook_url, "callbackWebhookUrl")
            now = self.clock()
            expires_at = now + timedelta(seconds=self.settings.session_ttl_seconds)
            aggregate_id = self.new_id()
            token = new_session_token(tenant.session_key, aggregate_id)
            assessment = Assessment.start(
                id=aggregate_id,
                at=now,
                tenant=tenant.tenant,
                mode=tenant.mode,
                student=command.student,
                skills=command.skills,
                callback_webhook_url=command.callback_webhook_url,
                session_token_hash=digest(token),
                session_expires_at=expires_at,
            )
            started = Started(
                record_verification_id=assessment.record_verification_id,
                session_token=token,
                expires_at=iso(expires_at),
                expires_in=self.settings.session_ttl_seconds,
            )
            return started, [assessment]

        return self._execute(caller, idempotency, Started, decide)

    def generate_questions(
        self, caller: Caller, command: GenerateQuestions, idempotency: Idempotency | None
    ) -> Generated:
        """Draw the next attempt's questions, or return the pending set again."""

        def decide() -> tuple[Generated, list[Aggregate]]:
            assessment = self._record(caller, command.record_verification_id)

            def drawn() -> list[Any]:
                banks = [self.banks.bank(skill["skillId"]) for skill in assessment.skills]
                return draw(banks, self.settings.questions_per_attempt, self.rng)

            already = assessment.generate(drawn, self.clock())
            questions = [question.public() for question in assessment.question_set or []]
            generated = Generated(
                record_verification_id=assessment.record_verification_id,
                attempt_number=assessment.attempt_number,
                total_questions=len(questions),
                questions=questions,
                already_generated=already,
            )
            return generated, [assessment]

        return self._execute(caller, idempotency, Generated, decide)

    def submit_answers(
        self, caller: Caller, command: SubmitAnswers, idempotency: Idempotency | None
    ) -> Submitted:
        """Score every answer of the pending attempt; verify or reject the skills."""

        def decide() -> tuple[Submitted, list[Aggregate]]:
            assessment = self._record(caller, command.record_verification_id)
            assessment.submit(command.answers, self.clock())
            attempt = assessment.attempts[-1]
            submitted = Submitted(
                record_verification_id=assessment.record_verification_id,
                result=AttemptResult(
                    score=attempt["score"],
                    passed=attempt["passed"],
                    attempt_number=attempt["attemptNumber"],
                    correct_answers=attempt["correctAnswers"],
                    total_questions=attempt["totalQuestions"],
                    message=result_message(attempt["passed"], attempt["score"]),
                ),
                verified_skills=[dict(skill) for skill in assessment.skill_status.values()],
                skills_updated=assessment.skills_updated,
                webhook=self._webhook_status(assessment),
            )
            return submitted, [assessment]

        return self._execute(caller, idempotency, Submitted, decide)

    def register_webhook(
        self,
        caller: Caller,
        url: str,
        events: list[str] | None,
        idempotency: Idempotency | None,
    ) -> RegisteredEndpoint:
        """Register a webhook endpoint of the caller's tenant."""

        def decide() -> tuple[RegisteredEndpoint, list[Aggregate]]:
            endpoint, webhooks = self.webhooks.registration(tenant_of(caller), url, events)
            return endpoint, [webhooks]

        return self._execute(caller, idempotency, RegisteredEndpoint, decide)

    def rotate_callback_secret(self, caller: Caller, idempotency: Idempotency | None) -> Secret:
        """Replace the tenant's callback secret."""

        def decide() -> tuple[Secret, list[Aggregate]]:
            secret, webhooks = self.webhooks.rotation(tenant_of(caller))
            return secret, [webhooks]

        return self._execute(caller, idempotency, Secret, decide)

    # -- queries ---------------------------------------------------------------------------

    def history(
        self, caller: Caller | None, record_verification_id: str, as_of: datetime | None
    ) -> History:
        """A record's events up to a moment and their fold; caller None is the operator."""
        tenant = None if caller is None else tenant_of(caller)
        match = RECORD_ID.fullmatch(record_verification_id)
        stored = (
            cast(
                "list[AggregateEvent]", list(self.store.repository.event_store.get(UUID(match[2])))
            )
            if match
            else []
        )
        record = fold(stored)  # read once: the whole record decides who may see it
        if (
            match is None
            or record is None
            or record.mode != match[1]
            or (tenant is not None and (record.tenant, record.mode) != (tenant.tenant, tenant.mode))
        ):
            raise VerificationNotFound(f"no verification '{record_verification_id}'")
        events = [event for event in stored if as_of is None or event.timestamp <= as_of]
        return History(
            events=[public_event(event) for event in events], state=public_state(fold(events))
        )

    def record(self, caller: Caller, record_verification_id: str) -> dict[str, Any]:
        """A record as its events fold to it now (for reads the record view has not seen)."""
        return record_summary(self._record(tenant_of(caller), record_verification_id))

    # -- plumbing --------------------------------------------------------------------------

    def _execute(
        self,
        caller: Caller,
        idempotency: Idempotency | None,
        result_type: type[Result],
        decide: Callable[[], tuple[Result, list[Aggregate]]],
    ) -> Result:
        """Decide and save atomically; with an Idempotency-Key, replay the first result."""
        if (replayed := self._replayed(caller, idempotency, result_type)) is not None:
            return replayed
        try:
            result, changed = decide()
            if idempotency is not None:
                changed.append(
                    IdempotentResponse.record(
                        caller.scope, idempotency.key, idempotency.fingerprint, kept(result)
                    )
                )
            self.store.save(*changed)
        except (DomainError, IntegrityError) as error:
            # A request with the same key may have won since we looked: answer as it did.
            if (replayed := self._replayed(caller, idempotency, result_type)) is not None:
                return replayed
            if isinstance(error, IntegrityError):
                raise Conflict("a concurrent command on this record was recorded first") from None
            raise
        return result

    def _replayed(
        self, caller: Caller, idempotency: Idempotency | None, result_type: type[Result]
    ) -> Result | None:
        if idempotency is None:
            return None
        prior = self.store.find(
            IdempotentResponse, IdempotentResponse.id_for(caller.scope, idempotency.key)
        )
        if prior is None:
            return None
        return msgspec.convert(restored(caller, prior.replay(idempotency.fingerprint)), result_type)

    def _record(self, caller: Caller, record_verification_id: str | None) -> Assessment:
        if isinstance(caller, SessionCaller):
            if record_verification_id not in (None, caller.record.record_verification_id):
                raise VerificationNotFound("this session is bound to another record")
            return caller.record
        tenant = tenant_of(caller)
        if not record_verification_id:
            raise MissingVerificationId("recordVerificationId is required with a tenant key")
        assessment = self._find_record(record_verification_id)
        if assessment is None or (assessment.tenant, assessment.mode) != (
            tenant.tenant,
            tenant.mode,
        ):
            raise VerificationNotFound(f"no verification '{record_verification_id}'")
        return assessment

    def _find_record(self, record_verification_id: str) -> Assessment | None:
        match = RECORD_ID.fullmatch(record_verification_id)
        if match is None:
            return None
        assessment = self.store.find(Assessment, UUID(match.group(2)))
        return assessment if assessment and assessment.mode == match.group(1) else None

    def _webhook_status(self, assessment: Assessment) -> WebhookStatus:
        if assessment.callback_webhook_url or self.webhooks.any_for(
            assessment.tenant, assessment.mode, "verification.completed"
        ):
            return WebhookStatus(sent=True, status="queued")
        return WebhookStatus(sent=False, status="no_endpoint")
