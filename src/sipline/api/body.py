"""Reading a JSON request body into a schema, with `-22` reasons that name the field.

Done by hand rather than by FastAPI's body parameters: on the hot path FastAPI's body machinery
costs more than the whole sipQuery lookup (measured with bench/api). The schemas still document
the request bodies in the OpenAPI reference through `json_body()`.
"""

from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from sipline.api.errors import describe_validation_error
from sipline.domain.errors import parameter_error

M = TypeVar("M", bound=BaseModel)


async def parse_body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    if not raw.strip():
        raise parameter_error("request body is required")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise parameter_error("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise parameter_error("request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise parameter_error(describe_validation_error(exc.errors()[0])) from None


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` describing `model` as the route's JSON request body.

    Nested models are referenced as components; api/openapi.py moves them there from `$defs`.
    """
    schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
