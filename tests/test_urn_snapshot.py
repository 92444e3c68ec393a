"""Both stacks and the bootstrap keep the URNs committed in tests/snapshots/, or declare an alias for each one they
move."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tools import capture, urn_snapshot
from tools.capture import Alias, Capture, Registration
from tools.urn_snapshot import Urn, compare

CLUSTER_COMPONENT = "aks-estate:containers:Cluster"


@pytest.mark.parametrize("label", urn_snapshot.SNAPSHOTTED)
def test_the_program_keeps_every_snapshot_urn_and_adds_none(
    label: str, dev: Capture, prod: Capture, boot: Capture
) -> None:
    current = {"dev": dev, "prod": prod, "bootstrap": boot}[label]
    assert compare(urn_snapshot.read(label), current).problems() == []


@dataclasses.dataclass(frozen=True)
class Edit:
    name: str | None = None
    type: str | None = None
    aliases: tuple[Alias, ...] = ()


def mock_urn(parent: str, type_: str, name: str, project: str, stack: str) -> str:
    # The mock monitor's URN (pulumi/runtime/mocks.py, MockMonitor.make_urn): the parent's last type only.
    qualified = f"{Urn.parse(parent).type}${type_}" if parent else type_
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def rebuild(original: Capture, edits: dict[str, Edit]) -> Capture:
    """A copy of the capture as the program would register it after renaming or retyping the resources in `edits`
    (by current name): their URNs and those of everything under them follow, as the mock monitor computes them."""
    renamed: dict[str, str] = {}
    resources: list[Registration] = []
    for resource in urn_snapshot._parents_first(original.resources):
        edit = edits.get(resource.name, Edit())
        parent = renamed.get(resource.parent or "", resource.parent)
        own = Urn.parse(resource.urn)
        name, type_ = edit.name or resource.name, edit.type or resource.type
        urn = mock_urn(parent or "", type_, name, own.project, own.stack)
        renamed[resource.urn] = urn
        resources.append(
            dataclasses.replace(resource, urn=urn, name=name, type=type_, parent=parent, aliases=edit.aliases)
        )
    return Capture(stack=original.stack, resources=resources, outputs=original.outputs)


def engine_urn(estate: Capture, name: str) -> str:
    return next(goal.urn for goal in urn_snapshot.goals(estate) if goal.name == name)


def leaf(estate: Capture, token: str) -> Registration:
    parents = {r.parent for r in estate.resources}
    return next(r for r in estate.of_type(token) if r.urn not in parents)


def test_the_copies_below_are_registered_as_the_mock_monitor_registers(prod: Capture) -> None:
    assert [r.urn for r in rebuild(prod, {}).resources] == [r.urn for r in urn_snapshot._parents_first(prod.resources)]


def test_snapshot_urns_are_the_engines_full_parent_chain_without_the_root_stack(prod: Capture) -> None:
    # pulumi/pulumi pkg/resource/deploy/deployment.go, generateURN: the parent's whole qualified type, except the stack.
    assert engine_urn(prod, "estate-cluster-production-aks") == (
        "urn:pulumi:prod::aks-estate::aks-estate:estate:Estate$aks-estate:containers:Cluster"
        "$azure-native:containerservice:ManagedCluster::estate-cluster-production-aks"
    )
    assert engine_urn(prod, "estate") == "urn:pulumi:prod::aks-estate::aks-estate:estate:Estate::estate"


def test_renaming_a_child_without_an_alias_fails(prod: Capture) -> None:
    child = leaf(prod, "azure-native:containerservice:ManagedCluster")
    old = engine_urn(prod, child.name)
    moved = rebuild(prod, {child.name: Edit(name=f"{child.name}-renamed")})
    result = compare(urn_snapshot.read("prod"), moved)
    assert result.missing == (old,)
    assert result.new == (f"{old}-renamed",)
    assert f"{old} disappeared with no alias declared for it" in result.problems()[0]
    assert "run `python -m tools.urn_snapshot --write` and commit" in result.problems()[1]


@pytest.mark.parametrize("by_urn", [False, True], ids=["alias by name", "alias by whole URN"])
def test_renaming_a_child_with_an_alias_passes(prod: Capture, by_urn: bool) -> None:
    child = leaf(prod, "azure-native:containerservice:ManagedCluster")
    old = engine_urn(prod, child.name)
    declared = Alias(urn=old) if by_urn else Alias(name=child.name)
    moved = rebuild(prod, {child.name: Edit(name=f"{child.name}-renamed", aliases=(declared,))})
    result = compare(urn_snapshot.read("prod"), moved)
    assert result.problems() == []
    assert result.moved == ((old, f"{old}-renamed"),)


def test_the_bootstraps_role_assignments_are_held_to_their_component_type(boot: Capture) -> None:
    # The mistake a refactor nearly made: the bootstrap's grants under the estate's RoleGrants token would move every
    # IaC role assignment's URN.
    (access,) = boot.of_type("aks-estate:bootstrap:IacAccess")
    under = [r.name for r in boot.resources if r.parent == access.urn]
    assert under
    retyped = rebuild(boot, {access.name: Edit(type="aks-estate:identity:RoleGrants")})
    result = compare(urn_snapshot.read("bootstrap"), retyped)
    assert set(result.missing) == {engine_urn(boot, name) for name in [access.name, *under]}


def test_retyping_a_component_moves_everything_under_it_and_one_alias_on_it_carries_them(prod: Capture) -> None:
    component = prod.named("estate-cluster-production")
    assert component.type == CLUSTER_COMPONENT
    under = [r.name for r in prod.resources if r.parent == component.urn]
    assert under
    retyped = Edit(type="aks-estate:clusters:Cluster")
    unaliased = compare(urn_snapshot.read("prod"), rebuild(prod, {component.name: retyped}))
    assert set(unaliased.missing) == {engine_urn(prod, name) for name in [component.name, *under]}
    aliased = Edit(type=retyped.type, aliases=(Alias(type=CLUSTER_COMPONENT),))
    assert compare(urn_snapshot.read("prod"), rebuild(prod, {component.name: aliased})).problems() == []


def test_moving_the_parent_of_a_parent_moves_the_grandchildren(prod: Capture) -> None:
    # The engine keeps the whole parent chain in a URN; the mock monitor keeps only the last type and would miss this.
    grandchild = engine_urn(prod, "estate-cluster-production-aks")
    result = compare(urn_snapshot.read("prod"), rebuild(prod, {"estate": Edit(type="aks-estate:estate:Estate2")}))
    assert grandchild in result.missing


def test_an_alias_to_a_urn_that_never_existed_does_not_hide_the_move(prod: Capture) -> None:
    child = leaf(prod, "azure-native:containerservice:ManagedCluster")
    wrong = Edit(name=f"{child.name}-renamed", aliases=(Alias(name="never-was"),))
    assert compare(urn_snapshot.read("prod"), rebuild(prod, {child.name: wrong})).missing == (
        engine_urn(prod, child.name),
    )


PROGRAM = """\
import pulumi


