"""Offline preview: run the stack's program under Pulumi's mock engine and write its inventory.

    python -m tools.offline_preview [--program estate|bootstrap] --stack <stack> [--config-file PATH] [--out DIR]
        [--previous DIR]

Writes DIR/resources.json, outputs.json, summary.md and the diagram (default DIR: out/<stack>, out/bootstrap-<stack>
for the bootstrap program), runs the policy pack and, for the estate, the run-time link checks (tools/link_checks.py)
over the inventory, and prints a summary. Invalid config exits 2 with one message naming the key, the value and the
rule; nothing is registered and nothing is written. A mandatory policy violation exits 3 after writing the files,
as `pulumi preview --policy-pack policy` would fail; so does a link check's finding, a link the first real run would
find broken or open.
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

from components.config import ConfigError
from components.config_messages import NAMESPACE
from policy import offline as policy_offline
from policy.rules import POLICIES
from tools import capture, cost_overview, diagram, link_checks, network_paths, offline_diff

MANUAL_STEPS = {
    "azure-native:security:SecurityConnector": "Authorize the Defender for DevOps connector once in the portal: "
    "Defender for Cloud > Environment settings > the Azure DevOps connector > Authorize.",
    # Only for a public vault that denies by default (render_summary drops it otherwise).
    "azure-native:keyvault:Vault": "Where a public vault's firewall denies by default, list the agents' public "
    "egress in `keyVaultAllowedIpRanges` (an organisation pool's `agentPoolEgressRanges`, or the stack's own pool's "
    "NAT gateway address): CI reads its secrets from the agents, and the table below says whether the vault lets "
    "them in.",
    # Only a stack that names an existing organisation pool (`agentPool`) gets a Queue; the stack's own Managed DevOps
    # Pool creates its queue itself.
    "azuredevops:index/queue:Queue": "Create the organisation agent pool named in `agentPool` (self-hosted, "
    "auto-provisioning off) before `pulumi up`: the stack looks it up by name and gives the project its queue.",
    "azure-native:devopsinfrastructure:Pool": "Once per subscription, before the first `pulumi up`: register the "
    "resource providers the Managed DevOps Pool needs (`az provider register --namespace "
    "Microsoft.DevOpsInfrastructure` and `--namespace Microsoft.DevCenter`); the identity running `pulumi up` creates "
    "the pool's agent pool in the organisation, so it needs agent pool Administrator at organisation level "
    "(Organization settings > Agent pools > Security).",
    "azuredevops:index/checkApproval:CheckApproval": "Make sure every production approver is a member of the Azure "
    "DevOps organisation.",
    # Only while a cluster runs the internal ingress controller, the one object the estate writes through an API
    # server (its provider is the only Kubernetes provider): otherwise the deploy identity needs no Kubernetes role.
    "pulumi:providers:kubernetes": "Add this stack's deploy identity (deploy-<stack>) to the Entra ID group the "
    "stack names in `aks-estate:adminGroupObjectIds`, a group of its own per stack (its members are cluster admins of "
    "every cluster naming it): the stack writes the internal ingress controller through the API server, and Entra "
    "group membership is outside what this program manages.",
}

# Azure refuses a pool with encryption at host until the subscription has the feature
# (learn.microsoft.com/azure/aks/enable-host-encryption, "Prerequisites").
ENCRYPTION_AT_HOST_STEP = (
    "Register the subscription's encryption-at-host feature once before `pulumi up`: `az feature register "
    "--namespace Microsoft.Compute --name EncryptionAtHost`, wait for `Registered`, then `az provider register "
    "--namespace Microsoft.Compute`."
)


@dataclass(frozen=True)
class Program:
    """A Pulumi program of this repository: its entry point, its project (config namespace) and top component."""

    main: Path
    project: str
    top_component: str
    out_prefix: str
    # The link checks follow the estate's pipelines to its clusters, registries and vault; the bootstrap has none.
    link_checks: bool

    def run_stack(self, stack: str) -> capture.Capture:
        """The program under the mock engine with its committed stack file `Pulumi.<stack>.yaml`."""
        config, secret_keys = capture.load_stack_config(self.main.parent / f"Pulumi.{stack}.yaml")
        return capture.run(stack, config, secret_keys, self.main, project=self.project)


PROGRAMS = {
    "estate": Program(capture.ROOT / "__main__.py", NAMESPACE, "aks-estate:estate:Estate", "", link_checks=True),
    "bootstrap": Program(
        capture.ROOT / "bootstrap" / "__main__.py",
        "aks-estate-bootstrap",
        "aks-estate:bootstrap:Bootstrap",
        "bootstrap-",
        link_checks=False,
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


def service_of(registration: capture.Registration, services: frozenset[str]) -> str | None:
    """The service a resource exists for: the one named by the run of hyphen-separated words that ends last in its
    logical name, the longer on a tie (per-service names end `-<service>` or `-<service>-<role>`, so the service beats
    a stage or component word before it, and `orders-api` beats `api`)."""
    words = registration.name.split("-")
    runs = (
        (stop, stop - start, "-".join(words[start:stop]))
        for start in range(len(words))
        for stop in range(start + 1, len(words) + 1)
    )
    matches = [run for run in runs if run[2] in services]
    return max(matches)[2] if matches else None


def removal_effects(result: capture.Capture) -> dict[str, dict[str, collections.Counter[str]]]:
    """Per service, what `pulumi up` would do to its resources once the service leaves the config, read from each
    resource's lifecycle options: protected ones stop the update, retained ones leave the stack but stay in place."""
    services = sorted(result.outputs.get("repositoryUrls") or {})
    known = frozenset(services)
    effects: dict[str, dict[str, collections.Counter[str]]] = {
        service: {outcome: collections.Counter() for outcome in ("protected", "retained", "deleted")}
        for service in services
    }
    for registration in result.resources:
        service = service_of(registration, known) if registration.custom else None
        if service is None:
            continue
        # A protected resource fails any step that would delete it ("cannot be deleted because it is protected"),
        # retained or not (Pulumi docs, resource options `protect` and `retainOnDelete`).
        if registration.protect:
            outcome = "protected"
        elif registration.retain_on_delete:
            outcome = "retained"
        else:
            outcome = "deleted"
        effects[service][outcome][registration.type] += 1
    return effects


