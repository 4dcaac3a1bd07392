"""The OpenAPI 3.1 document at /schema/openapi.json: Litestar's paths, with every schema
from the msgspec structs the API decodes and encodes, the Idempotency-Key header, an
example per operation, links and the webhooks (`finished`)."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag

from api.audit_examples import AUDIT_EXAMPLES
from api.bodies import MAX_IDEMPOTENCY_KEY
from api.examples import EXAMPLES
from api.reference import ReferenceUI
from api.schemas import ErrorResponse
from api.webhook_examples import WEBHOOK_EXAMPLES
from application.webhook_bodies import WEBHOOKS

REF = "#/components/schemas/{name}"
DESCRIPTION = """Verify students' skills by assessment (a set of questions drawn from each
skill's question bank) or by a reviewer's endorsement.

**Credentials.** Every call sends one in the `x-api-key` header: a partner's tenant key
(`ak_live_…` or `ak_test_…`, made with `assess keys create`; the mode follows the key) or,
for generate, submit and inviting a reviewer, the session token (`sess_…`) that
`POST /api/v1/verify` returned for the record. The reviewer's two calls take the token of the
link they were emailed instead, as `?reviewerToken=`.

**Errors** are `{"success": false, "error": {"code", "message"}}`; the message names the
field at fault. **Retries:** send an `Idempotency-Key` with any POST; a retry with the same
key and body answers as the first did and changes nothing."""
TAGS = [
    Tag(name="verifications", description="Start verifications; read records and history."),
    Tag(name="assessment", description="Draw questions and submit answers."),
    Tag(name="human endorsement", description="A reviewer endorses the skills of a record."),
    Tag(
        name="students",
        description="A student's skills across records; their personal data: export, erasure.",
    ),
    Tag(name="webhooks", description="Where events are sent, and the deliveries made."),
]
API_KEY = SecurityScheme(
    type="apiKey",
    name="x-api-key",
    security_scheme_in="header",
    description="A tenant key (ak_live_…, ak_test_…) or a record's session token (sess_…).",
)
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any text of your choosing, once per intended change: a retry with the "
    "same key and body answers as the first request did and records nothing more; the same "
    "key with another body is 422 IDEMPOTENCY_KEY_REUSED.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY},
}

RECORD_ID = "$response.body#/data/recordVerificationId"
FIRST_QUESTION = "$response.body#/data/questions/0/questionId"
SESSION = {"header.x-api-key": "$response.body#/data/sessionToken"}
AS_STUDENT = {"parameters": SESSION, "requestBody": {"recordVerificationId": RECORD_ID}}
BY_RECORD = {"parameters": {"path.record_verification_id": RECORD_ID}}
BY_ENDPOINT = {"parameters": {"path.endpoint_id": "$response.body#/data/id"}}
LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("startVerification", "201"): {
        "generateQuestions": {
            **AS_STUDENT,
            "description": "Draw the questions as the student: the session token in "
            "x-api-key (with a tenant key, the recordVerificationId in the body).",
        },
        "submitAssessment": {**AS_STUDENT, "description": "Submit the answers as the student."},
        "inviteReviewer": {**AS_STUDENT, "description": "Invite the reviewer of the record."},
        "getVerification": {**BY_RECORD, "description": "Read the record."},
        "getVerificationHistory": {**BY_RECORD, "description": "Replay the record's events."},
        "getStudentSkills": {
            "parameters": {"path.student_id": "$request.body#/student/studentId"},
            "description": "The student's skills across records.",
        },
    },
    ("generateQuestions", "200"): {
        "submitAssessment": {
            "requestBody": {
                "recordVerificationId": RECORD_ID,
                "answers": [
                    {
                        "questionId": "$response.body#/data/questions/0/questionId",
                        "selectedAnswer": 0,
                    }
                ],
            },
            "description": "Answer the questions drawn (one answer per question).",
        }
    },
    ("registerWebhook", "201"): {
        "listWebhookDeliveries": {**BY_ENDPOINT, "description": "The endpoint's deliveries."},
        "deleteWebhook": {**BY_ENDPOINT, "description": "Remove the endpoint."},
    },
}
WEBHOOK_HEADERS = [
    ("webhook-id", "The delivery's id: the same on every retry of it."),
    ("webhook-timestamp", "When this try was signed, in seconds since the Unix epoch."),
    (
        "webhook-signature",
        "v1,<base64 HMAC-SHA256 of '{webhook-id}.{webhook-timestamp}.{body}'> under the "
        "endpoint's secret (whsec_…), per the Standard Webhooks specification.",
    ),
]
WEBHOOK_ABOUT = {  # operationId, description
    "verification.initiated": (
        "verificationInitiated",
        "A record's first question set was drawn (assessment) or its first reviewer invited "
        "(human endorsement).",
    ),
    "verification.completed": (
        "verificationCompleted",
        "An attempt was scored, or the reviewer endorsed: the outcome as submit (or the "
        "reviewer's verify) returned it, and the student's id.",
    ),
    "verification.revoked": (
        "verificationRevoked",
        "The tenant revoked a record's verification: its skills (the verified ones now "
        "revoked), the reason, when, and the student's id. The record's credentials are "
        "revoked with it.",
    ),
}


SUCCESS = {"200": "Done: the answer is in data.", "201": "Created: the answer is in data."}
RECEIVED = (
    "Received. Any other answer, or none within 10 s, is tried again later with the same "
    "webhook-id, on the schedule the service is configured with."
)


def openapi_config() -> OpenAPIConfig:
    """The document's settings, its reference UI at /schema and the finished JSON."""
    return OpenAPIConfig(
        title="Skill verification assessments",
        version="1.0.0",
        description=DESCRIPTION,
        path="/schema",
        use_handler_docstrings=True,
        tags=TAGS,
        components=Components(security_schemes={"apiKey": API_KEY}),
        render_plugins=[ReferenceUI(), Document()],
    )