class Box(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("test:index:Box", name, None, opts)
        pulumi.ComponentResource("test:index:Part", f"{name}-part", None, pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


Box(NAME, pulumi.ResourceOptions(aliases=ALIASES))
"""


def _program(tmp_path: Path, name: str, aliases: str) -> Capture:
    path = tmp_path / f"{name}-{len(aliases)}.py"
    path.write_text(PROGRAM.replace("NAME", repr(name)).replace("ALIASES", aliases))
    return capture.run("dev", {}, [], program=path)


def test_the_capture_records_the_aliases_the_sdk_sends(tmp_path: Path) -> None:
    # End to end through the real SDK: a component renamed with `aliases=[Alias(name=...)]`; its child, named after it,
    # follows by the engine's inherited alias.
    before = [goal.urn for goal in urn_snapshot.goals(_program(tmp_path, "box", "[]"))]
    renamed = _program(tmp_path, "crate", '[pulumi.Alias(name="box")]')
    assert renamed.named("crate").aliases == (Alias(name="box"),)
    result = compare(before, renamed)
    assert result.problems() == []
    assert sorted(Urn.parse(old).name for old, _ in result.moved) == ["box", "box-part"]
    assert compare(before, _program(tmp_path, "crate", "[]")).missing == tuple(
        sorted(urn for urn in before if "::box" in urn)
    )


def test_write_stores_the_sorted_urns_one_a_line(dev: Capture, tmp_path: Path) -> None:
    path = urn_snapshot.write("dev", dev, tmp_path)
    assert path.name == "urns-dev.txt"
    assert path.read_text().splitlines() == sorted(goal.urn for goal in urn_snapshot.goals(dev))
    assert urn_snapshot.read("dev", tmp_path) == path.read_text().splitlines()