def _removal_lines(result: capture.Capture) -> list[str]:
    lines = [
        "## Removing a service from config",
        "",
        "What the next `pulumi up` would do to a service's resources once its entry leaves `aks-estate:services`, "
        "read from each resource's `protect` and `retainOnDelete` in `resources.json`.",
        "",
    ]
    wording = {
        "protected": "Refused: the update stops until `pulumi state unprotect`",
        "retained": "Left in place (the stack lets go, they stay where they are)",
        "deleted": "Deleted",
    }
    for service, outcomes in removal_effects(result).items():
        lines.append(f"- `{service}`:")
        for outcome, counts in outcomes.items():
            if counts:
                listed = ", ".join(f"{count} `{token}`" for token, count in sorted(counts.items()))
                lines.append(f"  - {wording[outcome]}: {listed}")
    return [*lines, ""]


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
    # The firewall step concerns a public vault that denies by default; a dev vault opened to hosted agents needs no
    # list, nor does a private one (no public endpoint: the agents reach it through its private endpoint).
    if not any(
        _lookup(r.inputs, "properties", "networkAcls", "defaultAction") == "Deny"
        and _lookup(r.inputs, "properties", "publicNetworkAccess") != "Disabled"
        for r in custom
    ):
        present.discard("azure-native:keyvault:Vault")
    steps = [step for token, step in MANUAL_STEPS.items() if token in present]
    pools = [p for r in custom for p in [r.inputs, *(r.inputs.get("agentPoolProfiles") or [])] if isinstance(p, dict)]
    if any(pool.get("enableEncryptionAtHost") for pool in pools):
        steps.append(ENCRYPTION_AT_HOST_STEP)
    lines.extend(f"- {step}" for step in steps)
    lines.extend(["", *_removal_lines(result), "## Policy pack", ""])
    if not violations:
        lines.append(f"All {len(POLICIES)} mandatory rules of `policy/` pass.")
    else:
        lines.extend(f"- **{v.policy}**: {v.message} ({v.urn or 'stack'})" for v in violations)
    lines.extend(["", *network_paths.section(result)])
    return "\n".join(lines) + "\n"


def _print_table(result: capture.Capture, heading: str) -> None:
    table = summary_table(result)
    width = max(len(component) for component, _, _ in table)
    components = sum(1 for r in result.resources if not r.custom)
    print(heading)
    for component, token, count in table:
        print(f"  {component:<{width}}  {count:4d}  {token}")
    print(f"  + {sum(count for _, _, count in table)} to create ({components} components)")


