"""The OpenAPI document: FastAPI's, completed with what the voice API does by hand.

Voice request bodies are parsed by hand (api/body.py) and described through `openapi_extra`, so their
schemas arrive inline, nested models under a local `$defs` that the document cannot resolve: they are
moved to `components.schemas` here. Signed routes authenticate in SignedRoute rather than through
FastAPI dependencies, so the three signing headers are declared here as security schemes, which
SignedRoute names in each of its operations.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

COMPONENTS = "#/components/schemas/"

SIGNING_SCHEMES: dict[str, dict[str, str]] = {
    "ApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "Api-Key",
        "description": "The account's apiKey.",
    },
    "Timestamp": {
        "type": "apiKey",
        "in": "header",
        "name": "Timestamp",
        "description": "Epoch seconds, within timestamp_window (default 300 s) of the server's clock.",
    },
    "Sign": {
        "type": "apiKey",
        "in": "header",
        "name": "Sign",
        "description": "md5(apiKey + apiSecret + Timestamp) in hex, either case.",
    },
}
# One requirement naming all three: every signed call needs every header.
SIGNED: list[dict[str, list[str]]] = [{scheme: [] for scheme in SIGNING_SCHEMES}]


def install_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and so /openapi.json) serve the completed document, built once."""
    fastapi_document: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = fastapi_document()  # FastAPI keeps it in app.openapi_schema
            hoist_body_schemas(document)
            document.setdefault("components", {})["securitySchemes"] = SIGNING_SCHEMES
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def hoist_body_schemas(document: dict[str, Any]) -> None:
    """Move inline request-body schemas (and their `$defs`) into components, leaving references."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                schema = media.get("schema", {})
                schemas.update(schema.pop("$defs", {}))
                name = schema.get("title")
                if name and "$ref" not in schema:
                    schemas[name] = schema
                    media["schema"] = {"$ref": COMPONENTS + name}
