"""The offline diff (tools/offline_diff.py): what a config change would make `pulumi up` do, before it is run."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import AGENT_POOL, CLUSTER, METRIC_ALERT, PreviewRun, offline_preview_run, put, stack_file_with
from tools import capture, offline_diff
from tools.capture import Capture


def _inventory(result: Capture) -> list[dict[str, Any]]:
    return [registration.as_json() for registration in result.resources]


def _prod_with(tmp_path: Path, edit: Any) -> Capture:
    return capture.run_stack_file("prod", stack_file_with(tmp_path, "prod", edit))


def _bigger_production_nodes(config: dict[str, Any]) -> None:
    config["aks-estate:clusters"]["production"]["userPool"]["vmSize"] = "Standard_D16ds_v5"


def _one_more_service(config: dict[str, Any]) -> None:
    config["aks-estate:services"].append({"name": "payments"})


@pytest.fixture(scope="module")
def resized_preview(tmp_path_factory: pytest.TempPathFactory, prod: Capture) -> tuple[Path, PreviewRun]:
    """`offline_preview --previous` of prod with bigger production nodes against prod's inventory: the files it
    wrote, and the run (the resized estate it judged)."""
    tmp_path = tmp_path_factory.mktemp("resized")
    previous = tmp_path / "previous"
    previous.mkdir()
    (previous / "resources.json").write_text(json.dumps(_inventory(prod)))
    config = stack_file_with(tmp_path, "prod", _bigger_production_nodes)
    out = tmp_path / "out"
    args = ("--stack", "prod", "--config-file", str(config), "--out", str(out), "--previous", str(previous))
    return out, offline_preview_run(*args)


@pytest.fixture(scope="module")
def resized(resized_preview: tuple[Path, PreviewRun]) -> Capture:
    result = resized_preview[1].capture
    assert result is not None, "the preview refused the resized config"
    return result


def _by_op(changes: list[offline_diff.Change]) -> dict[str, list[offline_diff.Change]]:
    grouped: dict[str, list[offline_diff.Change]] = {op: [] for op in offline_diff.OPS}
    for change in changes:
        grouped[change.op].append(change)
    return grouped


def test_a_new_vm_size_for_the_production_user_pool_creates_a_new_pool_and_deletes_the_old(
    prod: Capture, resized: Capture
) -> None:
    changes = _by_op(offline_diff.diff(_inventory(prod), _inventory(resized)))
    (created,) = changes["create"]
    (deleted,) = changes["delete"]
    assert created.type == deleted.type == AGENT_POOL
    assert "cluster-production-pool-user" in created.urn
    assert "cluster-production-pool-user" in deleted.urn
    assert created.urn != deleted.urn
    assert changes["update"] == changes["replace"] == []
    # The staging pool and both clusters are untouched: nothing else would be sent to Azure.
    assert not any(CLUSTER in change.urn for change in offline_diff.diff(_inventory(prod), _inventory(resized)))


def test_adding_a_service_only_creates(prod: Capture, tmp_path: Path) -> None:
    changes = offline_diff.diff(_inventory(prod), _inventory(_prod_with(tmp_path, _one_more_service)))
    assert changes
    # But for the Application Insights alerts, which leave out each service's staging and CI role names
    # (tests/test_stage_telemetry.py): an in-place update of those values only.
    updated = [c for c in changes if c.op != "create"]
    assert {(c.op, c.type, "-app-insights-" in c.urn) for c in updated} == {("update", METRIC_ALERT, True)}
    assert len(updated) == 3
    assert {p.rsplit("[", 1)[0] for c in updated for p in c.properties} == {"criteria.allOf[0].dimensions[0].values"}


def _with(entry: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(entry)
    put(f"inputs.{path}", value)(changed)
    return changed


def _one(prod: Capture, token: str, named: str) -> dict[str, Any]:
    (entry,) = [e for e in _inventory(prod) if e["type"] == token and named in e["name"]]
    return entry


@pytest.mark.parametrize(
    "case",
    [
        # Same URN, a force-new property (replacement.go forceNewMap): the provider replaces.
        (AGENT_POOL, "cluster-production-pool-user", "vmSize", "Standard_D2s_v5", "replace"),
        # A path parameter (diff.go): the resource's own name.
        ("azure-native:keyvault:Vault", "key-vault", "vaultName", "kv-other", "replace"),
        (
            "azure-native:containerservice:ManagedCluster",
            "cluster-staging",
            "networkProfile.podCidr",
            "10.1.0.0/16",
            "replace",
        ),
        (
            "azure-native:authorization:RoleAssignment",
            "",
            "principalId",
            "00000000-0000-0000-0000-000000000000",
            "replace",
        ),
        # A child's path parameter: a namespace of another name is another namespace.
        ("azure-native:containerservice:ManagedNamespace", "", "managedNamespaceName", "renamed", "replace"),
        # The templates' release ref is cut anew from another branch.
        ("azuredevops:index/gitRepositoryBranch:GitRepositoryBranch", "", "refBranch", "develop", "replace"),
        # In place: tags, autoscaler bounds, a cluster's tier.
        (AGENT_POOL, "cluster-production-pool-user", "maxCount", 30, "update"),
        ("azure-native:containerservice:ManagedCluster", "cluster-staging", "sku.tier", "Premium", "update"),
    ],
)
def test_the_provider_replace_rules_decide_the_op(prod: Capture, case: tuple[str, str, str, Any, str]) -> None:
    token, named, path, value, op = case
    entries = [e for e in _inventory(prod) if e["type"] == token and named in e["name"]]
    before = entries[0]
    (change,) = offline_diff.diff([before], [_with(before, path, value)])
    assert change.op == op
    assert change.properties == (path.replace(".0.", "[0]."),)


def test_without_its_table_entry_a_force_new_property_would_be_reported_as_an_update(
    prod: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _one(prod, AGENT_POOL, "cluster-production-pool-user")
    monkeypatch.setitem(offline_diff.REPLACE_ON_CHANGE, AGENT_POOL, ("agentPoolName",))
    (change,) = offline_diff.diff([before], [_with(before, "vmSize", "Standard_D2s_v5")])
    assert change.op == "update"


def test_a_system_pool_vm_size_change_is_an_update_azure_refuses(prod: Capture) -> None:
    before = _one(prod, CLUSTER, "cluster-production")
    (change,) = offline_diff.diff([before], [_with(before, "agentPoolProfiles.0.vmSize", "Standard_D8s_v5")])
    assert change.op == "update"
    assert change.properties == change.azure_refuses == ("agentPoolProfiles[0].vmSize",)
    assert change.as_json()["azureRefuses"] == ["agentPoolProfiles[0].vmSize"]


def test_changed_paths_name_leaves_and_added_or_removed_entries() -> None:
    old = {"a": {"b": 1, "c": [1, 2]}, "gone": True}
    new = {"a": {"b": 2, "c": [1, 2, 3]}, "new": True}
    assert list(offline_diff.changed_paths(old, new)) == ["a.b", "a.c[2]", "gone", "new"]
    assert list(offline_diff.changed_paths(old, copy.deepcopy(old))) == []


def test_previous_writes_changes_json_and_a_changes_section(resized_preview: tuple[Path, PreviewRun]) -> None:
    out, run = resized_preview
    assert run.code == 0
    written = json.loads((out / "changes.json").read_text())
    assert sorted(change["op"] for change in written) == ["create", "delete"]
    assert all(set(change) == {"urn", "type", "op", "properties"} for change in written)
    summary = (out / "summary.md").read_text()
    assert "## Changes" in summary
    assert "1 to create, 1 to delete" in summary


def test_a_missing_previous_inventory_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    run = offline_preview_run("--stack", "dev", "--out", str(out), "--previous", str(tmp_path / "nowhere"))
    assert (run.code, run.capture) == (2, None)
    assert "resources.json" in capsys.readouterr().err
    assert not out.exists()


def test_a_previous_file_that_is_not_an_inventory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "resources.json").write_text(json.dumps({"urn": "not a list"}))
    with pytest.raises(ValueError, match="not an inventory"):
        offline_diff.load_previous(tmp_path)
