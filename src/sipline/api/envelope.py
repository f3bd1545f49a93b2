"""The vendor's answer envelope: {"status": "<code>", "reason": "...", "data": ...}."""

from typing import Any

import orjson
from fastapi.responses import Response

from sipline.domain.paging import Page
from sipline.domain.status import Status


class JsonResponse(Response):
    """JSON rendered by orjson (fast, and keeps the field order the handlers build)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def envelope(status: Status, reason: str, data: Any = None, http_status: int = 200) -> JsonResponse:
    return JsonResponse({"status": status.value, "reason": reason, "data": data}, status_code=http_status)


def success(data: Any = None) -> JsonResponse:
    return envelope(Status.SUCCESS, "success", data)


def page_data(page: Page[Any]) -> dict[str, Any]:
    """The vendor's page object: total, size, current, pages, records (already in wire form)."""
    return {
        "total": page.total,
        "size": page.request.size,
        "current": page.request.current,
        "pages": page.pages,
        "records": page.records,
    }
