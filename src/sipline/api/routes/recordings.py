"""GET /voice/getRecordingFileUrl (signed like every voice call) and the link it gives,
GET|HEAD /recordings/{recordingFileId}.mp3?expires=...&sig=... (the link's signature is the proof).

Query parameters are read by hand, as the voice API reads its bodies (api/body.py), so that every
bad value answers `-22` with a reason naming it; the OpenAPI document still describes them.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse

from sipline.api.envelope import JsonResponse, success
from sipline.api.responses import Envelope, RecordingFileUrl
from sipline.api.signed_route import SignedRoute, caller_of
from sipline.domain.errors import parameter_error
from sipline.domain.recordings import MAX_EXPIRES, RECORDING_ID_PATTERN
from sipline.services.recording_links import RecordingLinks

SOURCE_TYPES = ("sip", "group")

voice = APIRouter(prefix="/voice", route_class=SignedRoute, tags=["call records"])
files = APIRouter(tags=["recordings"])


def _links(request: Request) -> RecordingLinks:
    service: RecordingLinks = request.app.state.platform.recording_links
    return service


def _query(name: str, schema: dict[str, Any], description: str, required: bool = True) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


_ID_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": RECORDING_ID_PATTERN}


@voice.get(
    "/getRecordingFileUrl",
    response_model=Envelope[RecordingFileUrl],
    summary="A signed, expiring URL streaming a call's recording (mp3)",
    openapi_extra={
        "parameters": [
            _query(
                "recordingFileId",
                _ID_SCHEMA,
                "recordingFileId (recordSip) or voiceFileId (recordGroupQuery).",
            ),
            _query(
                "sourceType",
                {"type": "string", "enum": list(SOURCE_TYPES), "default": "sip"},
                "Where the id was read: sip (recordSip, recordSipQuery) or group (recordGroupQuery).",
                required=False,
            ),
        ]
    },
)
async def get_recording_file_url(request: Request) -> JsonResponse:
    params = request.query_params
    recording_id = params.get("recordingFileId")
    source_type = params.get("sourceType", "sip")
    if not recording_id:
        raise parameter_error("recordingFileId is required")
    if source_type not in SOURCE_TYPES:
        raise parameter_error("sourceType must be 'sip' or 'group'")
    link = await _links(request).link(caller_of(request), recording_id)
    url = request.url_for("recording_file", recording_id=link.recording_id).include_query_params(
        expires=link.expires, sig=link.signature
    )
    return success({"url": str(url), "expireTime": link.expires * 1000})


RECORDING_FILE = "/recordings/{recording_id}.mp3"


@files.get(
    RECORDING_FILE,
    name="recording_file",
    response_class=FileResponse,
    summary="The mp3 of a recording, through a link from getRecordingFileUrl",
    description=(
        "Unauthenticated: the link's signature is the proof. Streams audio/mpeg and honours Range "
        "(206 with Content-Range), so an audio player can seek; HEAD answers the headers alone. "
        "403 for a link that is tampered with or has expired; 410 once the recording was deleted "
        "(retention)."
    ),
    responses={
        200: {"content": {"audio/mpeg": {"schema": {"type": "string", "format": "binary"}}}},
        206: {"description": "The requested byte range", "content": {"audio/mpeg": {}}},
        403: {"description": "Tampered with or expired link", "model": Envelope[None]},
        410: {"description": "The recording was deleted", "model": Envelope[None]},
    },
    openapi_extra={
        "parameters": [
            _query("expires", {"type": "integer", "minimum": 1, "maximum": MAX_EXPIRES}, "Epoch seconds."),
            _query("sig", {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "HMAC-SHA256, hex."),
        ]
    },
)
async def recording_file(
    recording_id: Annotated[str, Path(json_schema_extra=_ID_SCHEMA)], request: Request
) -> FileResponse:
    params = request.query_params
    links = _links(request)
    path = await links.file(recording_id, params.get("expires", ""), params.get("sig", ""))
    return FileResponse(
        path,
        media_type="audio/mpeg",
        filename=f"{recording_id}.mp3",
        content_disposition_type="inline",
        headers={"Cache-Control": "private, max-age=300"},
    )


# HEAD as well (players probe the size first); one operation in the document, with GET's id.
files.add_api_route(RECORDING_FILE, recording_file, methods=["HEAD"], include_in_schema=False)
