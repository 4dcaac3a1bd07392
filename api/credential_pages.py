"""A credential's public page and its JWT, and the status lists, for anyone (no key): the
student's email links to the page; a verifier fetches the JWT and the lists. The page is
rendered on the server (no JavaScript, nothing from other hosts, a strict CSP)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from anyio import to_thread
from litestar import Controller, MediaType, Response, get
from litestar.di import NamedDependency
from litestar.params import PathParameter

from api.review import CSS, HEADERS, TEMPLATES
from application.credential_reads import CredentialReads, CredentialShown
from application.ports import Behind

PAGE = TEMPLATES.get_template("credential.html")
JWT = "application/jwt"
CredentialName = Annotated[str, PathParameter(max_length=64)]  # <uuid> or <uuid>.jwt
ListNumber = Annotated[str, PathParameter(max_length=10)]
# A credential's address in its one spelling (a UUID as this service writes it), and a
# list's number in digits: no alias of either is served.
CREDENTIAL = re.compile(
    r"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})(\.jwt)?"
)
NUMBER = re.compile(r"[1-9][0-9]{0,9}")
MACHINE_HEADERS = {"X-Content-Type-Options": "nosniff"}


def day(moment: str | None) -> str:
    """An ISO moment as a day in words (6 December 2026)."""
    if not moment:
        return ""
    when = datetime.fromisoformat(moment)
    return f"{when.day} {when:%B %Y}"


def page(status: int, headers: dict[str, str] | None = None, **context: Any) -> Response[str]:
    """The page, rendered with the context given, with the reviewer page's headers."""
    return Response(
        PAGE.render(css=CSS, **context),
        status_code=status,
        media_type=MediaType.HTML,
        headers=HEADERS | (headers or {}),
    )


def not_found() -> Response[str]:
    """The page of an id that names no credential."""
    message = (
        "No credential has this address. Check the link; a credential just earned takes a"
        " few seconds to be issued."
    )
    return page(
        404, shown=None, title="No such credential", heading="No such credential", message=message
    )


def catching_up() -> Response[str]:
    """The page of a credential the service has not finished recording."""
    message = "This credential is being recorded. Reload the page in a moment."
    return page(
        503,
        shown=None,
        title="Being recorded",
        heading="Being recorded",
        message=message,
        headers={"Retry-After": "1"},
    )


def shown_page(shown: CredentialShown) -> Response[str]:
    """The page of a credential."""
    return page(
        200,
        shown=shown,
        title=f"{shown.skill}: verified skill",
        method="an endorsement" if shown.method == "endorsement" else "an assessment",
        issued_on=day(shown.valid_from),
        revoked_on=day(shown.revoked_at),
        jwt_path=f"/credentials/{shown.credential_id}.jwt",
    )


def machine(
    body: str, status: int, media_type: str = MediaType.TEXT, *, retry: bool = False
) -> Response[str]:
    """An answer for a verifier, not a person: a JWT, or a line of text saying why not."""
    headers = {"Retry-After": "1", **MACHINE_HEADERS} if retry else MACHINE_HEADERS
    return Response(body, status_code=status, media_type=media_type, headers=headers)


def credential_id(name: str) -> tuple[UUID | None, bool]:
    """The credential an address names (None: it names none), and whether it asks for the
    JWT."""
    match = CREDENTIAL.fullmatch(name)
    if match is None:
        return None, name.endswith(".jwt")
    return UUID(match[1]), match[2] is not None


class CredentialPagesController(Controller):
    """GET /credentials/{id} (a page), /credentials/{id}.jwt and /credentials/status/{n}.
    Their forms are the Open Badges and Bitstring Status List specifications', not this
    API's: they are left out of its OpenAPI document."""

    path = "/credentials"
    include_in_schema = False

    @get("/{name:str}")
    async def credential(
        self, name: CredentialName, credentials: NamedDependency[CredentialReads]
    ) -> Response[str]:
        """A credential's page, or with .jwt its signed JWT (application/jwt)."""
        found, wants_jwt = credential_id(name)
        try:
            shown = await to_thread.run_sync(credentials.shown, found) if found else None
        except Behind:  # the view has not yet applied what was stored before the request
            if wants_jwt:
                return machine("the credential is being recorded: try again\n", 503, retry=True)
            return catching_up()
        if not wants_jwt:
            return shown_page(shown) if shown else not_found()
        if shown is None or shown.jwt is None:
            return machine("no such credential\n", 404)
        return machine(shown.jwt, 200, JWT)

    @get("/status/{status_list:str}")
    async def status_list(
        self, status_list: ListNumber, credentials: NamedDependency[CredentialReads]
    ) -> Response[str]:
        """A status list as a signed BitstringStatusListCredential (application/jwt), as
        of every revocation recorded before the request."""
        signed = None
        if NUMBER.fullmatch(status_list) and int(status_list) < 2**31:
            try:
                signed = await to_thread.run_sync(credentials.status_list, int(status_list))
            except Behind:
                return machine("the status list is catching up: try again\n", 503, retry=True)
        if signed is None:
            return machine("no such status list\n", 404)
        return machine(signed, 200, JWT)
