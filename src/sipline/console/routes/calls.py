"""/console/calls: the customer's calls in progress (duration ticking, hang-up), and one call's
progress for click-to-call."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sipline.console.session import customer
from sipline.console.web import PageNotFound, platform_of, render
from sipline.domain.errors import ApiError
from sipline.services.auth import Caller
from sipline.services.live_calls import CallState, LiveCalls, state_of

router = APIRouter(prefix="/console", include_in_schema=False)


def live_calls(request: Request) -> LiveCalls:
    return platform_of(request).live_calls


async def hang_up_call(request: Request, caller: Caller | None, voice_id: str) -> Response:
    """The hang-up button's answer, for a customer's call or (caller None) an operator's."""
    try:
        await live_calls(request).hang_up(caller, voice_id)
    except ApiError:
        raise PageNotFound from None
    return render(request, "fragments/hung_up.html")


@router.get("/calls")
async def calls_page(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    calls = await live_calls(request).list(caller)
    return render(request, "calls.html", calls=calls, table_url="/console/calls/table", operator=False)


@router.get("/calls/table")
async def calls_table(request: Request, caller: Annotated[Caller, Depends(customer)]) -> Response:
    calls = await live_calls(request).list(caller)
    return render(request, "fragments/calls_table.html", calls=calls, operator=False)


@router.post("/calls/{voice_id}/hangup")
async def hang_up(request: Request, voice_id: str, caller: Annotated[Caller, Depends(customer)]) -> Response:
    return await hang_up_call(request, caller, voice_id)


@router.get("/calls/{voice_id}/progress")
async def progress(request: Request, voice_id: str, caller: Annotated[Caller, Depends(customer)]) -> Response:
    try:
        record = await platform_of(request).records.get(caller, voice_id)
    except ApiError:
        raise PageNotFound from None
    state = state_of(record)
    return render(
        request,
        "fragments/progress.html",
        voice_id=voice_id,
        state=state,
        ended=state == CallState.ENDED,
        record=record,
    )
