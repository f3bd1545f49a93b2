"""The one error type every layer raises for an answer the client should see."""

from sipline.domain.status import Status


class ApiError(Exception):
    """A refusal with a vendor status code and a human-readable reason."""

    def __init__(self, status: Status, reason: str, http_status: int = 200) -> None:
        super().__init__(f"{status.value}: {reason}")
        self.status = status
        self.reason = reason
        # Business refusals answer HTTP 200, as the vendor does; a few transport-level ones do not.
        self.http_status = http_status


def parameter_error(reason: str) -> ApiError:
    return ApiError(Status.PARAMETER_ERROR, reason)
