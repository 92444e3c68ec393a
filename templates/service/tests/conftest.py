import os
from collections.abc import Callable

import pytest


@pytest.fixture(scope="session")
def require_env() -> Callable[[str, str], str]:
    """Return a lookup that skips the test, with the reason, when a variable is not set."""

    def require(name: str, purpose: str) -> str:
        value = os.environ.get(name, "").strip()
        if not value:
            pytest.skip(f"{name} is not set; {purpose}")
        # Azure Pipelines passes `$(Name)` through literally when the variable it maps does not
        # exist, e.g. when the Key Vault task did not run: that is a broken pipeline, not a laptop.
        if value.startswith("$("):
            pytest.fail(f"{name} is {value!r}: the pipeline variable it maps is not defined")
        return value

    return require
