"""Every malformed request answers in the envelope with a clear reason, never a stack trace."""

import pytest

from tests.conftest import Api


async def raw(
    api: Api, method: str, path: str, content: bytes | None = None, **headers: str
) -> tuple[int, dict]:
    response = await api.http.request(method, path, content=content, headers=api.customer.headers() | headers)
    payload = response.json()
    assert set(payload) == {"status", "reason", "data"}
    assert payload["data"] is None
    return response.status_code, payload


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "request body is not valid JSON"),
        (b'{"current": 1,', "request body is not valid JSON"),
        (b"[1, 2]", "request body must be a JSON object"),
        (b'"text"', "request body must be a JSON object"),
        (b"   ", "request body is required"),
        (b"", "request body is required"),
        (b"\xff\xfe\x00", "request body is not valid JSON"),
    ],
)
async def test_malformed_bodies(api: Api, content: bytes, reason: str) -> None:
    status, payload = await raw(api, "POST", "/voice/sipQuery", content)
    assert (status, payload["status"], payload["reason"]) == (200, "-22", reason)


async def test_unknown_path(api: Api) -> None:
    status, payload = await raw(api, "POST", "/voice/noSuchThing", b"{}")
    assert (status, payload["status"], payload["reason"]) == (
        404,
        "-22",
        "no such endpoint: /voice/noSuchThing",
    )


async def test_wrong_method(api: Api) -> None:
    status, payload = await raw(api, "GET", "/voice/sipAdd")
    assert (status, payload["status"]) == (405, "-22")
    assert payload["reason"] == "method GET is not allowed on /voice/sipAdd"


async def test_oversize_body_by_content_length(api: Api) -> None:
    huge = b'{"params": {"appId": "' + b"x" * 70_000 + b'"}}'
    status, payload = await raw(api, "POST", "/voice/sipQuery", huge)
    assert (status, payload["status"], payload["reason"]) == (
        413,
        "-22",
        "request body is larger than 65536 bytes",
    )


async def test_oversize_chunked_body(api: Api) -> None:
    async def chunks():  # no Content-Length: the limit applies while streaming
        for _ in range(100):
            yield b"x" * 1024

    response = await api.http.post("/voice/sipQuery", content=chunks(), headers=api.customer.headers())
    assert response.status_code == 413
    assert response.json()["status"] == "-22"


async def test_json_body_is_read_whatever_the_content_type(api: Api) -> None:
    # Harmless leniency: some clients label JSON as text/plain or send no Content-Type at all.
    body = b'{"params": {"appId": "%s"}}' % api.customer.app_id.encode()
    for content_type in ("text/plain", ""):
        response = await api.http.post(
            "/voice/sipQuery", content=body, headers=api.customer.headers() | {"Content-Type": content_type}
        )
        assert response.json()["status"] == "0"


async def test_deeply_nested_json_does_not_crash(api: Api) -> None:
    content = b'{"params": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    status, payload = await raw(api, "POST", "/voice/sipQuery", content)
    assert (status, payload["status"]) == (200, "-22")


async def test_unexpected_failure_is_a_system_error_with_a_logged_reference(
    api: Api,
    platform,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    from sqlalchemy import update

    from sipline.store.models import Phone

    assert (await api.add("sipGroup", "sip", 1))["status"] == "0"
    # A stored secret that the configured key cannot open (say, a database restored without its key).
    async with platform.sessions() as session:
        await session.execute(update(Phone).values(password_enc="v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        await session.commit()
    platform.directory.invalidate_all()
    with caplog.at_level("ERROR", logger="sipline.api"):
        status, payload = await raw(
            api, "POST", "/voice/sipQuery", b'{"params": {"appId": "%s"}}' % api.customer.app_id.encode()
        )
    assert (status, payload["status"]) == (200, "-18")
    reference = payload["reason"].removeprefix("system error (ref ").removesuffix(")")
    assert len(reference) == 12
    assert reference in caplog.text
    assert "Traceback" not in payload["reason"]
