"""Offline preview: run the stack's program under Pulumi's mock engine and write its inventory.

    python -m tools.offline_preview [--program estate|bootstrap] --stack <stack> [--config-file PATH] [--out DIR]

Writes DIR/resources.json, outputs.json, summary.md and the diagram (default DIR: out/<stack>, out/bootstrap-<stack>
for the bootstrap program), runs the policy pack
over the inventory, and prints a summary. Invalid config exits 2 with one message naming the key, the value and the
rule; nothing is registered and nothing is written. A mandatory policy violation exits 3 after writing the files,
as `pulumi preview --policy-pack policy` would fail.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from components.config import NAMESPACE, ConfigError
from policy import offline as policy_offline
from policy.rules import POLICIES
from tools import capture, diagram

MANUAL_STEPS = {
    "azure-native:security:SecurityConnector": "Authorize the Defender for DevOps connector once in the portal: "
    "Defender for Cloud > Environment settings > the Azure DevOps connector > Authorize.",
    "azure-native:keyvault:Vault": "List the build agents' public egress ranges in `keyVaultAllowedIpRanges`: the "
    "vault firewall denies every other address, including the CI pipeline's.",
    "azuredevops:index/checkApproval:CheckApproval": "Make sure every production approver is a member of the Azure "
    "DevOps organisation.",
    "azuredevops:index/securityPermissions:SecurityPermissions": "Add each deploy identity (deploy-dev, deploy-prod) "
    "to the Entra ID group its stack names in `aks-estate:adminGroupObjectIds`: the estate creates Kubernetes objects "
    "through Azure RBAC for Kubernetes, and Entra group membership is outside what this program manages.",
}


@dataclass(frozen=True)
class Program:
    """A Pulumi program of this repository: its entry point, its project (config namespace) and top component."""

    main: Path
    project: str
    top_component: str
    out_prefix: str


PROGRAMS = {
    "estate": Program(capture.ROOT / "__main__.py", NAMESPACE, "aks-estate:estate:Estate", ""),
    "bootstrap": Program(
        capture.ROOT / "bootstrap" / "__main__.py",
        "aks-estate-bootstrap",
        "aks-estate:bootstrap:Bootstrap",
        "bootstrap-",
    ),
}
TOP_COMPONENTS = {program.top_component for program in PROGRAMS.values()}


def _progress() -> Callable[[capture.Registration], None]:
    """A one-line counter on the terminal: the count and the last resource type registered."""
    count = 0

    def show(registration: capture.Registration) -> None:
        nonlocal count
        count += 1
        print(f"\r  {count:5d} registered  {registration.type[:70]:<70}", end="", file=sys.stderr, flush=True)

    return show


def _write(path: Path, document: object) -> None:
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")


def _component_of(result: capture.Capture, registration: capture.Registration) -> str:
    """The estate's direct child that a resource belongs to: the part of the architecture it implements."""
    current = registration
    while current.parent:
        parent = result.by_urn(current.parent)
        if parent.type in TOP_COMPONENTS:
            return current.type if not current.custom else "(estate)"
        current = parent
    return "(stack)"


def summary_table(result: capture.Capture) -> list[tuple[str, str, int]]:
    counts = collections.Counter((_component_of(result, r), r.type) for r in result.resources if r.custom)
    return sorted((component, token, count) for (component, token), count in counts.items())


def _lookup(document: object, *path: str) -> object:
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return document


def render_summary(result: capture.Capture, config_name: str, violations: list[policy_offline.Violation]) -> str:
    custom = [r for r in result.resources if r.custom]
    lines = [
        f"# Offline preview of stack `{result.stack}`",
        "",
        f"From `{config_name}`, under Pulumi's mock engine: {len(custom)} resources to create.",
        "",
        "## What the estate contains",
        "",
        "| Component | Resource type | Count |",
        "| --- | --- | ---: |",
        *(f"| `{component}` | `{token}` | {count} |" for component, token, count in summary_table(result)),
        "",
        "## Stack outputs",
        "",
        "```json",
        json.dumps(result.outputs, indent=2),
        "```",
        "",
        "## Manual steps that remain",
        "",
    ]
    present = {r.type for r in custom}
    # The firewall step concerns a vault that denies by default; a dev vault opened to hosted agents needs no list.
    if not any(_lookup(r.inputs, "properties", "networkAcls", "defaultAction") == "Deny" for r in custom):
        present.discard("azure-native:keyvault:Vault")
    steps = [step for token, step in MANUAL_STEPS.items() if token in present]
    lines.extend(f"- {step}" for step in steps)
    lines.extend(["", "## Policy pack", ""])
    if not violations:
        lines.append(f"All {len(POLICIES)} mandatory rules of `policy/` pass.")
    else:
        lines.extend(f"- **{v.policy}**: {v.message} ({v.urn or 'stack'})" for v in violations)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.offline_preview", description=__doc__.splitlines()[0])
    parser.add_argument("--program", choices=sorted(PROGRAMS), default="estate", help="which program (default estate)")
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml unless --config-file")
    parser.add_argument("--config-file", type=Path, help="stack config file to use instead of Pulumi.<stack>.yaml")
    parser.add_argument("--out", type=Path, help="output folder (default out/<stack>)")
    args = parser.parse_args(argv)

    program = PROGRAMS[args.program]
    config_file = args.config_file or program.main.parent / f"Pulumi.{args.stack}.yaml"
    if not config_file.is_file():
        print(f"error: no stack config at {config_file}", file=sys.stderr)
        return 2
    config, secret_keys = capture.load_stack_config(config_file)
    print(
        f"running {program.main.relative_to(capture.ROOT)} for stack {args.stack!r} under the mock engine ...",
        flush=True,
    )
    started = time.perf_counter()
    try:
        result = capture.run(
            args.stack,
            config,
            secret_keys,
            program.main,
            on_register=_progress() if sys.stderr.isatty() else None,
            project=program.project,
        )
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    if sys.stderr.isatty():
        print(file=sys.stderr)

    # Values only known after a real update are advisory in `pulumi preview`; offline every value is known.
    violations = [v for v in policy_offline.evaluate(POLICIES, result.resources) if not v.unknown]
    out = args.out or capture.ROOT / "out" / f"{program.out_prefix}{args.stack}"
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "resources.json", [registration.as_json() for registration in result.resources])
    _write(out / "outputs.json", result.outputs)
    (out / "summary.md").write_text(render_summary(result, config_file.name, violations))
    drawn = diagram.write(result, out)

    table = summary_table(result)
    width = max(len(component) for component, _, _ in table)
    components = sum(1 for r in result.resources if not r.custom)
    print(f"offline preview of stack {args.stack!r} ({config_file.name}) in {elapsed:.1f} s")
    for component, token, count in table:
        print(f"  {component:<{width}}  {count:4d}  {token}")
    print(f"  + {sum(count for _, _, count in table)} to create ({components} components)")
    written = ["resources.json", "outputs.json", "summary.md", *(path.name for path in drawn)]
    print(f"wrote {', '.join(written)} to {out}")
    if len(drawn) == 1:
        print("  (install Graphviz, e.g. `apt-get install graphviz`, to render diagram.svg from diagram.dot)")
    print(f"policy pack: {len(POLICIES)} mandatory rules, {len(violations)} violations")
    for violation in violations:
        print(f"  {violation.policy}: {violation.message} ({violation.urn or 'stack'})", file=sys.stderr)
    return 3 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
