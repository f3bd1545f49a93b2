"""The FastAPI application: routes, error handling and middleware; services come from the platform."""

from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from sipline import __version__
from sipline.api.errors import install_error_handlers
from sipline.api.middleware import BodyLimitMiddleware, UnexpectedErrorMiddleware
from sipline.api.observed import ObservedRequests
from sipline.api.openapi import install_openapi
from sipline.api.routes import (
    admin,
    admin_billing,
    balance,
    calls,
    health,
    metrics,
    phones,
    push,
    rate_decks,
    recordings,
    records,
)
from sipline.console.mount import BODY_REFUSALS, console_body_limits, install_console

if TYPE_CHECKING:
    from sipline.bootstrap import Platform


def create_app(platform: "Platform") -> FastAPI:
    # FastAPIOffline: /docs and /redoc load their scripts from the platform, not from a CDN.
    app = FastAPIOffline(
        title="sipline voice API",
        version=__version__,
        description=(
            "Wire-compatible with the ITNIO voice API. Every /voice call is signed with the headers "
            "Api-Key, Timestamp and Sign = md5(apiKey + apiSecret + Timestamp). Answers use the envelope "
            '{"status": "0", "reason": "...", "data": ...} with status codes as strings.'
        ),
        # OpenTelemetry is not used: FastAPI's own hooks would cost a tenth of sendSip's time.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        swagger_ui_parameters={"validatorUrl": None},  # else Swagger UI asks validator.swagger.io
    )
    app.state.platform = platform
    install_error_handlers(app)
    install_openapi(app)
    app.include_router(phones.router)
    app.include_router(calls.router)
    app.include_router(records.router)
    app.include_router(recordings.voice)
    app.include_router(recordings.files)
    app.include_router(balance.sms)
    app.include_router(balance.voice)
    app.include_router(admin.router)
    app.include_router(rate_decks.router)
    app.include_router(admin_billing.router)
    app.include_router(push.admin)
    app.include_router(push.voice)
    app.include_router(metrics.router)
    app.include_router(health.router_for(platform))
    install_console(app, platform)  # the web console at /console
    app.add_middleware(
        BodyLimitMiddleware,
        limit=platform.settings.max_body_bytes,
        limits={
            rate_decks.IMPORT_PATH: platform.settings.rate_deck_max_bytes,
            **console_body_limits(platform.settings),
        },
        answers=BODY_REFUSALS,
    )
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(
        ObservedRequests, latency=platform.metrics.api_latency, log=platform.settings.access_log
    )
    return app
