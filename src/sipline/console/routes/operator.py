"""/console/operator/...: accounts (create, lock, top up, quote currency), apps, every live call,
and the system's health (readiness checks and a few figures)."""

from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from sipline.console.routes.calls import hang_up_call, live_calls
from sipline.console.routes.health_charts import health_extras
from sipline.console.session import operator
from sipline.console.text import _
from sipline.console.web import PageNotFound, form_of, platform_of, redirect, render
from sipline.domain.errors import ApiError, parameter_error
from sipline.services.console_users import SignedIn
from sipline.services.readiness import is_ready
from sipline.services.tenancy import NewAccount, TenancyService

router = APIRouter(prefix="/console/operator", include_in_schema=False)
Operator = Annotated[SignedIn, Depends(operator)]


def _tenancy(request: Request) -> TenancyService:
    return platform_of(request).tenancy


def _decimal(text: str, message: str) -> Decimal:
    """The number in a form's field, or a refusal saying `message` (the field's, translated)."""
    try:
        if len(text) > 32:
            raise InvalidOperation
        return Decimal(text.strip())
    except InvalidOperation:
        raise parameter_error(message) from None


Page = Callable[[Request, str, int], Awaitable[Response]]


async def submit(
    request: Request, change: Callable[[Mapping[str, str]], Awaitable[object]], page: Page, done: str
) -> Response:
    """Apply a form's change; on success back to `done` (303), on a refusal the page with its reason."""
    try:
        await change(await form_of(request))
    except ApiError as exc:
        return await page(request, exc.reason, 400)
    return redirect(done)


async def _accounts_page(
    request: Request, error: str = "", status: int = 200, created: NewAccount | None = None
) -> Response:
    accounts = await _tenancy(request).list_accounts()
    return render(
        request, "operator/accounts.html", status=status, accounts=accounts, error=error, created=created
    )


@router.get("/accounts")
async def accounts(request: Request, _signed: Operator) -> Response:
    return await _accounts_page(request)


@router.post("/accounts")
async def create_account(request: Request, _signed: Operator) -> Response:
    form = await form_of(request)
    try:
        quote = form.get("quote_exchange", "").strip()
        created = await _tenancy(request).create_account(
            name=form.get("name", "")[:128],
            balance=_decimal(
                form.get("balance", "") or "0", _("balance must be a decimal number such as 10.50")
            ),
            currency=form.get("currency", "USD").strip().upper() or "USD",
            quote_exchange=(
                _decimal(quote, _("quote exchange must be a decimal number such as 7.25")) if quote else None
            ),
        )
    except ApiError as exc:
        return await _accounts_page(request, exc.reason, status=400)
    return await _accounts_page(request, created=created)


@router.post("/accounts/{api_key}/{action}")
async def account_action(request: Request, api_key: str, action: str, _signed: Operator) -> Response:
    tenancy = _tenancy(request)

    async def change(form: Mapping[str, str]) -> object:
        if action in ("lock", "unlock"):
            return await tenancy.set_locked(api_key, action == "lock")
        amount = _decimal(form.get("amount", ""), _("amount must be a decimal number such as 10.50"))
        return await tenancy.top_up(api_key, amount, form.get("reference", "console")[:128])

    if action not in ("lock", "unlock", "topup"):
        raise PageNotFound
    return await submit(request, change, _accounts_page, "/console/operator/accounts")


async def _apps_page(request: Request, error: str = "", status: int = 200) -> Response:
    tenancy = _tenancy(request)
    apps = await tenancy.list_apps()
    accounts = await tenancy.list_accounts()
    return render(request, "operator/apps.html", status=status, apps=apps, accounts=accounts, error=error)


@router.get("/apps")
async def apps(request: Request, _signed: Operator) -> Response:
    return await _apps_page(request)


@router.post("/apps")
async def create_app(request: Request, _signed: Operator) -> Response:
    async def change(form: Mapping[str, str]) -> object:
        limit = form.get("phone_limit", "").strip()
        if limit and not (limit.isascii() and limit.isdigit() and len(limit) <= 9):
            raise parameter_error(_("phone limit must be a whole number"))
        return await _tenancy(request).create_app(
            form.get("api_key", ""),
            name=form.get("name", "")[:128],
            phone_limit=int(limit) if limit else None,
        )

    return await submit(request, change, _apps_page, "/console/operator/apps")


async def _users_page(request: Request, error: str = "", status: int = 200) -> Response:
    platform = platform_of(request)
    users = await platform.console_users.list()
    accounts = await platform.tenancy.list_accounts()
    return render(request, "operator/users.html", status=status, users=users, accounts=accounts, error=error)


@router.get("/users")
async def users(request: Request, _signed: Operator) -> Response:
    return await _users_page(request)


@router.post("/users")
async def create_user(request: Request, _signed: Operator) -> Response:
    async def change(form: Mapping[str, str]) -> object:
        operator_role = form.get("role") == "operator"
        return await platform_of(request).console_users.create(
            form.get("email", ""),
            form.get("password", ""),
            api_key=None if operator_role else form.get("api_key", ""),
            operator=operator_role,
        )

    return await submit(request, change, _users_page, "/console/operator/users")


@router.post("/users/delete")
async def delete_user(request: Request, signed: Operator) -> Response:
    async def change(form: Mapping[str, str]) -> object:
        if form.get("email", "") == signed.user.email:
            raise parameter_error(_("you cannot delete yourself"))
        await platform_of(request).console_users.delete(form.get("email", ""))
        return None

    return await submit(request, change, _users_page, "/console/operator/users")


@router.get("/calls")
async def calls(request: Request, _signed: Operator) -> Response:
    found = await live_calls(request).list(None)
    return render(
        request, "calls.html", calls=found, table_url="/console/operator/calls/table", operator=True
    )


@router.get("/calls/table")
async def calls_table(request: Request, _signed: Operator) -> Response:
    found = await live_calls(request).list(None)
    return render(request, "fragments/calls_table.html", calls=found, operator=True)


@router.post("/calls/{voice_id}/hangup")
async def hang_up(request: Request, voice_id: str, _signed: Operator) -> Response:
    return await hang_up_call(request, None, voice_id)


@router.get("/health")
async def health(request: Request, _signed: Operator) -> Response:
    platform = platform_of(request)
    report = await platform.readiness.check()
    figures = {
        _("calls in progress"): len(platform.calls.active),
        _("calls placed since start"): platform.calls.attempts,
        _("media sessions"): platform.media.sessions(),
        **{
            _("calls ended {code}").format(code=code): count
            for code, count in sorted(platform.calls.outcomes.items())
        },
    }
    return render(
        request,
        "operator/health.html",
        report=report,
        ready=is_ready(report),
        figures=figures,
        **health_extras(platform),
    )
