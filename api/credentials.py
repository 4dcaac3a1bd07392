"""The credential issuer's public documents: its did:web document and its keys as a JWKS,
with every key ever used, so that anyone can verify a credential without asking us."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Response

from infrastructure.credential_keys import Issuer


class IssuerController(Controller):
    """GET /.well-known/did.json and /.well-known/jwks.json (public). Their forms are the
    DID and JWK specifications', not this API's: they are left out of its OpenAPI document."""

    path = "/.well-known"
    include_in_schema = False

    @get(
        "/did.json",
        sync_to_thread=True,  # the key files are read (and the first key made)
    )
    def did_document(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """The issuer's DID document (did:web, from the host of ASSESS_PUBLIC_URL): every key
        that ever signed a credential, as a JsonWebKey verification method."""
        issuer: Issuer = request.app.state.issuer
        return Response(issuer.keys.did_document(issuer.id), media_type="application/did+json")

    @get(
        "/jwks.json",
        sync_to_thread=True,  # the key files are read (and the first key made)
    )
    def jwks(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """Every public key that ever signed a credential, each with its `kid` (the key's
        RFC 7638 thumbprint, as credentials' headers name it after the issuer's did)."""
        issuer: Issuer = request.app.state.issuer
        return Response(issuer.keys.jwks(), media_type="application/jwk-set+json")