class Document(JsonRenderPlugin):
    """/schema/openapi.json: Litestar's document, finished once per build of it."""

    def __init__(self) -> None:
        super().__init__(path="/openapi.json")
        self._built: tuple[dict[str, Any], bytes] | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._built is None or self._built[0] is not openapi_schema:
            document = finished(openapi_schema, request.app)
            self._built = (openapi_schema, msgspec.json.encode(document))
        return self._built[1]


def finished(built: dict[str, Any], app: Litestar) -> dict[str, Any]:
    """Litestar's document with msgspec's schemas, Idempotency-Key, examples, links and
    webhooks (a copy: Litestar's own stays as it built it)."""
    document = copy.deepcopy(built)
    components = document["components"]
    components["schemas"] = {**components.get("schemas", {}), **msgspec_schemas(app)}
    document["components"]["parameters"] = {"IdempotencyKey": IDEMPOTENCY_KEY}
    for item in document["paths"].values():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                parameter["schema"] = without_null(parameter["schema"])
            if method == "post":
                operation.setdefault("parameters", []).append(
                    {"$ref": "#/components/parameters/IdempotencyKey"}
                )
            optional_body(operation)
            add_examples(operation)
            for (operation_id, status), links in LINKS.items():
                if operation["operationId"] == operation_id:
                    for name, link in links.items():
                        links_of = operation["responses"][status].setdefault("links", {})
                        links_of[name] = {"operationId": name, **link}
    document["webhooks"] = webhooks()
    return document


def msgspec_schemas(app: Litestar) -> dict[str, Any]:
    """The JSON Schema of every struct the routes in the document take or answer with, and
    of the webhooks, as msgspec makes it."""
    types: list[Any] = [ErrorResponse]
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if isinstance(handler, HTTPRouteHandler) and handler.resolve_include_in_schema():
                signature = handler.parsed_fn_signature
                types.append(signature.return_type.annotation)
                if "data" in signature.parameters:
                    types.append(signature.parameters["data"].annotation)
    types += [kind for kinds in WEBHOOKS.values() for kind in kinds]
    known = [kind for kind in types if has_schema(kind)]
    return msgspec.json.schema_components(known, ref_template=REF)[1]


def has_schema(kind: Any) -> bool:
    """Whether msgspec can describe a type (a route answering with, say, a Response object
    keeps the schema Litestar gave it)."""
    try:
        msgspec.json.schema(kind)
    except TypeError:
        return False
    return True


def add_examples(operation: dict[str, Any]) -> None:
    """The operation's example request body and success answer (tests/api/test_openapi.py
    fails for an operation without one; the document itself goes without)."""
    name = operation.get("operationId", "")
    example = EXAMPLES.get(name) or AUDIT_EXAMPLES.get(name)
    if example is None:
        return
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and example.request is not None:
        sent = msgspec.to_builtins(example.request)
        body["example"] = {name: value for name, value in sent.items() if value is not None}
    success = next(code for code in operation["responses"] if code.startswith("2"))
    answer = operation["responses"][success]
    answer["description"] = SUCCESS[success]
    answer["content"]["application/json"]["example"] = msgspec.to_builtins(example.response)


def optional_body(operation: dict[str, Any]) -> None:
    """A body the handler may go without (generate, submit with a session): not required,
    rather than required and maybe null."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None and {"type": "null"} in body["schema"].get("oneOf", []):
        body["schema"] = without_null(body["schema"])
        operation["requestBody"]["required"] = False


def without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without the null an optional parameter's type allows: a query
    or a header is either sent, as text, or not."""
    schema = dict(schema)
    choices = [choice for choice in schema.pop("oneOf", []) if choice != {"type": "null"}]
    if len(choices) == 1:
        schema = {**choices[0], **schema}
    elif choices:
        schema["oneOf"] = choices
    if isinstance(schema.get("type"), list):
        kinds = [kind for kind in schema["type"] if kind != "null"]
        schema["type"] = kinds[0] if len(kinds) == 1 else kinds
    if "enum" in schema:
        schema["enum"] = [value for value in schema["enum"] if value is not None]
    return schema


def webhooks() -> dict[str, Any]:
    """What the service POSTs to a partner's endpoints, per event type."""
    headers = [
        {"name": name, "in": "header", "required": True, "description": text}
        | {"schema": {"type": "string"}}
        for name, text in WEBHOOK_HEADERS
    ]
    found: dict[str, Any] = {}
    for event_type, kinds in WEBHOOKS.items():
        operation_id, description = WEBHOOK_ABOUT[event_type]
        examples = {
            kind.__name__: {
                "summary": kind.__doc__,
                "value": msgspec.to_builtins(WEBHOOK_EXAMPLES[kind]),
            }
            for kind in kinds
        }
        schema = {"oneOf": [{"$ref": REF.format(name=kind.__name__)} for kind in kinds]}
        found[event_type] = {
            "post": {
                "operationId": operation_id,
                "summary": event_type,
                "description": description,
                "tags": ["webhooks"],
                "parameters": headers,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": schema, "examples": examples}},
                },
                "responses": {"2XX": {"description": RECEIVED}},
            }
        }
    return found
