from collections.abc import Callable

import pytest


@pytest.fixture(scope="session")
def connection_string(require_env: Callable[[str, str], str]) -> str:
    return require_env(
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "integration tests send telemetry to the Application Insights resource whose connection "
        "string the CI pipeline reads from Key Vault; set it to run them locally.",
    )
