"""Issuing credentials: once a record is locked, each of its verified skills is issued as a
credential with a place of its own on a status list, recorded as an event of the record
(consumers/policies.py follows the store's locks and calls this). A place is drawn at
random, and taken by an aggregate of its own saved with the record: two credentials can
never share one, even from two processes."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from application.ports import CredentialSigner
from application.store import EventStore
from domain.assessment import Assessment
from domain.credentials import LIST_SIZE, Issuance, IssuedCredential, StatusPlace, credential_id

ISSUER = "credential_issuer"  # the follower's name, of its position and in /ready
TRIGGERS = (get_topic(Assessment.Locked),)
FULL_AFTER = 16  # draws in a row that find a place taken: the list is full enough
TRIES = 5


class CredentialIssuer:
    """Issues the credentials of the records that are verified and have none yet."""

    def __init__(
        self,
        store: EventStore,
        signer: CredentialSigner,
        public_url: str,
        id_key: bytes,
        clock: Callable[[], datetime],
        rng: random.Random,
    ) -> None:
        self.store = store
        self.signer = signer
        self.public_url = public_url
        self.id_key = id_key
        self.clock = clock
        self.rng = rng
        self.status_list = 1  # the list places are drawn on: the first not yet full

    def issue(self, record_id: UUID) -> int:
        """Issue a record's missing credentials; how many were issued (none if the record
        is not verified, was revoked or erased, or has all of them)."""
        for _ in range(TRIES):
            record = self.store.find(Assessment, record_id)
            if record is None or not (skills := record.uncredentialed):
                return 0
            ids = [credential_id(self.id_key, record.id, skill.skill_id) for skill in skills]
            places = self.places(ids)
            issued = [
                IssuedCredential(
                    place.credential_id, skill.skill_id, place.status_list, place.status_index
                )
                for skill, place in zip(skills, places, strict=True)
            ]
            issuance = Issuance(self.signer.id, self.signer.name, self.public_url)
            record.issue(issued, issuance, self.clock())
            try:
                self.store.save(record, *places)
            except IntegrityError:  # a place was taken meanwhile, or the record moved on
                continue
            return len(issued)
        raise RuntimeError(f"no credentials issued for {record_id} in {TRIES} tries")

    def issue_all(self) -> tuple[int, int]:
        """Issue what every locked record lacks (what the follower would have issued, for
        records it skipped): how many credentials, for how many records."""
        issued = records = 0
        start = 1
        while locks := self.store.recorder.select_notifications(
            start=start, limit=500, topics=TRIGGERS
        ):
            for lock in locks:
                if count := self.issue(UUID(str(lock.originator_id))):
                    issued, records = issued + count, records + 1
            start = locks[-1].id + 1
        return issued, records

    def places(self, credential_ids: list[UUID]) -> list[StatusPlace]:
        """A free place for each credential, drawn at random on the first list that is not
        full (a list counts as full once FULL_AFTER draws in a row find places taken)."""
        chosen: list[StatusPlace] = []
        drawn: set[tuple[int, int]] = set()
        for credential in credential_ids:
            misses = 0
            while True:
                place = (self.status_list, self.rng.randrange(LIST_SIZE))
                if place not in drawn and not self.taken(*place):
                    break
                misses += 1
                if misses >= FULL_AFTER:
                    self.status_list, misses = self.status_list + 1, 0
            drawn.add(place)
            chosen.append(StatusPlace.take(*place, credential))
        return chosen

    def taken(self, status_list: int, status_index: int) -> bool:
        """Whether a place is taken (by a credential saved before this look)."""
        return (
            self.store.find(StatusPlace, StatusPlace.id_for(status_list, status_index)) is not None
        )
