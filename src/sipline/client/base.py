"""What the blocking and the asynchronous client share: where the API is, the keys, the retry policy."""

from typing import Any, Generic, TypeVar

import httpx

from sipline.client import calls
from sipline.client.transport import RetryPolicy

H = TypeVar("H", httpx.Client, httpx.AsyncClient)


class ClientBase(Generic[H]):
    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        timeout: float = 10.0,
        retries: int = 0,
        retry_backoff: float = 0.25,
        **httpx_options: Any,
    ):
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._api_secret = api_secret
        self._retry = RetryPolicy(retries, retry_backoff)
        self._http: H = self._open(httpx_options | {"base_url": self.base_url, "timeout": timeout})

    def _open(self, options: dict[str, Any]) -> H:
        raise NotImplementedError

    def _request(self, call: calls.Call[Any]) -> dict[str, Any]:
        """The arguments of the HTTP request that sends `call`, signed now (each retry afresh)."""
        headers = calls.signed_headers(self._api_key, self._api_secret)
        return {"method": call.method, "url": call.path, "json": call.body, "headers": headers}
