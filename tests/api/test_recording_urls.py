"""getRecordingFileUrl and the link it gives: a real mp3 of a recorded call, streamed whole or by
range; links that were tampered with, expired or are another account's get nothing."""

import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import select

from sipline.bootstrap import Platform, build_app
from sipline.client import AsyncClient, SiplineError
from sipline.domain.recordings import LinkSigner
from sipline.store.models import CallRecord
from sipline.store.secretbox import SecretBox
from tests.api.test_records import window
from tests.conftest import Api, Customer
from tests.recordings import LINK_PURPOSE, SECRET_KEY, RecordingApi, call_record, recorded_call


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"secret_key": SECRET_KEY, "recording_url_ttl": 600}


@pytest.fixture
async def recordings(api: Api) -> RecordingApi:
    assert (await api.add("group1", "sipName", 1))["status"] == "0"
    return RecordingApi(api.http, api.customer)


@pytest.fixture
async def recording(platform: Platform, recordings: RecordingApi) -> tuple[str, Path]:
    return await recorded_call(platform, recordings.customer)


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query: dict[str, str | None] = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    kept = {key: value for key, value in query.items() if value is not None}
    return parts._replace(query=urlencode(kept)).geturl()


async def test_the_url_streams_the_exact_mp3(recordings: RecordingApi, recording: tuple[str, Path]) -> None:
    recording_id, mp3 = recording
    before = time.time()
    answer = await recordings.url_answer(recording_id)
    assert (answer["status"], answer["reason"]) == ("0", "success")
    data = answer["data"]
    assert isinstance(data, dict) and list(data) == ["url", "expireTime"]
    assert data["url"].startswith(f"http://sipline.test/recordings/{recording_id}.mp3?expires=")
    assert before + 600 <= data["expireTime"] / 1000 <= time.time() + 601

    response = await recordings.http.get(data["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.content == mp3.read_bytes()
    assert len(response.content) > 1000  # two seconds of stereo audio, not an empty file
    assert response.content[:3] == b"ID3" or response.content[0] == 0xFF  # an mp3 frame or tag


async def test_group_source_type_gives_the_same_recording(
    recordings: RecordingApi, recording: tuple[str, Path]
) -> None:
    recording_id, mp3 = recording
    answer = await recordings.url_answer(recording_id, "group")
    assert answer["status"] == "0"
    data = answer["data"]
    assert isinstance(data, dict)
    assert (await recordings.http.get(str(data["url"]))).content == mp3.read_bytes()


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=100-199", 100, 199), ("bytes=500-", 500, None), ("bytes=-64", -64, None)],
)
async def test_a_range_answers_206_with_the_exact_slice(
    recordings: RecordingApi, recording: tuple[str, Path], header: str, start: int, end: int | None
) -> None:
    recording_id, mp3 = recording
    whole = mp3.read_bytes()
    expected = whole[start : None if end is None else end + 1]
    response = await recordings.http.get(await recordings.url(recording_id), headers={"Range": header})
    assert response.status_code == 206
    assert response.content == expected
    first = start % len(whole)
    assert response.headers["content-range"] == f"bytes {first}-{first + len(expected) - 1}/{len(whole)}"
    assert response.headers["content-type"] == "audio/mpeg"


async def test_a_range_past_the_end_is_refused(recordings: RecordingApi, recording: tuple[str, Path]) -> None:
    recording_id, mp3 = recording
    size = mp3.stat().st_size
    response = await recordings.http.get(
        await recordings.url(recording_id), headers={"Range": f"bytes={size + 10}-"}
    )
    assert response.status_code == 416


async def test_head_tells_the_size_without_the_body(
    recordings: RecordingApi, recording: tuple[str, Path]
) -> None:
    recording_id, mp3 = recording
    response = await recordings.http.head(await recordings.url(recording_id))
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) == mp3.stat().st_size
    assert response.headers["accept-ranges"] == "bytes"


@pytest.mark.parametrize(
    "tamper",
    [
        {"expires": "+1"},  # a later expiry under the same signature
        {"sig": "flip"},
        {"sig": None},
        {"expires": None},
        {"expires": "12abc"},
        {"sig": "0" * 64},
    ],
)
async def test_a_tampered_link_is_forbidden(
    recordings: RecordingApi, recording: tuple[str, Path], tamper: dict[str, str | None]
) -> None:
    url = await recordings.url(recording[0])
    query = parse_qs(urlsplit(url).query)
    changes = dict(tamper)
    if changes.get("expires") == "+1":
        changes["expires"] = str(int(query["expires"][0]) + 1)
    if changes.get("sig") == "flip":
        sig = query["sig"][0]
        changes["sig"] = ("1" if sig[0] == "0" else "0") + sig[1:]
    response = await recordings.http.get(with_query(url, **changes))
    assert response.status_code == 403
    assert response.json()["status"] == "-1"


async def test_a_link_moved_to_another_recording_is_forbidden(
    platform: Platform, recordings: RecordingApi, recording: tuple[str, Path]
) -> None:
    other_id, _ = await recorded_call(platform, recordings.customer)
    url = await recordings.url(recording[0])
    moved = url.replace(f"/recordings/{recording[0]}.mp3", f"/recordings/{other_id}.mp3")
    assert moved != url
    assert (await recordings.http.get(moved)).status_code == 403
    assert (await recordings.http.get(url)).status_code == 200


