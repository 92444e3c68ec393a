"""One estate per stack configuration per test session: the mock engine costs ~30 ms a resource, so every test
asserts on the same capture instead of building the estate again."""

from __future__ import annotations

import fcntl
import json
import os
import pickle
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from tests import validators
from tests.helpers import run_bootstrap, synthetic
from tools import capture

# Fixtures that cost seconds of their own (subprocess previews of the whole stack): the fast inner loop, which
# deselects `slow`, must not pull them in through a test that forgot the marker.
SLOW_FIXTURES = frozenset({"two_runs"})


def unmarked_slow(items: Iterable[pytest.Item]) -> list[str]:
    """Tests that use a slow fixture without being marked `slow`."""
    return [
        item.nodeid
        for item in items
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) and item.get_closest_marker("slow") is None
    ]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if unmarked := unmarked_slow(items):
        raise pytest.UsageError(f"mark these @pytest.mark.slow, they use {sorted(SLOW_FIXTURES)}: {unmarked}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    # Around the whole protocol, so that a module- or session-scoped fixture that runs a validator is held to the
    # marker of the test that first needs it (fixtures set up before any function-scoped fixture could set this).
    token = validators.IN_MARKED_TEST.set(item.get_closest_marker("validators") is not None)
    try:
        yield
    finally:
        validators.IN_MARKED_TEST.reset(token)


def shared(worker_temp: Path, variant: str, build: Callable[[], capture.Capture]) -> capture.Capture:
    """The capture of `variant`, built once per run: under pytest-xdist by the first worker that asks, while the others
    wait for it and load it (a build costs seconds; loading, milliseconds). `worker_temp` is the worker's temporary
    directory; their common parent is the run's own, as pytest-xdist documents for once-per-run fixtures."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return build()
    directory = worker_temp.parent / "captures"
    directory.mkdir(exist_ok=True)
    path = directory / f"{variant}.pickle"
    with (directory / f"{variant}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            # Written a moment ago by another worker of this run, into this run's own directory.
            loaded: capture.Capture = pickle.loads(path.read_bytes())  # noqa: S301
            return loaded
        result = build()
        path.write_bytes(pickle.dumps(result))
        return result


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> capture.Capture:
    return shared(tmp_path_factory.getbasetemp(), "dev", lambda: capture.run_stack_file("dev"))


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> capture.Capture:
    return shared(tmp_path_factory.getbasetemp(), "prod", lambda: capture.run_stack_file("prod"))


@pytest.fixture(scope="session")
def boot(tmp_path_factory: pytest.TempPathFactory) -> capture.Capture:
    """The bootstrap program's inventory (bootstrap/Pulumi.main.yaml)."""
    return shared(tmp_path_factory.getbasetemp(), "boot", run_bootstrap)


@pytest.fixture(scope="session")
def estates(dev: capture.Capture, prod: capture.Capture) -> dict[str, list[capture.Registration]]:
    """Both stacks' registrations plus the synthetic resources the policy rules cover (helpers.synthetic)."""
    return {result.stack: [*result.resources, *synthetic(result.stack)] for result in (dev, prod)}


@pytest.fixture(scope="session", params=["dev", "prod"])
def estate(request: pytest.FixtureRequest, dev: capture.Capture, prod: capture.Capture) -> capture.Capture:
    """Both stacks, for properties that hold whatever the environment."""
    return dev if request.param == "dev" else prod


# Traffic in and between services: an exposed gateway with a certificate calling an internally exposed ledger.
SHOP_SERVICES = [
    {"name": "gateway", "expose": "public", "host": "shop.contoso.com", "tlsCertificate": "shop", "calls": ["ledger"]},
    {"name": "ledger", "port": 9000, "expose": "internal", "build": "container"},
]


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> capture.Capture:
    """dev with the services above: the internal ingress controller, and with it the Kubernetes provider."""

    def build() -> capture.Capture:
        config, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.dev.yaml")
        return capture.run("dev", {**config, "aks-estate:services": json.dumps(SHOP_SERVICES)}, secret_keys)

    return shared(tmp_path_factory.getbasetemp(), "shop", build)
