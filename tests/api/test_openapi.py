"""The OpenAPI document clients are generated from: valid, every reference resolving, signing declared."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

SIGNED_PATHS = [
    "/voice/sipAdd",
    "/voice/sipQuery",
    "/voice/sipReset",
    "/voice/sendSip",
    "/voice/recordSip/{voice_id}",
    "/voice/recordGroupQuery",
    "/voice/recordSipQuery",
    "/voice/getRecordingFileUrl",
    "/sms/getBalance",
    "/voice/getBalance",
    "/voice/ledgerQuery",
]


@pytest.fixture
async def document(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get("/openapi.json")
    assert response.status_code == 200
    payload: dict[str, Any] = response.json()
    return payload


def references(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def test_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema


def test_every_reference_resolves_to_a_component(document: dict[str, Any]) -> None:
    refs = set(references(document))
    assert refs, "the document references no schema at all"
    schemas = document["components"]["schemas"]
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    assert "$defs" not in str(document)


@pytest.mark.parametrize(
    ("path", "model", "nested"),
    [
        ("/voice/sipQuery", "SipQueryRequest", "AppParams"),
        ("/voice/recordGroupQuery", "RecordGroupQueryRequest", "WindowParams"),
        ("/voice/recordSipQuery", "RecordSipQueryRequest", "PhoneWindowParams"),
    ],
)
def test_paged_bodies_are_components(document: dict[str, Any], path: str, model: str, nested: str) -> None:
    body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": f"#/components/schemas/{model}"}
    schema = document["components"]["schemas"][model]
    assert schema["properties"]["params"] == {"$ref": f"#/components/schemas/{nested}"}
    assert schema["properties"]["current"]["maximum"] == 10_000_000


def test_signing_headers_are_declared_on_every_signed_route(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert {(s["type"], s["in"], s["name"]) for s in schemes.values()} == {
        ("apiKey", "header", "Api-Key"),
        ("apiKey", "header", "Timestamp"),
        ("apiKey", "header", "Sign"),
    }
    signed = [
        (path, method)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if operation.get("security") == [{scheme: [] for scheme in schemes}]
    ]
    assert sorted(path for path, _ in signed) == sorted(SIGNED_PATHS)
    assert not any(path.startswith("/admin") for path, _ in signed)


def test_recording_operations_describe_bounded_parameters(document: dict[str, Any]) -> None:
    get_url = document["paths"]["/voice/getRecordingFileUrl"]["get"]
    params = {param["name"]: param for param in get_url["parameters"]}
    assert params["recordingFileId"]["required"] is True
    assert params["recordingFileId"]["schema"]["maxLength"] == 64
    assert params["sourceType"]["schema"]["enum"] == ["sip", "group"]
    answer = get_url["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    data = document["components"]["schemas"][answer.rsplit("/", 1)[1]]["properties"]["data"]
    assert {"$ref": "#/components/schemas/RecordingFileUrl"} in data["anyOf"]
    assert set(document["components"]["schemas"]["RecordingFileUrl"]["properties"]) == {"url", "expireTime"}

    download = document["paths"]["/recordings/{recording_id}.mp3"]
    assert set(download) == {"get"} and "security" not in download["get"]
    bounds = {param["name"]: param["schema"] for param in download["get"]["parameters"]}
    assert bounds["recording_id"]["maxLength"] == 64
    assert bounds["expires"]["maximum"] == 10**12 and bounds["sig"]["pattern"] == "^[0-9a-f]{64}$"
    assert "audio/mpeg" in download["get"]["responses"]["200"]["content"]
