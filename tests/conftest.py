"""One estate per stack configuration per test session: the mock engine costs ~30 ms a resource, so every test
asserts on the same capture instead of building the estate again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import validators
from tests.helpers import run_bootstrap
from tools import capture


@pytest.fixture(autouse=True)
def _validators_marker(request: pytest.FixtureRequest) -> Iterator[None]:
    token = validators.IN_MARKED_TEST.set(request.node.get_closest_marker("validators") is not None)
    yield
    validators.IN_MARKED_TEST.reset(token)


@pytest.fixture(scope="session")
def dev() -> capture.Capture:
    return capture.run_stack_file("dev")


@pytest.fixture(scope="session")
def prod() -> capture.Capture:
    return capture.run_stack_file("prod")


@pytest.fixture(scope="session")
def boot() -> capture.Capture:
    """The bootstrap program's inventory (bootstrap/Pulumi.main.yaml)."""
    return run_bootstrap()


@pytest.fixture(scope="session", params=["dev", "prod"])
def estate(request: pytest.FixtureRequest, dev: capture.Capture, prod: capture.Capture) -> capture.Capture:
    """Both stacks, for properties that hold whatever the environment."""
    return dev if request.param == "dev" else prod
