"""One estate per stack configuration per test run (not per xdist worker: `shared`): the mock engine costs ~30 ms a
resource, so every test asserts on the same capture instead of building the estate again; and the order in which the
workers take the modules (`RUN_FIRST`)."""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import pickle
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

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


# The modules that take longest, longest first (seconds of their own on 2 cores, measured at the commit that wrote this
# list). Under `--dist loadfile` a module is one unit of work and a worker that runs dry takes the next in collection
# order, so the longest start first and the short ones fill the gaps at the end, instead of one long module running
# alone while the other worker idles (pyproject.toml turns off xdist's own ordering by number of tests).
RUN_FIRST = (
    "test_service_template.py",  # ~14: installs the starter's requirements, runs its tools and its pod
    "test_offline_preview.py",  # ~12: the determinism pair, one of them a subprocess
    "test_pipeline_files.py",  # ~9: every validator over the rendered files; the first to ask for `checkov`
    "test_devops.py",  # ~6: a dev variant, a planted preview in a subprocess
    "test_offline_diff.py",  # ~5: two prod variants
    "test_network_paths.py",  # ~4: a prod variant
    "test_policy_preview.py",  # ~4: both stacks under preview semantics
    "test_bootstrap.py",  # ~4: a prod variant, the bootstrap's preview
    "test_service_sources.py",  # ~4: a prod variant
    "test_pipeline_links.py",  # ~2.5: a dev variant
    "test_alerts.py",  # ~2.5: a prod variant
    "test_outputs_and_commits.py",  # ~2: validators over what prod commits
    "test_network.py",  # ~1.5: a dev variant
    "test_infra_pipelines.py",  # ~1.5: validators over the IaC pipelines
)


class _Located(Protocol):
    @property
    def path(self) -> Path: ...


Located = TypeVar("Located", bound=_Located)


