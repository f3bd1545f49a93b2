"""GET /healthz and /readyz: unauthenticated probes for supervisors and load balancers.

They answer `{"status": "ok"|"fail", "checks": {...}}` (not the vendor envelope), 200 or 503.
"""

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from sipline.api.envelope import JsonResponse
from sipline.services.readiness import Report, is_ready

if TYPE_CHECKING:
    from sipline.bootstrap import Platform


def _answer(ok: bool, checks: dict[str, Any]) -> JsonResponse:
    return JsonResponse({"status": "ok" if ok else "fail", "checks": checks}, status_code=200 if ok else 503)


def _checks(report: Report) -> dict[str, Any]:
    return {
        name: {"status": "ok" if check.ok else "fail", "detail": check.detail}
        for name, check in report.items()
    }


def router_for(platform: "Platform") -> APIRouter:
    probe = platform.readiness
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process answers (200)")
    async def healthz() -> JsonResponse:
        return _answer(True, {})

    @router.get(
        "/readyz",
        summary="Readiness: database, schema, SIP listening, RTP ports free (200 or 503)",
    )
    async def readyz() -> JsonResponse:
        report = await probe.check()
        return _answer(is_ready(report), _checks(report))

    return router
