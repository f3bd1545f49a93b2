"""Baselines: bare FastAPI endpoints answering the same JSON body sipQuery answers (no auth, no lookup).

- /bytes: the body pre-encoded, sent as is (the least work an endpoint can do);
- /orjson: the same data serialized per request by the same orjson response class sipline uses;
- /default: the same data returned as a dict, serialized by FastAPI's default path.
"""

import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from sipline.api.envelope import JsonResponse

BODY = Path(os.environ["BENCH_BARE_BODY"]).read_bytes()
DATA = json.loads(BODY)
app = FastAPI()


@app.post("/bytes/voice/sipQuery")
async def pre_encoded(request: Request) -> Response:
    await request.body()
    return Response(BODY, media_type="application/json")


@app.post("/orjson/voice/sipQuery")
async def same_serializer(request: Request) -> Response:
    await request.body()
    return JsonResponse(DATA)


@app.post("/default/voice/sipQuery")
async def fastapi_default(request: Request) -> dict[str, Any]:
    await request.body()
    return DATA  # type: ignore[no-any-return]
