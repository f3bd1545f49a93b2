"""GET /console/dashboard: the customer's balance, today's figures and the two charts."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sipline.console.i18n import zone_of
from sipline.console.session import customer
from sipline.console.text import _
from sipline.console.web import chart_json, platform_of, render
from sipline.services.auth import Caller

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/dashboard")
async def dashboard(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    platform = platform_of(request)
    zone = zone_of(request)
    figures = await platform.dashboard.dashboard(caller, zone=zone)
    registered = total = 0
    for app in await platform.tenancy.list_apps(caller.api_key):
        for phone in await platform.phones.phones(caller, app.app_id):
            total += 1
            registered += phone.registration is not None
    charts = {
        "hours": [int(bucket.hour.timestamp()) for bucket in figures.hours],
        "answered": [bucket.answered for bucket in figures.hours],
        "failed": [bucket.failed for bucket in figures.hours],
        "days": [int(bucket.day.timestamp()) for bucket in figures.days],
        "spend": [float(bucket.spend) for bucket in figures.days],
        "zone": zone.key,
        "labels": {
            "answered": _("answered"),
            "failed": _("failed"),
            "calls": _("calls"),
            "spend": _("spend"),
        },
    }
    return render(
        request,
        "dashboard.html",
        figures=figures,
        registered=registered,
        total=total,
        charts=chart_json(charts),
    )
