"""/console/operator/trunks: each trunk's reachability from this node's OPTIONS pings, refreshed by
htmx from its table fragment. Built on the monitor's read model (TrunkStatus), which has no credentials."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sipline.console.routes.operator import Operator
from sipline.console.web import platform_of, render

router = APIRouter(prefix="/console/operator", include_in_schema=False)


@router.get("/trunks")
async def trunks(request: Request, _signed: Operator) -> Response:
    monitor = platform_of(request).trunk_health
    return render(request, "operator/trunks.html", trunks=monitor.statuses(), policy=monitor.policy)


@router.get("/trunks/table")
async def trunks_table(request: Request, _signed: Operator) -> Response:
    return render(request, "fragments/trunks_table.html", trunks=platform_of(request).trunk_health.statuses())