async def test_an_expired_link_is_forbidden(recordings: RecordingApi, recording: tuple[str, Path]) -> None:
    recording_id, _ = recording
    signer = LinkSigner(SecretBox.from_base64(SECRET_KEY).derive_key(LINK_PURPOSE))
    url = await recordings.url(recording_id)
    for expires in (int(time.time()) - 1, int(time.time()) + 60):  # expired, then a genuine later one
        signed = with_query(url, expires=str(expires), sig=signer.sign(recording_id, expires))
        status = (await recordings.http.get(signed)).status_code
        assert status == (403 if expires < time.time() else 200)


async def test_unknown_recording_id_is_a_parameter_error(recordings: RecordingApi) -> None:
    answer = await recordings.url_answer("3e2f0781-9642-40ec-8bbe-df35abec72d4")
    assert answer["status"] == "-22"
    assert "3e2f0781-9642-40ec-8bbe-df35abec72d4" in str(answer["reason"])


async def test_another_account_s_recording_is_unknown(
    platform: Platform, http: httpx.AsyncClient, recording: tuple[str, Path]
) -> None:
    created = await platform.tenancy.create_account(balance=Decimal("1"))
    app = await platform.tenancy.create_app(created.api_key, phone_limit=10)
    stranger = RecordingApi(http, Customer(created.api_key, created.api_secret, app.app_id))
    answer = await stranger.url_answer(recording[0])
    assert answer["status"] == "-22"
    assert "not a recording of this account" in str(answer["reason"])


@pytest.mark.parametrize(
    ("recording_id", "source_type", "reason"),
    [
        (None, "sip", "recordingFileId is required"),
        ("", "sip", "recordingFileId is required"),
        ("x" * 65, "sip", "recordingFileId must be"),
        ("../../etc/passwd", "sip", "recordingFileId must be"),
        ("3e2f0781-9642-40ec-8bbe-df35abec72d4", "phone", "sourceType must be 'sip' or 'group'"),
        ("3e2f0781-9642-40ec-8bbe-df35abec72d4", "", "sourceType must be 'sip' or 'group'"),
    ],
)
async def test_bad_parameters_are_named(
    recordings: RecordingApi, recording_id: str | None, source_type: str, reason: str
) -> None:
    answer = await recordings.url_answer(recording_id, source_type)
    assert answer["status"] == "-22"
    assert str(answer["reason"]).startswith(reason)


async def test_source_type_may_be_left_out(recordings: RecordingApi, recording: tuple[str, Path]) -> None:
    assert (await recordings.url_answer(recording[0], None))["status"] == "0"


async def test_the_url_call_is_signed(http: httpx.AsyncClient, recording: tuple[str, Path]) -> None:
    response = await http.get("/voice/getRecordingFileUrl", params={"recordingFileId": recording[0]})
    assert response.json()["status"] == "-1"


async def test_records_show_the_recording_id(
    platform: Platform, recordings: RecordingApi, recording: tuple[str, Path]
) -> None:
    recording_id, _ = recording
    unrecorded = await call_record(platform, recordings.customer)
    headers = recordings.customer.headers()
    async with platform.sessions() as session:
        voice_id = await session.scalar(
            select(CallRecord.voice_id).where(CallRecord.recording_file_id == recording_id)
        )
    record = (await recordings.http.get(f"/voice/recordSip/{voice_id}", headers=headers)).json()["data"]
    assert record["recordingFileId"] == recording_id
    plain = (await recordings.http.get(f"/voice/recordSip/{unrecorded}", headers=headers)).json()["data"]
    assert plain["recordingFileId"] is None
    body = {"current": 1, "size": 25, "params": window()}
    group = (await recordings.http.post("/voice/recordGroupQuery", json=body, headers=headers)).json()
    by_voice = {row["voiceId"]: row for row in group["data"]["records"]}
    assert by_voice[voice_id]["voiceFileId"] == recording_id
    assert by_voice[unrecorded]["voiceFileId"] is None
    phones = (await recordings.http.post("/voice/recordSipQuery", json=body, headers=headers)).json()
    assert {row["voiceId"]: row["recordingFileId"] for row in phones["data"]["records"]}[
        voice_id
    ] == recording_id


async def test_the_sdk_gives_the_link(
    platform: Platform, recordings: RecordingApi, recording: tuple[str, Path]
) -> None:
    recording_id, mp3 = recording
    transport = httpx.ASGITransport(app=build_app(platform), client=("127.0.0.1", 40000))
    customer = recordings.customer
    async with AsyncClient(
        "http://sipline.test", customer.api_key, customer.api_secret, transport=transport
    ) as sdk:
        link = await sdk.recording_url(recording_id)
        assert link.url.startswith(f"http://sipline.test/recordings/{recording_id}.mp3?")
        assert 590 < (link.expires_at - datetime.now(UTC)).total_seconds() <= 601
        assert (await recordings.http.get(link.url)).content == mp3.read_bytes()
        assert (await sdk.recording_url(recording_id, source_type="group")).url.startswith(link.url[:60])
        with pytest.raises(SiplineError) as caught:
            await sdk.recording_url("3e2f0781-9642-40ec-8bbe-df35abec72d4")
        assert caught.value.status == "-22"
