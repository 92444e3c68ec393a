"""How the suite runs on several workers (tests/conftest.py): a capture the session fixtures share is built once per
run, whichever worker asks, and the longest modules start first."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests import conftest
from tools.capture import Capture


def test_a_variant_is_built_by_the_first_worker_and_loaded_by_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[str] = []

    def build() -> Capture:
        builds.append("built")
        return Capture("dev", outputs={"n": len(builds)})

    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    first = conftest.shared(tmp_path / "gw0", "variant", build)
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    second = conftest.shared(tmp_path / "gw1", "variant", build)
    other = conftest.shared(tmp_path / "gw1", "another", build)

    assert builds == ["built", "built"]
    assert second == first == Capture("dev", outputs={"n": 1})
    assert other.outputs == {"n": 2}


def test_without_workers_each_session_builds_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One process, one session: nothing to share, and the parent of its temporary directory outlives the run.
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    count = iter(range(2))
    results = [
        conftest.shared(tmp_path / "run", "variant", lambda: Capture("dev", outputs={"n": next(count)}))
        for _ in range(2)
    ]
    assert [r.outputs["n"] for r in results] == [0, 1]
    assert not (tmp_path / "captures").exists()


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
