"""The webhooks page over HTTP: the push URL set and shown, refused URLs (not http(s), where the SSRF
rules forbid) said with the reason and nothing changed, the signing secret revealed only when
confirmed and with the CSRF token, rotated, a real delivery to a receiver on 127.0.0.1 in the log
and sent again by a replay (of it, and of every failed one), and another account's app not found."""

import html
import re
from collections.abc import Awaitable, Callable

import pytest

from sipline.bootstrap import Platform
from sipline.domain.errors import ApiError
from tests.conftest import Customer
from tests.console.conftest import Console
from tests.console.test_balance import a_call
from tests.events import conftest as push_fixtures
from tests.events.conftest import arrived, outbox_until
from tests.events.receiver import Receiver

Browsers = Callable[..., Awaitable[Console]]
receiver = push_fixtures.receiver  # a receiver on 127.0.0.1 (http.server), and the push worker running
pushing = push_fixtures.pushing
SECRET = re.compile(r'<code class="secret">([^<]+)</code>')


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Pushes may go to 127.0.0.0/8 (the test's receiver); two quick tries, then failed."""
    return {
        "push_allowed_networks": ("127.0.0.0/8",),
        "push_retry_schedule": (0.0, 0.1),
        "push_poll_interval": 0.05,
    }


def _text(page: str) -> str:
    return html.unescape(page)


async def set_url(console: Console, app_id: str, url: str, *events: str) -> str:
    data = {"app": app_id, "url": url} | {f"event_{event}": "1" for event in events or ("report",)}
    response = await console.post("/console/webhooks/url", data)
    return f"{response.status_code} {_text(response.text)}"


async def reveal(console: Console, app_id: str) -> str:
    response = await console.htmx("/console/webhooks/secret", {"app": app_id, "confirm": "1"})
    assert response.status_code == 200, response.text
    found = SECRET.search(response.text)
    assert found, response.text
    return found.group(1)


async def test_a_push_url_is_set_and_shown(
    platform: Platform, customer: Customer, signed_in: Console, receiver: Receiver
) -> None:
    first = await signed_in.get("/console/webhooks")
    assert first.status_code == 200 and customer.app_id in first.text
    assert 'id="signing"' not in first.text  # no secret before the first URL
    saved = await set_url(signed_in, customer.app_id, receiver.url, "report", "answered")
    assert saved.startswith("200") and "Push URL and events saved." in saved
    page = await signed_in.get("/console/webhooks", app=customer.app_id)
    assert f'value="{receiver.url}"' in page.text
    assert 'name="event_report" value="1" checked' in page.text
    assert 'name="event_answered" value="1" checked' in page.text
    assert 'name="event_ringing" value="1">' in page.text
    view = await platform.push_config.show(customer.app_id)
    assert (view.url, view.events) == (receiver.url, ("report", "answered"))
    assert view.secret not in page.text  # shown only when revealed


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://127.0.0.1/hooks", "must be http:// or https://"),
        ("http://10.0.0.1/hooks", "10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data", "a link-local address"),
        ("http://[::ffff:192.168.1.1]/hooks", "a private address"),
        ("http://user:pw@127.0.0.1/hooks", "must not carry credentials"),
        ("https://", "has no host"),
        ("http://127.0.0.1/" + "x" * 2100, "1 to 2048 characters"),
    ],
)
async def test_a_refused_url_is_said_with_its_reason_and_nothing_changes(
    platform: Platform, customer: Customer, signed_in: Console, receiver: Receiver, url: str, reason: str
) -> None:
    with pytest.raises(ApiError):
        await platform.push_config.show(customer.app_id)
    refused = await set_url(signed_in, customer.app_id, url)
    assert refused.startswith("400") and reason in refused, refused[:2000]
    with pytest.raises(ApiError):  # no push made by a refused first URL
        await platform.push_config.show(customer.app_id)
    assert (await set_url(signed_in, customer.app_id, receiver.url, "ringing")).startswith("200")
    refused = await set_url(signed_in, customer.app_id, url, "report")
    assert refused.startswith("400") and reason in refused
    view = await platform.push_config.show(customer.app_id)
    assert (view.url, view.events) == (receiver.url, ("ringing",))  # neither the URL nor the events


async def test_a_url_without_any_event_is_refused(
    platform: Platform, customer: Customer, signed_in: Console, receiver: Receiver
) -> None:
    response = await signed_in.post("/console/webhooks/url", {"app": customer.app_id, "url": receiver.url})
    assert response.status_code == 400 and "events must be one or more of" in response.text
    with pytest.raises(ApiError):
        await platform.push_config.show(customer.app_id)


