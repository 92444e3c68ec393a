"""Every mandatory rule under both modes: with every value known (the offline preview's default) and with the engine's
preview semantics (`--unknowns`: computed outputs of resources to be created are unknown, tools/capture.py). A rule
that reads an unknown value is advisory in `pulumi preview` (pulumi_policy/policy.py turns UnknownValueError into
"can't run policy during preview"), so the PR gate would pass it; such rules must be the documented apply-time-only
ones, and every other rule must still catch its broken case at preview."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from policy import offline
from policy.rules import POLICIES
from tests.helpers import ROLE_ASSIGNMENT, WORKSPACE, PreviewRun, offline_preview_run, pick, synthetic
from tests.test_policy import BREAKS, BY_NAME, POLICY_DIR, Break, _apply, _break_id
from tools import capture
from tools.capture import Registration


def documented_apply_time_only(readme: str) -> frozenset[str]:
    section = re.search(r"<!-- apply-time-only -->(.*?)<!-- /apply-time-only -->", readme, re.DOTALL)
    assert section, "policy/README.md has no apply-time-only list"
    return frozenset(re.findall(r"^- `([a-z0-9-]+)`", section.group(1), re.MULTILINE))


APPLY_TIME_ONLY = documented_apply_time_only((POLICY_DIR / "README.md").read_text())


@pytest.fixture(scope="module")
def prod_preview(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PreviewRun]:
    """`offline_preview --stack prod --unknowns`: the files it wrote, and the run (the prod estate it judged)."""
    out = tmp_path_factory.mktemp("unknowns")
    return out, offline_preview_run("--stack", "prod", "--unknowns", "--out", str(out))


@pytest.fixture(scope="module")
def previews(prod_preview: tuple[Path, PreviewRun]) -> dict[str, list[Registration]]:
    prod = prod_preview[1].capture
    assert prod is not None, "the preview refused prod's config"
    config, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.dev.yaml")
    results = {"dev": capture.run("dev", config, secret_keys, preview=True), "prod": prod}
    return {stack: [*result.resources, *synthetic(stack)] for stack, result in results.items()}


def undecided(violations: list[offline.Violation]) -> set[str]:
    return {violation.policy for violation in violations if violation.unknown}


def test_the_preview_marks_computed_outputs_unknown(previews: dict[str, list[Registration]]) -> None:
    workspace = pick(previews["prod"], WORKSPACE)
    assert workspace.id == ""
    assert workspace.outputs["customerId"] == capture.UNKNOWN
    assignments = [r for r in previews["prod"] if r.type == ROLE_ASSIGNMENT]
    assert any(r.inputs["scope"] == capture.UNKNOWN for r in assignments)


def test_every_rule_decides_at_preview_except_the_documented_apply_time_only_ones(
    previews: dict[str, list[Registration]],
) -> None:
    found: set[str] = set()
    for stack, estate in previews.items():
        violations = offline.evaluate(POLICIES, estate)
        assert [v for v in violations if not v.unknown] == [], stack
        found |= undecided(violations)
    # Equal, not a subset: a rule that now decides at preview must leave the list, one that cannot must join it.
    assert found == APPLY_TIME_ONLY
    assert set(BY_NAME) >= APPLY_TIME_ONLY


def test_a_rule_undecided_at_preview_and_not_documented_is_reported(previews: dict[str, list[Registration]]) -> None:
    readme = (POLICY_DIR / "README.md").read_text()
    planted = readme.replace("- `alert-action-group`:", "- alert-action-group:")
    found = set().union(*(undecided(offline.evaluate(POLICIES, estate)) for estate in previews.values()))
    assert found != documented_apply_time_only(planted)


@pytest.mark.parametrize("case", BREAKS, ids=_break_id)
def test_each_broken_case_is_caught_under_preview_semantics_too(
    previews: dict[str, list[Registration]], case: Break
) -> None:
    _, violations = _apply(case, previews[case.stack])
    named = [v for v in violations if v.policy == case.policy]
    assert named, f"{case.policy} let {case.why} through at preview"
    if case.policy not in APPLY_TIME_ONLY:
        assert any(not v.unknown for v in named), f"{case.policy} cannot decide {case.why} at preview"


def test_the_offline_preview_with_unknowns_exits_0_and_marks_unknown_values(
    prod_preview: tuple[Path, PreviewRun],
) -> None:
    out, run = prod_preview
    assert run.code == 0
    resources = json.loads((out / "resources.json").read_text())
    assert any(capture.UNKNOWN in json.dumps(resource["inputs"]) for resource in resources)
    assert (
        f"undecided at preview (advisory; enforced by `pulumi up`): {', '.join(sorted(APPLY_TIME_ONLY))}" in run.stdout
    )
