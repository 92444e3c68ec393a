import time
from collections.abc import Callable, Iterator

import httpx2
import pytest

# A rollout that `kubectl rollout status` reports done can still be a few seconds away from
# the service routing to it; waiting for readiness keeps that race out of the results.
READY_TIMEOUT_SECONDS = 120.0
REQUEST_TIMEOUT_SECONDS = 10.0


@pytest.fixture(scope="session")
def staging(require_env: Callable[[str, str], str]) -> Iterator[httpx2.Client]:
    base_url = require_env(
        "STAGING_BASE_URL",
        "acceptance tests call the service the CD pipeline deployed to staging.",
    )
    with httpx2.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
        _wait_until_ready(client)
        yield client


def _wait_until_ready(client: httpx2.Client) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    last_error = "no response"
    while time.monotonic() < deadline:
        try:
            response = client.get("/readyz")
        except httpx2.TransportError as error:
            last_error = repr(error)
        else:
            if response.status_code == 200:
                return
            last_error = f"HTTP {response.status_code}"
        time.sleep(2)
    pytest.fail(f"{client.base_url} not ready after {READY_TIMEOUT_SECONDS} s: {last_error}")
