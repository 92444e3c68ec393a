"""Onboarding at scale: with N services the estate holds N repositories, 3N pipelines and 2N namespaces (plus the
templates and starter repositories and the templates' validation pipeline), and onboarding one more service changes
no existing resource's URN, inputs or dependencies.

    python -m benchmarks.scale_check [--services N]
"""

from __future__ import annotations

import argparse
import collections
import sys
from dataclasses import dataclass

from benchmarks.measure import STACK, with_services
from tools import capture

COUNTED = {
    "repositories": "azuredevops:index/git:Git",
    "pipeline definitions": "azuredevops:index/buildDefinition:BuildDefinition",
    "namespaces": "azure-native:containerservice:ManagedNamespace",
}
EXPECTED_PER_SERVICE = {"repositories": 1, "pipeline definitions": 3, "namespaces": 2}
# The estate's own: the templates and starter repositories, and the templates' build validation.
EXPECTED_FIXED = {"repositories": 2, "pipeline definitions": 1, "namespaces": 0}


@dataclass(frozen=True)
class ScaleCheck:
    services: int
    counts: dict[str, int]
    changed: list[str]

    @property
    def passed(self) -> bool:
        expected = {what: per * self.services + EXPECTED_FIXED[what] for what, per in EXPECTED_PER_SERVICE.items()}
        return self.counts == expected and not self.changed


def check(services: int) -> ScaleCheck:
    config, secret_keys = capture.load_stack_config(capture.ROOT / f"Pulumi.{STACK}.yaml")
    before = capture.run(STACK, with_services(config, services), secret_keys)
    after = {r.urn: r for r in capture.run(STACK, with_services(config, services + 1), secret_keys).resources}
    by_type = collections.Counter(r.type for r in before.resources)
    changed = [
        r.urn
        for r in before.resources
        if r.urn not in after or (after[r.urn].inputs, after[r.urn].dependencies) != (r.inputs, r.dependencies)
    ]
    return ScaleCheck(services, {what: by_type[token] for what, token in COUNTED.items()}, changed)


def report(result: ScaleCheck) -> str:
    counts = ", ".join(f"{count} {what}" for what, count in result.counts.items())
    verdict = "pass" if result.passed else "MISS"
    lines = [
        f"{result.services} services: {counts}; adding service {result.services + 1} changed "
        f"{len(result.changed)} existing resources: {verdict}"
    ]
    lines.extend(f"  changed: {urn}" for urn in result.changed[:20])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_check", description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=30)
    args = parser.parse_args(argv)
    result = check(args.services)
    print(report(result))
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
