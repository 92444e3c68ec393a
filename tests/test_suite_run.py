"""How the suite runs on several workers (tests/conftest.py): a capture the session fixtures share is built once per
run, whichever worker asks, and the longest modules start first."""

from __future__ import annotations

import dataclasses
import types
from pathlib import Path

import pytest

from tests import conftest
from tools.capture import Capture


def test_a_variant_is_built_by_the_first_worker_and_loaded_by_the_others(tmp_path: Path) -> None:
    builds: list[str] = []

    def build() -> Capture:
        builds.append("built")
        return Capture("dev", outputs={"n": len(builds)})

    first = conftest.shared("run-1", tmp_path / "gw0", "variant", build)
    second = conftest.shared("run-1", tmp_path / "gw1", "variant", build)
    other = conftest.shared("run-1", tmp_path / "gw1", "another", build)

    assert builds == ["built", "built"]
    assert second == first == Capture("dev", outputs={"n": 1})
    assert other.outputs == {"n": 2}
    assert sorted(p.name for p in (tmp_path / "captures-run-1").glob("*.pickle")) == [
        "another.pickle",
        "variant.pickle",
    ]


def test_another_run_never_loads_this_runs_captures(tmp_path: Path) -> None:
    # Even when both runs' temporary directories share a parent (a worker's basetemp outside a fresh run directory).
    conftest.shared("run-1", tmp_path / "gw0", "variant", lambda: Capture("dev", outputs={"run": 1}))
    assert conftest.shared(
        "run-2", tmp_path / "gw0", "variant", lambda: Capture("dev", outputs={"run": 2})
    ).outputs == {"run": 2}


def test_without_workers_each_session_builds_its_own(tmp_path: Path) -> None:
    # One process, one session: nothing to share, and the parent of its temporary directory outlives the run.
    count = iter(range(2))
    results = [
        conftest.shared(None, tmp_path / "run", "variant", lambda: Capture("dev", outputs={"n": next(count)}))
        for _ in range(2)
    ]
    assert [r.outputs["n"] for r in results] == [0, 1]
    assert list(tmp_path.glob("captures*")) == []


def test_only_a_worker_of_this_run_shares_whatever_its_environment_says(monkeypatch: pytest.MonkeyPatch) -> None:
    # A pytest started under a worker inherits PYTEST_XDIST_WORKER without being one of that run's workers.
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    assert conftest.xdist_run(types.SimpleNamespace()) is None  # type: ignore[arg-type]
    assert conftest.xdist_run(types.SimpleNamespace(workerinput={"testrunuid": "abc"})) == "abc"  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True)
class _Item:
    """What `run_first` reads of a collected test."""

    path: Path


def test_the_longest_modules_run_first_in_the_order_listed(pytestconfig: pytest.Config) -> None:
    listed = [Path(__file__).parent / name for name in conftest.RUN_FIRST]
    assert [path.name for path in listed if not path.is_file()] == [], "RUN_FIRST names a module that is gone"
    names = ("test_a.py", "test_network.py", "test_b.py", "test_service_template.py", "test_a.py")
    ordered = conftest.run_first([_Item(Path(name)) for name in names])
    expected = ["test_service_template.py", "test_network.py", "test_a.py", "test_b.py", "test_a.py"]
    assert [item.path.name for item in ordered] == expected
    # xdist would otherwise order the modules by their number of tests.
    assert "--no-loadscope-reorder" in pytestconfig.getini("addopts")
