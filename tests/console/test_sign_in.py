"""Signing in and out of the console: passwords, cookies and their flags, CSRF, the rate limit, expiry."""

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from sipline.bootstrap import Platform
from sipline.console.throttle import FailureCounter
from sipline.store.models import ConsoleSession, ConsoleUser
from tests.conftest import Api, Customer
from tests.console.conftest import PASSWORD, Console, customer_user

Browsers = Callable[..., Awaitable[Console]]


async def test_a_customer_signs_in_to_the_dashboard_and_out_again(
    platform: Platform, customer: Customer, browsers: Browsers
) -> None:
    console = await browsers()
    assert (await console.get("/console/dashboard")).headers["location"] == "/console/login"
    response = await console.sign_in(await customer_user(platform, customer))
    assert response.status_code == 303
    assert response.headers["location"] == "/console/dashboard"
    cookie = response.headers["set-cookie"]
    assert "sipline_console=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back
    page = await console.get("/console/dashboard")
    assert page.status_code == 200 and "alice@example.com" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert (await console.post("/console/logout")).headers["location"] == "/console/login"
    assert (await console.get("/console/dashboard")).headers["location"] == "/console/login"


async def test_the_password_is_kept_as_an_argon2_hash_and_a_session_by_its_token_hash(
    platform: Platform, customer: Customer, signed_in: Console
) -> None:
    async with platform.sessions() as session:
        user = await session.scalar(select(ConsoleUser))
        stored = await session.scalar(select(ConsoleSession))
    assert user is not None and stored is not None
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    token = signed_in.http.cookies["sipline_console"]
    assert token not in stored.token_hash and len(stored.token_hash) == 64


async def test_the_cookie_is_secure_over_tls_and_behind_a_trusted_proxy_only(
    platform: Platform, customer: Customer, browsers: Browsers
) -> None:
    email = await customer_user(platform, customer)
    over_tls = await browsers(base_url="https://sipline.test")
    assert "Secure" in (await over_tls.sign_in(email)).headers["set-cookie"]
    proxied = await browsers()
    proxied.http.headers["X-Forwarded-Proto"] = "https"
    assert "Secure" not in (await proxied.sign_in(email)).headers["set-cookie"]  # proxy not trusted


