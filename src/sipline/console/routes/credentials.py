"""/console/credentials: the account's apiKey and apps, and rotating the apiSecret."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sipline.console.session import customer
from sipline.console.web import platform_of, render
from sipline.services.auth import Caller

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/credentials")
async def credentials_page(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    apps = await platform_of(request).tenancy.list_apps(caller.api_key)
    return render(request, "credentials.html", api_key=caller.api_key, apps=apps, new_secret=None)


@router.post("/credentials/rotate")
async def rotate(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    secret = await platform_of(request).tenancy.rotate_secret(caller.api_key)
    apps = await platform_of(request).tenancy.list_apps(caller.api_key)
    return render(request, "credentials.html", api_key=caller.api_key, apps=apps, new_secret=secret)