async def test_the_secret_is_revealed_only_when_confirmed_and_with_the_csrf_token(
    platform: Platform, customer: Customer, signed_in: Console, receiver: Receiver
) -> None:
    assert (await set_url(signed_in, customer.app_id, receiver.url)).startswith("200")
    secret = (await platform.push_config.show(customer.app_id)).secret
    assert await reveal(signed_in, customer.app_id) == secret
    unconfirmed = await signed_in.htmx("/console/webhooks/secret", {"app": customer.app_id})
    assert unconfirmed.status_code == 400 and "Confirm" in unconfirmed.text and secret not in unconfirmed.text
    forged = await signed_in.post(
        "/console/webhooks/secret", {"app": customer.app_id, "confirm": "1"}, csrf=False
    )
    assert forged.status_code == 403 and secret not in forged.text
    wrong = await signed_in.post(
        "/console/webhooks/secret", {"app": customer.app_id, "confirm": "1", "csrf": "x"}, csrf=False
    )
    assert wrong.status_code == 403 and secret not in wrong.text


async def test_rotating_makes_a_new_secret_and_the_old_one_signs_for_the_grace_period(
    platform: Platform, customer: Customer, signed_in: Console, receiver: Receiver
) -> None:
    assert (await set_url(signed_in, customer.app_id, receiver.url)).startswith("200")
    before = await reveal(signed_in, customer.app_id)
    forged = await signed_in.post("/console/webhooks/rotate", {"app": customer.app_id}, csrf=False)
    assert forged.status_code == 403
    assert await reveal(signed_in, customer.app_id) == before
    rotated = await signed_in.post("/console/webhooks/rotate", {"app": customer.app_id})
    assert rotated.status_code == 200 and "A new signing secret is in use" in rotated.text
    assert 'id="previous-secret"' in rotated.text and before not in rotated.text
    after = await reveal(signed_in, customer.app_id)
    assert after != before and after == (await platform.push_config.show(customer.app_id)).secret
    view = await platform.push_config.show(customer.app_id)
    assert view.previous_secret_expires_at is not None
    assert view.previous_secret_expires_at.isoformat(timespec="seconds") in _text(rotated.text)


async def test_a_delivery_is_in_the_log_and_a_replay_sends_it_again(
    platform: Platform, customer: Customer, signed_in: Console, receiver: Receiver, pushing: Platform
) -> None:
    app_id = customer.app_id
    assert (await set_url(signed_in, app_id, receiver.url)).startswith("200")
    voice_id = await a_call(platform, customer, 7, "0.25", "0.1")
    [arrival] = await arrived(receiver, lambda got: len(got) >= 1)
    secret = await reveal(signed_in, app_id)
    assert arrival.verified(secret)["voiceId"] == voice_id  # signed with the secret the page reveals
    event_id = arrival.event_id
    await outbox_until(platform, app_id, lambda got: got and got[0].state == "delivered")
    page = await signed_in.get("/console/webhooks")
    log = re.findall(
        rf'<tr data-event="{event_id}">\s*<td><code>{event_id}</code></td>\s*<td>(\d+)</td>'
        r'\s*<td>[^<]+</td>\s*<td class="status">(\d*)</td>\s*<td>(\d+) ms</td>',
        page.text,
    )
    assert [(attempt, status) for attempt, status, _ms in log] == [("1", "204")]
    assert f'<a href="/console/records/{voice_id}">' in page.text
    assert re.search(r'<td class="state" data-state="delivered">delivered</td>', page.text)

    replayed = await signed_in.post("/console/webhooks/replay", {"app": app_id, "event": event_id})
    assert replayed.status_code == 200 and "1 event(s) queued to be sent again." in replayed.text
    again = await arrived(receiver, lambda got: len(got) >= 2)
    assert [a.event_id for a in again] == [event_id, event_id]
    await outbox_until(platform, app_id, lambda got: got[0].state == "delivered" and got[0].attempts == 1)
    page = await signed_in.get("/console/webhooks")
    assert len(re.findall(rf'<tr data-event="{event_id}">\s*<td><code>{event_id}</code></td>\s*<td>1</td>',
                          page.text)) == 2  # fmt: skip

    unknown = await signed_in.post("/console/webhooks/replay", {"app": app_id, "event": "msg_nothing_3"})
    assert unknown.status_code == 400 and "is not an event of app" in unknown.text
    too_long = await signed_in.post("/console/webhooks/replay", {"app": app_id, "event": "x" * 65})
    assert too_long.status_code == 400


