"""One estate per stack configuration per test session: the mock engine costs ~30 ms a resource, so every test
asserts on the same capture instead of building the estate again."""

from __future__ import annotations

import pytest

from tools import capture


@pytest.fixture(scope="session")
def dev() -> capture.Capture:
    return capture.run_stack_file("dev")


@pytest.fixture(scope="session")
def prod() -> capture.Capture:
    return capture.run_stack_file("prod")


@pytest.fixture(scope="session", params=["dev", "prod"])
def estate(request: pytest.FixtureRequest, dev: capture.Capture, prod: capture.Capture) -> capture.Capture:
    """Both stacks, for properties that hold whatever the environment."""
    return dev if request.param == "dev" else prod