def _print_link_checks(links: link_checks.Results) -> int:
    """Prints the link checks' outcome, the findings to stderr; returns how many there are."""
    broken = [(check, finding) for check, findings in links for finding in findings]
    if links:
        print(f"link checks: {len(links)} checks, {len(broken)} findings")
    for check, finding in broken:
        print(f"  {check.name}: {finding}", file=sys.stderr)
    return len(broken)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.offline_preview", description=__doc__.splitlines()[0])
    parser.add_argument("--program", choices=sorted(PROGRAMS), default="estate", help="which program (default estate)")
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.<stack>.yaml unless --config-file")
    parser.add_argument("--config-file", type=Path, help="stack config file to use instead of Pulumi.<stack>.yaml")
    parser.add_argument("--out", type=Path, help="output folder (default out/<stack>)")
    parser.add_argument("--previous", type=Path, help="an earlier run's folder: write changes.json against it")
    parser.add_argument(
        "--unknowns",
        action="store_true",
        help="run as `pulumi preview` of a new stack: computed outputs unknown, shown as [unknown] in resources.json",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        previous = offline_diff.load_previous(args.previous) if args.previous else None
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    program = PROGRAMS[args.program]
    config_file = args.config_file or program.main.parent / f"Pulumi.{args.stack}.yaml"
    if not config_file.is_file():
        print(f"error: no stack config at {config_file}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        config, secret_keys = capture.load_stack_config(config_file)
        print(
            f"running {program.main.relative_to(capture.ROOT)} for stack {args.stack!r} under the mock engine ...",
            flush=True,
        )
        progress = _progress() if sys.stderr.isatty() else None
        result = capture.run(
            args.stack,
            config,
            secret_keys,
            program.main,
            on_register=progress,
            project=program.project,
            preview=args.unknowns,
        )
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    if sys.stderr.isatty():
        print(file=sys.stderr)

    # A rule that reads a value only known after the update is advisory in `pulumi preview` (pulumi_policy/policy.py);
    # without --unknowns every value is known, with it those rules are listed as undecided.
    evaluated = policy_offline.evaluate(POLICIES, result.resources)
    violations = [v for v in evaluated if not v.unknown]
    undecided = sorted({v.policy for v in evaluated if v.unknown})
    out = args.out or capture.ROOT / "out" / f"{program.out_prefix}{args.stack}"
    out.mkdir(parents=True, exist_ok=True)
    inventory = [registration.as_json() for registration in result.resources]
    summary = render_summary(result, config_file.name, violations) + "\n" + cost_overview.render(inventory)
    # With --unknowns the outputs that name production (and the IDs grants are scoped to) are not known yet.
    links = link_checks.run(result) if program.link_checks and not args.unknowns else []
    if links:
        summary += "\n" + "\n".join(link_checks.section(links))
    if previous is not None:
        changes = offline_diff.diff(previous, inventory)
        _write(out / "changes.json", [change.as_json() for change in changes])
        summary += "\n" + offline_diff.render(changes, args.previous)
    _write(out / "resources.json", inventory)
    _write(out / "outputs.json", result.outputs)
    (out / "summary.md").write_text(summary)
    drawn = diagram.write(result, out)

    _print_table(result, f"offline preview of stack {args.stack!r} ({config_file.name}) in {elapsed:.1f} s")
    written = ["resources.json", "outputs.json", "summary.md", *(path.name for path in drawn)]
    written += ["changes.json"] if previous is not None else []
    print(f"wrote {', '.join(written)} to {out}")
    if len(drawn) == 1:
        print("  (install Graphviz, e.g. `apt-get install graphviz`, to render diagram.svg from diagram.dot)")
    print(f"policy pack: {len(POLICIES)} mandatory rules, {len(violations)} violations")
    if undecided:
        print(f"  undecided at preview (advisory; enforced by `pulumi up`): {', '.join(undecided)}")
    for violation in violations:
        print(f"  {violation.policy}: {violation.message} ({violation.urn or 'stack'})", file=sys.stderr)
    broken = _print_link_checks(links)
    return 3 if violations or broken else 0


if __name__ == "__main__":
    sys.exit(main())
