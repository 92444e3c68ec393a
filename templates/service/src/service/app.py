"""The ASGI application: probes for Kubernetes and the service's API."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from service import __version__
from service.config import Settings

logger = logging.getLogger(__name__)

# Probes arrive every few seconds from every kubelet; tracing them would bury real requests
# and cost ingestion. Patterns are matched against the request URL.
_UNTRACED_URLS = r"/healthz$,/readyz$"


async def healthz(_: Request) -> Response:
    # Liveness says only that the process serves requests. Dependencies belong in readiness:
    # a failing dependency should take the pod out of rotation, not restart it.
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    if request.app.state.ready:
        return PlainTextResponse("ready")
    return PlainTextResponse("not ready", status_code=503)


async def info(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    return JSONResponse({"service": settings.service_name, "version": __version__})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.ready = True
    logger.info("ready", extra={"service": app.state.settings.service_name})
    yield
    app.state.ready = False
    logger.info("shutting down")


def create_app(settings: Settings) -> Starlette:
    # The middleware traces through the global tracer provider: a no-op until telemetry is
    # configured, so the same app serves with and without Application Insights.
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/api/v1/info", info, methods=["GET"]),
        ],
        middleware=[
            Middleware(
                OpenTelemetryMiddleware,
                excluded_urls=_UNTRACED_URLS,
                # One span per request: per-message ASGI spans only clutter the dependency view.
                exclude_spans=["receive", "send"],
            )
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    # Not ready until the lifespan has started, so no traffic arrives before startup is done.
    app.state.ready = False
    return app
