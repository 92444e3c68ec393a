"""A capture the session fixtures share (tests/conftest.py `shared`) is built once per run, whichever worker asks."""

from __future__ import annotations

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
