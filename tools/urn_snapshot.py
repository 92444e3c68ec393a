"""The committed URNs of both stacks and of the bootstrap, so that a change which would make the engine replace a
resource fails first.

A URN is a resource's identity in the state: when it changes, `pulumi up` deletes the old resource and creates a new one
(for a cluster or a vault, data lost) unless the resource declares an alias for its old URN. `compare` finds, for every
URN in the snapshot, the resource that now claims it, as the engine would: by the same URN, else by one of the
resource's aliases, resolved the way pulumi/pulumi's step generator does (pkg/resource/deploy/step_generator.go,
`generateAliases`, `collapseAliasToUrn`, `inheritedChildAlias`: an alias spec's empty fields mean "as now", a root stack
parent means no parent, and a child inherits its parent's matched alias).

The snapshot holds URNs as the engine assigns them (pkg/resource/deploy/deployment.go, `generateURN`: the parent's full
qualified type, none for the root stack), computed from each registration's type, name and parent. The mock monitor's
own URNs keep only the parent's last type and include the root stack (pulumi/runtime/mocks.py, `make_urn`), so they
would hide a move of a grandparent.

    python -m tools.urn_snapshot            # compare dev, prod, bootstrap with tests/snapshots/; exit 1 on a difference
    python -m tools.urn_snapshot --write    # rewrite tests/snapshots/urns-<label>.txt from the programs as they are
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.capture import ROOT, Alias, Capture, Registration
from tools.offline_preview import PROGRAMS

# Label -> (program, stack) of every snapshot: the estate's two stacks and the bootstrap's one (its IaC repository,
# state account and vault are as much a user's as anything the estate holds).
SNAPSHOTTED = {"dev": ("estate", "dev"), "prod": ("estate", "prod"), "bootstrap": ("bootstrap", "main")}
SNAPSHOTS = ROOT / "tests" / "snapshots"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
WRITE_COMMAND = "python -m tools.urn_snapshot --write"


@dataclass(frozen=True)
class Urn:
    stack: str
    project: str
    qualified_type: str
    name: str

    @staticmethod
    def parse(urn: str) -> Urn:
        stack, project, qualified_type, name = urn.removeprefix("urn:pulumi:").split("::", 3)
        return Urn(stack, project, qualified_type, name)

    @property
    def type(self) -> str:
        return self.qualified_type.rsplit("$", 1)[-1]


def create_urn(name: str, type_: str, parent: str, project: str, stack: str) -> str:
    qualified_type = f"{Urn.parse(parent).qualified_type}${type_}" if parent else type_
    return f"urn:pulumi:{stack}::{project}::{qualified_type}::{name}"


@dataclass(frozen=True)
class Goal:
    """A registration in the engine's terms: its URN, and its parent's, as the engine computes them."""

    urn: str
    type: str
    name: str
    parent: str
    aliases: tuple[Alias, ...]


def _parents_first(resources: Sequence[Registration]) -> list[Registration]:
    by_urn = {resource.urn: resource for resource in resources}

    def depth(resource: Registration) -> int:
        parent = by_urn.get(resource.parent or "")
        return 0 if parent is None else 1 + depth(parent)

    return sorted(resources, key=lambda resource: (depth(resource), resource.urn))


def goals(capture: Capture) -> list[Goal]:
    """Every registration with its engine URN, parents before children (the order the engine matches aliases in)."""
    engine: dict[str, str] = {}
    found: list[Goal] = []
    for resource in _parents_first(capture.resources):
        own = Urn.parse(resource.urn)
        parent = engine.get(resource.parent or "", "")
        in_urn = "" if not parent or Urn.parse(parent).type == ROOT_STACK_TYPE else parent
        engine[resource.urn] = create_urn(resource.name, resource.type, in_urn, own.project, own.stack)
        # An alias naming a parent carries the URN the mock monitor gave that parent.
        aliases = tuple(
            dataclasses.replace(alias, parent=engine.get(alias.parent, alias.parent)) for alias in resource.aliases
        )
        found.append(Goal(engine[resource.urn], resource.type, resource.name, parent, aliases))
    return found


def _collapse(goal: Goal, alias: Alias, matched: dict[str, str]) -> str:
    if alias.urn:
        return alias.urn
    own = Urn.parse(goal.urn)
    parent = matched.get(alias.parent, alias.parent) if alias.parent else goal.parent
    if alias.no_parent or (parent and Urn.parse(parent).type == ROOT_STACK_TYPE):
        parent = ""
    return create_urn(
        alias.name or goal.name, alias.type or goal.type, parent, alias.project or own.project, alias.stack or own.stack
    )


def _inherited(child_type: str, child_name: str, parent: str, parent_alias: str) -> str:
    # A child named after its parent ("<parent>-details") follows the parent's rename.
    now, old = Urn.parse(parent), Urn.parse(parent_alias)
    name = old.name + child_name.removeprefix(now.name) if child_name.startswith(now.name) else child_name
    return f"urn:pulumi:{now.stack}::{now.project}::{old.qualified_type}${child_type}::{name}"


def candidates(goal: Goal, matched: dict[str, str]) -> list[str]:
    """The goal's URN, then every old URN its aliases (and its parent's matched alias) stand for."""
    own = [_collapse(goal, alias, matched) for alias in goal.aliases]
    found = [goal.urn, *own]
    if goal.parent in matched:
        parent_alias = matched[goal.parent]
        found.append(_inherited(goal.type, goal.name, goal.parent, parent_alias))
        found += [_inherited(Urn.parse(urn).type, Urn.parse(urn).name, goal.parent, parent_alias) for urn in own]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Comparison:
    missing: tuple[str, ...]  # in the snapshot, claimed by no resource: the engine would delete it
    new: tuple[str, ...]  # claimed by no snapshot URN: the engine would create it
    moved: tuple[tuple[str, str], ...]  # (snapshot URN, current URN) joined by an alias

    def problems(self) -> list[str]:
        found = [f"{urn} disappeared with no alias declared for it; the engine would delete it" for urn in self.missing]
        found += [f"{urn} is not in the snapshot: run `{WRITE_COMMAND}` and commit" for urn in self.new]
        return found


def compare(snapshot: Iterable[str], capture: Capture) -> Comparison:
    remaining = set(snapshot)
    matched: dict[str, str] = {}
    new: list[str] = []
    moved: list[tuple[str, str]] = []
    for goal in goals(capture):
        claimed = next((urn for urn in candidates(goal, matched) if urn in remaining), None)
        if claimed is None:
            new.append(goal.urn)
            continue
        remaining.discard(claimed)
        if claimed != goal.urn:
            matched[goal.urn] = claimed
            moved.append((claimed, goal.urn))
    return Comparison(tuple(sorted(remaining)), tuple(sorted(new)), tuple(sorted(moved)))


def snapshot_path(label: str, directory: Path = SNAPSHOTS) -> Path:
    return directory / f"urns-{label}.txt"


def read(label: str, directory: Path = SNAPSHOTS) -> list[str]:
    return snapshot_path(label, directory).read_text().splitlines()


def write(label: str, capture: Capture, directory: Path = SNAPSHOTS) -> Path:
    path = snapshot_path(label, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{urn}\n" for urn in sorted(goal.urn for goal in goals(capture))))
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.urn_snapshot", description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the snapshots from the stacks as they are")
    args = parser.parse_args(argv)
    failed = False
    for label, (program, stack) in SNAPSHOTTED.items():
        capture = PROGRAMS[program].run_stack(stack)
        if args.write:
            print(f"wrote {write(label, capture).relative_to(ROOT)} ({len(capture.resources)} URNs)")
            continue
        for problem in compare(read(label), capture).problems():
            failed = True
            print(f"{label}: {problem}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