def run_first(items: Iterable[Located]) -> list[Located]:
    """`items` with RUN_FIRST's modules first, in that order; everything else keeps its order."""
    rank = {name: index for index, name in enumerate(RUN_FIRST)}
    return sorted(items, key=lambda item: rank.get(item.path.name, len(RUN_FIRST)))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if unmarked := unmarked_slow(items):
        raise pytest.UsageError(f"mark these @pytest.mark.slow, they use {sorted(SLOW_FIXTURES)}: {unmarked}")
    items[:] = run_first(items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    # Around the whole protocol, so that a module- or session-scoped fixture that runs a validator is held to the
    # marker of the test that first needs it (fixtures set up before any function-scoped fixture could set this).
    token = validators.IN_MARKED_TEST.set(item.get_closest_marker("validators") is not None)
    try:
        yield
    finally:
        validators.IN_MARKED_TEST.reset(token)


Built = TypeVar("Built")


def xdist_run(config: pytest.Config) -> str | None:
    """This run's id when this process is one of pytest-xdist's workers (its `workerinput`, as xdist's own
    `testrun_uid` fixture reads it), else None. Not the `PYTEST_XDIST_WORKER` variable: a pytest started under one
    inherits it without being a worker of that run."""
    workerinput = getattr(config, "workerinput", None)
    return None if workerinput is None else str(workerinput["testrunuid"])


def shared(run: str | None, worker_temp: Path, variant: str, build: Callable[[], Built]) -> Built:
    """What `build` makes for `variant` (a capture, a validator run), built once per run: under pytest-xdist (`run` is
    the run's id) by the first worker that asks, while the others wait for it and load it (a build costs seconds;
    loading, milliseconds). `worker_temp` is the worker's temporary directory; their common parent is the run's own,
    as pytest-xdist documents for once-per-run fixtures, and the run's id in the name keeps any other run's out."""
    if run is None:
        return build()
    directory = worker_temp.parent / f"captures-{run}"
    directory.mkdir(exist_ok=True)
    path = directory / f"{variant}.pickle"
    with (directory / f"{variant}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            # Written a moment ago by another worker of this run, into this run's own directory.
            loaded: Built = pickle.loads(path.read_bytes())  # noqa: S301
            return loaded
        result = build()
        # Whole or not at all: a worker killed mid-write leaves no file the others would take for a capture.
        partial = path.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(result))
        os.replace(partial, path)
        return result


@pytest.fixture(scope="session")
def run_id(pytestconfig: pytest.Config) -> str | None:
    return xdist_run(pytestconfig)


@pytest.fixture(scope="session")
def dev(run_id: str | None, tmp_path_factory: pytest.TempPathFactory) -> capture.Capture:
    return shared(run_id, tmp_path_factory.getbasetemp(), "dev", lambda: capture.run_stack_file("dev"))


@pytest.fixture(scope="session")
def prod(run_id: str | None, tmp_path_factory: pytest.TempPathFactory) -> capture.Capture:
    return shared(run_id, tmp_path_factory.getbasetemp(), "prod", lambda: capture.run_stack_file("prod"))


@pytest.fixture(scope="session")
def boot(run_id: str | None, tmp_path_factory: pytest.TempPathFactory) -> capture.Capture:
    """The bootstrap program's inventory (bootstrap/Pulumi.main.yaml)."""
    return shared(run_id, tmp_path_factory.getbasetemp(), "boot", run_bootstrap)


# The modules whose checkov trees (`checkov_trees(prod)` in each) are scanned together: a checkov start costs ~2.5 s,
# one run over all of them ~4 s (four runs, ~10 s). The price: a tree that cannot be built fails every module's
# checkov tests, not only its own.
CHECKOV_MODULES = ("test_pipeline_files", "test_outputs_and_commits", "test_checkov_arm", "test_infra_pipelines")


@pytest.fixture(scope="session")
def checkov(
    run_id: str | None, tmp_path_factory: pytest.TempPathFactory, prod: capture.Capture
) -> dict[str, dict[str, validators.ValidatorResult]]:
    """Every tree of CHECKOV_MODULES in one checkov run per test run: {module: {tree: result}}."""

    def scan() -> dict[str, dict[str, validators.ValidatorResult]]:
        trees = {module: importlib.import_module(f"tests.{module}").checkov_trees(prod) for module in CHECKOV_MODULES}
        results = validators.checkov_scan(
            {f"{module}/{name}": tree for module, mine in trees.items() for name, tree in mine.items()}
        )
        return {module: {name: results[f"{module}/{name}"] for name in mine} for module, mine in trees.items()}

    return shared(run_id, tmp_path_factory.getbasetemp(), "checkov", scan)


@pytest.fixture(scope="session")
def estates(dev: capture.Capture, prod: capture.Capture) -> dict[str, list[capture.Registration]]:
    """Both stacks' registrations plus the synthetic resources the policy rules cover (helpers.synthetic)."""
    return {result.stack: [*result.resources, *synthetic(result.stack)] for result in (dev, prod)}


@pytest.fixture(scope="session", params=["dev", "prod"])
def estate(request: pytest.FixtureRequest, dev: capture.Capture, prod: capture.Capture) -> capture.Capture:
    """Both stacks, for properties that hold whatever the environment."""
    return dev if request.param == "dev" else prod


# Traffic in and between services: an exposed gateway with a certificate per stage calling an internally exposed
# ledger.
SHOP_SERVICES = [
    {
        "name": "gateway",
        "expose": "public",
        "host": "shop.contoso.com",
        "tlsCertificate": "shop",
        "stagingHost": "staging.shop.contoso.com",
        "stagingTlsCertificate": "shop-staging",
        "calls": ["ledger"],
    },
    {"name": "ledger", "port": 9000, "expose": "internal", "build": "container"},
]


@pytest.fixture(scope="session")
def shop(run_id: str | None, tmp_path_factory: pytest.TempPathFactory) -> capture.Capture:
    """dev with the services above: the internal ingress controller, and with it the Kubernetes provider."""

    def build() -> capture.Capture:
        config, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.dev.yaml")
        return capture.run("dev", {**config, "aks-estate:services": json.dumps(SHOP_SERVICES)}, secret_keys)

    return shared(run_id, tmp_path_factory.getbasetemp(), "shop", build)