@pytest.mark.parametrize("settings_overrides", [{"console_trust_forwarded_proto": True}])
async def test_a_trusted_proxys_https_makes_the_cookies_secure(browsers: Browsers) -> None:
    # (httpx, talking plain HTTP to the app as the proxy would, keeps Secure cookies to itself: the
    # sign-in form's own cookie shows the decision.)
    console = await browsers()
    behind_tls = await console.http.get("/console/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in behind_tls.headers["set-cookie"]
    assert "Secure" not in (await console.http.get("/console/login")).headers["set-cookie"]


async def test_wrong_passwords_and_unknown_users_get_the_same_answer(
    platform: Platform, customer: Customer, browsers: Browsers
) -> None:
    email = await customer_user(platform, customer)
    console = await browsers()
    wrong = await console.sign_in(email, "not the password")
    unknown = await console.sign_in("nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong e-mail or password." in wrong.text and "Wrong e-mail or password." in unknown.text
    assert "sipline_console=" not in wrong.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    "settings_overrides",
    [{"console_login_attempts_per_user": 2, "console_login_attempts_per_source": 4}],
)
async def test_sign_in_is_rate_limited_per_user_and_per_source(
    platform: Platform, customer: Customer, browsers: Browsers
) -> None:
    email = await customer_user(platform, customer)
    attacker = await browsers("198.51.100.7")
    for _ in range(platform.settings.console_login_attempts_per_user):
        assert (await attacker.sign_in(email, "guess guess guess")).status_code == 401
    # Now even the right password is refused for this user, from any address...
    elsewhere = await browsers("203.0.113.9")
    blocked = await elsewhere.sign_in(email)
    assert blocked.status_code == 429 and "Too many failed sign-ins" in blocked.text
    # ...and the attacker's address keeps failing on other names until it hits the source limit.
    per_source = platform.settings.console_login_attempts_per_source
    for n in range(per_source - platform.settings.console_login_attempts_per_user):
        assert (await attacker.sign_in(f"user{n}@example.com", "guess guess guess")).status_code == 401
    assert (await attacker.sign_in("other@example.com")).status_code == 429


async def test_a_form_without_its_csrf_token_is_refused(signed_in: Console) -> None:
    refused = await signed_in.post("/console/logout", csrf=False)
    assert refused.status_code == 403 and "did not come from this console" in refused.text
    forged = await signed_in.http.post("/console/logout", data={"csrf": "forged"})
    assert forged.status_code == 403
    assert (await signed_in.get("/console/dashboard")).status_code == 200  # still signed in
    # An htmx request carries it as a header instead.
    assert (await signed_in.htmx("/console/logout")).status_code == 303


async def test_the_sign_in_form_needs_its_own_token(
    platform: Platform, customer: Customer, browsers: Browsers
) -> None:
    email = await customer_user(platform, customer)
    console = await browsers()
    response = await console.http.post("/console/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 403


async def test_an_expired_session_signs_out(platform: Platform, signed_in: Console) -> None:
    async with platform.sessions() as session:
        await session.execute(
            update(ConsoleSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    assert (await signed_in.get("/console/dashboard")).headers["location"] == "/console/login"


async def test_an_operator_has_no_customer_pages_and_a_customer_no_operator_pages(
    platform: Platform, signed_in: Console, browsers: Browsers
) -> None:
    assert (await signed_in.get("/console/operator/accounts")).status_code == 404
    await platform.console_users.create("root@example.com", PASSWORD, operator=True)
    operator = await browsers()
    response = await operator.sign_in("root@example.com")
    assert response.headers["location"] == "/console/operator/accounts"
    assert (await operator.get("/console/operator/accounts")).status_code == 200
    assert (await operator.get("/console/records")).status_code == 404


@pytest.mark.parametrize(
    ("email", "password", "reason"),
    [
        ("not-an-email", PASSWORD, "email must be an e-mail address"),
        ("bob@example.com", "short", "password must have 10 to 1024 characters"),
        ("bob@example.com", "x" * 1025, "password must have 10 to 1024 characters"),
    ],
)
async def test_users_are_validated(
    platform: Platform, customer: Customer, email: str, password: str, reason: str
) -> None:
    with pytest.raises(Exception, match=reason):
        await platform.console_users.create(email, password, api_key=customer.api_key)


async def test_deleting_a_user_ends_their_sessions(platform: Platform, signed_in: Console) -> None:
    await platform.console_users.delete("alice@example.com")
    assert (await signed_in.get("/console/dashboard")).headers["location"] == "/console/login"


def test_the_failure_counter_forgets_old_failures_and_stays_bounded() -> None:
    now = [0.0]
    counter = FailureCounter(3, 60, max_keys=100, clock=lambda: now[0])
    for _ in range(3):
        counter.failed("a@example.com")
    assert counter.blocked("a@example.com")
    now[0] = 61
    assert not counter.blocked("a@example.com")  # the window moved past them
    for n in range(1000):
        counter.failed(f"user{n}@example.com")
    assert len(counter) == 100  # the least recently failed were forgotten


async def test_rotating_the_api_secret_shows_the_new_one_once_and_the_old_one_stops(
    http: httpx.AsyncClient, customer: Customer, signed_in: Console
) -> None:
    page = await signed_in.get("/console/credentials")
    assert f'<code id="api-key">{customer.api_key}</code>' in page.text and "stops the old one" in page.text
    rotated = await signed_in.htmx("/console/credentials/rotate")
    secret = re.search(r'<code id="new-secret" class="secret">([^<]+)</code>', rotated.text)
    assert secret and secret.group(1) != customer.api_secret
    old = await Api(http, customer).post(
        "sipQuery", {"current": 1, "size": 1, "params": {"appId": customer.app_id}}
    )
    assert old["status"] == "-1"
    renewed = Customer(customer.api_key, secret.group(1), customer.app_id)
    new = await Api(http, renewed).post(
        "sipQuery", {"current": 1, "size": 1, "params": {"appId": customer.app_id}}
    )
    assert new["status"] == "0"
    assert secret.group(1) not in (await signed_in.get("/console/credentials")).text  # shown once


async def test_unknown_console_pages_and_the_static_files(signed_in: Console) -> None:
    missing = await signed_in.get("/console/no/such/page")
    assert missing.status_code == 404 and "There is nothing here." in missing.text
    script = await signed_in.get("/console/static/htmx.min.js")
    assert script.status_code == 200 and "htmx" in script.text[:2000]
