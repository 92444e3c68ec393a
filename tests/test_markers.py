"""The markers the fast inner loop deselects stay true: a validator cannot run in a test not marked `validators`."""

from __future__ import annotations

import pytest

from tests import conftest, validators


def test_a_validator_refuses_to_run_in_an_unmarked_test() -> None:
    # This test carries no marker, as a new test that forgot it would: the run stops before the validator starts.
    with pytest.raises(AssertionError, match=r"without @pytest\.mark\.validators"):
        validators.checkov_scan({"x": validators.kubernetes_tree({"deploy/kubernetes/x.yaml": "kind: Namespace\n"})})


@pytest.fixture(scope="module")
def marker_seen_by_a_module_fixture() -> bool | None:
    return validators.IN_MARKED_TEST.get()


def test_a_module_fixture_is_held_to_the_marker_of_the_test_that_needs_it(
    marker_seen_by_a_module_fixture: bool | None,
) -> None:
    # Set up for this unmarked test, before any function-scoped fixture: a validator run from it would refuse (None,
    # "outside pytest", would let it through).
    assert marker_seen_by_a_module_fixture is False


@pytest.mark.validators
def test_the_marker_lets_a_validator_run() -> None:
    assert validators.IN_MARKED_TEST.get() is True


def test_a_test_using_a_slow_fixture_without_the_marker_is_named(request: pytest.FixtureRequest) -> None:
    marked, unmarked = (
        pytest.Function.from_parent(request.node.parent, name=name, callobj=lambda two_runs: None)
        for name in ("marked", "unmarked")
    )
    marked.add_marker(pytest.mark.slow)
    assert conftest.unmarked_slow([marked, unmarked]) == [unmarked.nodeid]


def test_every_marker_in_use_is_registered(pytestconfig: pytest.Config) -> None:
    registered = {line.split(":", 1)[0] for line in pytestconfig.getini("markers")}
    assert {"slow", "network", "validators"} <= registered


POD = """apiVersion: v1
kind: Pod
metadata:
  name: plain
spec:
  containers:
    - name: app
      image: nginx
"""
PRIVILEGED = "CKV_K8S_16"  # Container should not be privileged


@pytest.mark.validators
def test_checkov_results_stay_with_their_tree_even_when_one_name_holds_the_other() -> None:
    # Tree "a" holds b/x.yaml, tree "a/b" holds x.yaml: by their names, the same file. Only the pod in "a/b" is
    # privileged.
    privileged = POD + "      securityContext:\n        privileged: true\n"
    results = validators.checkov_scan(
        {"a": validators.kubernetes_tree({"b/x.yaml": POD}), "a/b": validators.kubernetes_tree({"x.yaml": privileged})}
    )
    assert results["a"].scanned_files == {"/b/x.yaml"}
    assert results["a/b"].scanned_files == {"/x.yaml"}
    assert PRIVILEGED in results["a/b"].failed_checks
    assert PRIVILEGED not in results["a"].failed_checks
    assert results["a"].returncode == results["a/b"].returncode == 1