async def test_every_failed_event_is_replayed(
    platform: Platform, customer: Customer, signed_in: Console, receiver: Receiver, pushing: Platform
) -> None:
    app_id = customer.app_id
    receiver.script = lambda _arrival, count: (500, {}) if count < 2 else (204, {})
    assert (await set_url(signed_in, app_id, receiver.url)).startswith("200")
    await a_call(platform, customer, 8, "0.25", "0.1")
    await outbox_until(platform, app_id, lambda got: got and got[0].state == "failed")
    page = await signed_in.get("/console/webhooks")
    assert re.search(r'data-state="failed">failed</td>', page.text)
    assert "HTTP 500; no tries left" in page.text
    assert re.search(r'<td class="status">500</td>', page.text)
    replayed = await signed_in.post("/console/webhooks/replay", {"app": app_id})
    assert replayed.status_code == 200 and "1 event(s) queued to be sent again." in replayed.text
    await arrived(receiver, lambda got: len(got) >= 3)
    [entry] = await outbox_until(platform, app_id, lambda got: got[0].state == "delivered")
    assert entry.last_status == 204
    nothing = await signed_in.post("/console/webhooks/replay", {"app": app_id})
    assert "0 event(s) queued" in nothing.text


async def test_another_accounts_app_is_not_found(
    platform: Platform, customer: Customer, signed_in: Console, receiver: Receiver
) -> None:
    other = await platform.tenancy.create_account()
    theirs = await platform.tenancy.create_app(other.api_key)
    await platform.push_config.set_push(theirs.app_id, receiver.url)
    before = await platform.push_config.show(theirs.app_id)
    assert (await signed_in.get("/console/webhooks", app=theirs.app_id)).status_code == 404
    for path, data in (
        ("/console/webhooks/url", {"url": "http://127.0.0.2/mine", "event_report": "1"}),
        ("/console/webhooks/secret", {"confirm": "1"}),
        ("/console/webhooks/rotate", {}),
        ("/console/webhooks/replay", {}),
    ):
        response = await signed_in.post(path, {"app": theirs.app_id, **data})
        assert response.status_code == 404, path
        assert before.secret not in response.text
    assert await platform.push_config.show(theirs.app_id) == before  # nothing changed
    assert (await signed_in.post("/console/webhooks/rotate", {})).status_code == 400  # no app named


async def test_an_endpoint_disabled_by_410_is_said_and_saving_the_url_enables_it(
    platform: Platform, customer: Customer, signed_in: Console, receiver: Receiver, pushing: Platform
) -> None:
    app_id = customer.app_id
    receiver.script = lambda _arrival, count: (410, {}) if count == 0 else (204, {})
    assert (await set_url(signed_in, app_id, receiver.url)).startswith("200")
    await a_call(platform, customer, 9, "0.25", "0.1")
    await outbox_until(platform, app_id, lambda got: got and got[0].state == "disabled")
    page = await signed_in.get("/console/webhooks")
    assert 'id="disabled"' in page.text and "the endpoint answered 410 Gone" in page.text
    assert re.search(r'data-state="disabled">held: endpoint disabled</td>', page.text)
    assert (await set_url(signed_in, app_id, receiver.url)).startswith("200")
    replayed = await signed_in.post("/console/webhooks/replay", {"app": app_id})
    assert "1 event(s) queued to be sent again." in replayed.text and 'id="disabled"' not in replayed.text
    await arrived(receiver, lambda got: len(got) >= 2)
    [entry] = await outbox_until(platform, app_id, lambda got: got[0].state == "delivered")
    assert entry.last_status == 204


async def test_each_app_of_the_account_has_its_own_push(
    platform: Platform, customer: Customer, signed_in: Console, receiver: Receiver
) -> None:
    second = await platform.tenancy.create_app(customer.api_key, name="second line")
    assert (await set_url(signed_in, second.app_id, receiver.url, "ringing")).startswith("200")
    page = await signed_in.get("/console/webhooks", app=second.app_id)
    assert f'<code id="app-id">{second.app_id}</code>' in page.text and receiver.url in page.text
    assert f'<option value="{customer.app_id}">' in page.text  # the other app, to switch to
    first = await signed_in.get("/console/webhooks")  # the first app by default: no push yet
    assert f'<code id="app-id">{customer.app_id}</code>' in first.text and receiver.url not in first.text
    with pytest.raises(ApiError):
        await platform.push_config.show(customer.app_id)
