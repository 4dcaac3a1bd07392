"""The browsable API reference at /schema: Swagger UI, whose files come with the
swagger-ui-bundle-v2 package and are served by the service itself under /schema/assets, so
the page works with no internet and sends no request to any other host."""

from __future__ import annotations

import html
from typing import Any

from litestar import Request, Router, get
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

ASSETS = "/assets"
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<noscript><p>The reference needs JavaScript; the document itself is
<a href="{document}">{document}</a>.</p></noscript>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{schema}/reference.js" data-document="{document}"></script>
</body>
</html>
"""
# Swagger UI's online validator badge would fetch from another host: validatorUrl null.
START = b"""const script = document.currentScript;
window.ui = SwaggerUIBundle({
  url: script.dataset.document,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  tryItOutEnabled: false,
  persistAuthorization: false,
});
"""


class ReferenceUI(OpenAPIRenderPlugin):
    """Swagger UI at /schema (and /schema/swagger), its files at /schema/assets."""

    def __init__(self) -> None:
        super().__init__(path="/swagger")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        schema_path = request.app.openapi_config.path if request.app.openapi_config else ""
        return PAGE.format(
            title=html.escape(openapi_schema["info"]["title"]),
            assets=f"{schema_path}{ASSETS}",
            schema=schema_path,
            document=html.escape(self.get_openapi_json_route(request)),
        ).encode()

    def receive_router(self, router: Router) -> None:
        """Serve Swagger UI's files, and the script that starts it, beside the page."""
        router.register(
            create_static_files_router(
                path=ASSETS,
                directories=[swagger_ui_path],
                include_in_schema=False,
                send_as_attachment=False,
            )
        )
        router.register(start_script)


@get("/reference.js", media_type="text/javascript", sync_to_thread=False, include_in_schema=False)
def start_script() -> bytes:
    """The script that starts Swagger UI on the document its tag names (a file of its own
    rather than inline, so the page needs no 'unsafe-inline' script)."""
    return START
