"""Entry point: `service` (console script) or `python -m service`."""

import logging
import os
import signal
import sys

import uvicorn

from service.app import create_app
from service.config import ConfigError, Settings
from service.logs import configure_logging
from service.telemetry import configure_telemetry

# Load balancers and ingress controllers keep idle upstream connections open for about 60 s;
# closing ours later avoids a race where they reuse a connection we just closed (HTTP 502).
_KEEP_ALIVE_SECONDS = 65
_EXIT_BAD_CONFIG = 2

logger = logging.getLogger(__name__)


def main() -> int:
    # JSON from the first line on, so that even a configuration error is a parseable log entry.
    configure_logging()
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as error:
        logger.error("invalid configuration: %s", error)
        return _EXIT_BAD_CONFIG
    logging.getLogger().setLevel(settings.log_level)
    configure_telemetry(settings)
    serve(settings)
    return 0


def serve(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT; uvicorn itself exits the process if startup fails."""
    config = uvicorn.Config(
        create_app(settings),
        # The container must accept traffic from the pod network, not only from loopback.
        host="0.0.0.0",  # noqa: S104  # nosec B104
        port=settings.port,
        # Pure-Python protocol and loop: identical behaviour on laptops, CI and the image.
        loop="asyncio",
        http="h11",
        lifespan="on",
        # Keep our JSON logging; uvicorn's loggers propagate to the root handler.
        log_config=None,
        server_header=False,
        timeout_keep_alive=_KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
    )
    server = uvicorn.Server(config)
    # On SIGTERM uvicorn stops accepting, lets in-flight requests finish, runs the lifespan
    # shutdown and then re-raises the signal with the handler installed before it started.
    # Ignoring it makes that re-raise a no-op, so the process exits 0 through the normal path
    # and the OpenTelemetry SDK's exit hooks flush telemetry, as they do for PID 1 in a container.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    server.run()


if __name__ == "__main__":
    sys.exit(main())
