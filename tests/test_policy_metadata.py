"""The policy pack's metadata and exemptions: every rule states its source, severity and remediation (and the README
and the installed checkov agree), every exemption says what and why, applies to something real, and not by name."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import Severity

from components import naming
from policy import offline
from policy.rules import AREAS, EXEMPTIONS, POLICIES, clusters, registries, sources
from policy.rules.common import About, Exemption, exempting, missing_metadata, resource_rule
from tests import validators
from tests.test_policy import BY_NAME, POLICY_DIR
from tools.capture import Capture, Registration

# checkov 3.3.30's checks on azurerm_kubernetes_cluster, azurerm_container_registry, azurerm_key_vault and
# azurerm_key_vault_secret (plus their graph checks): each is enforced by a rule or listed in EXCEPTIONS.md.
CHECKOV_CHECKS = (
    *("CKV_AZURE_4", "CKV_AZURE_5", "CKV_AZURE_6", "CKV_AZURE_7", "CKV_AZURE_8", "CKV_AZURE_115", "CKV_AZURE_116"),
    *("CKV_AZURE_117", "CKV_AZURE_141", "CKV_AZURE_143", "CKV_AZURE_168", "CKV_AZURE_169", "CKV_AZURE_170"),
    *("CKV_AZURE_171", "CKV_AZURE_172", "CKV_AZURE_226", "CKV_AZURE_227", "CKV_AZURE_232", "CKV_AZURE_246"),
    *("CKV2_AZURE_29", "CKV_AZURE_137", "CKV_AZURE_138", "CKV_AZURE_139", "CKV_AZURE_163", "CKV_AZURE_164"),
    *("CKV_AZURE_165", "CKV_AZURE_166", "CKV_AZURE_167", "CKV_AZURE_233", "CKV_AZURE_237", "CKV2_AZURE_30"),
    *("CKV_AZURE_42", "CKV_AZURE_109", "CKV_AZURE_110", "CKV_AZURE_111", "CKV_AZURE_189", "CKV2_AZURE_32"),
    *("CKV_AZURE_41", "CKV_AZURE_114", "CKV_AZURE_39", "CKV2_ADO_1"),
)


def test_rules_have_unique_names() -> None:
    assert len(BY_NAME) == len(POLICIES)


def test_every_rule_states_its_source_severity_and_remediation() -> None:
    lacking = {policy.name: missing_metadata(policy) for policy in POLICIES if missing_metadata(policy)}
    assert lacking == {}, "rules without their metadata (policy/rules/common.py About): " + "; ".join(
        f"{name} lacks {', '.join(missing)}" for name, missing in lacking.items()
    )
    assert {policy.framework.name for policy in POLICIES} == {sources.CHECKOV, sources.ARCHITECTURE}
    for policy in POLICIES:
        if policy.framework.name == sources.ARCHITECTURE:
            assert policy.framework.reference.startswith("https://learn.microsoft.com/azure/"), policy.name
        assert policy.url.startswith("https://"), policy.name


def test_a_rule_in_the_old_format_is_named_with_what_it_lacks() -> None:
    """A rule written without `About` (helpers' new modules at merge) fails the test above, saying what is missing."""
    bare = resource_rule("bare", "A rule without metadata.", clusters.CLUSTER, lambda _props: ())
    assert missing_metadata(bare) == [
        "its source: framework=sources.checkov(...) or sources.architecture(...)",
        "severity=Severity.<LEVEL> (policy/README.md says which)",
        "remediation: what to change, and where in this repository",
    ]
    half = resource_rule(
        "half",
        "A rule without a reference.",
        clusters.CLUSTER,
        lambda _props: (),
        About(sources.architecture("", "no document"), Severity.LOW, "Fix it."),
    )
    assert missing_metadata(half) == ["a framework with a reference (checkov ID or document URL) and a specification"]


def _checkov_ids() -> set[str]:
    return {
        check_id
        for policy in POLICIES
        if policy.framework.name == sources.CHECKOV
        for check_id in policy.framework.reference.split(", ")
    }


def test_every_checkov_check_is_enforced_or_excepted() -> None:
    exceptions = (POLICY_DIR / "EXCEPTIONS.md").read_text()
    enforced = _checkov_ids()
    excepted = {check for check in CHECKOV_CHECKS if re.search(rf"\b{check}\b", exceptions)}
    assert [check for check in CHECKOV_CHECKS if check not in enforced | excepted] == []


def _checkov_package() -> Path:
    lib = validators.validators_bin().parent / "lib"
    (package,) = lib.glob("python3*/site-packages/checkov")
    return package


def checkov_mismatches(table: dict[str, tuple[str, str]], package: Path, version: str) -> list[str]:
    """Where `table` disagrees with the checkov installed at `package`: another version, file, ID or title."""
    found = [] if version == sources.CHECKOV_VERSION else [f"the table is for checkov {sources.CHECKOV_VERSION}"]
    for check_id, (title, path) in table.items():
        source = package / "terraform" / "checks" / path
        # A title the check builds over two lines (`name = "..."` then `name += "..."`) reads as one.
        text = re.sub(r"\"\s*\n\s*name \+= \"", "", source.read_text()) if source.is_file() else ""
        if not re.search(rf"[\"']{check_id}[\"']", text) or title not in text:
            found.append(f"{check_id}: {path} does not define {title!r}")
    return found


def test_the_checkov_sources_are_the_installed_checkovs() -> None:
    package = _checkov_package()
    (dist,) = package.parent.glob("checkov-*.dist-info")
    version = dist.name.removeprefix("checkov-").removesuffix(".dist-info")
    assert checkov_mismatches(sources.CHECKOV_CHECKS, package, version) == []
    # Planted: a wrong title, a file that is not the check's, another release.
    title, path = sources.CHECKOV_CHECKS["CKV_AZURE_5"]
    dashboard = "Ensure Kubernetes Dashboard is disabled"
    planted = {"CKV_AZURE_5": (title + " (not really)", path), "CKV_AZURE_8": (dashboard, path)}
    assert len(checkov_mismatches(planted, package, "3.0.0")) == 3


def _readme_row(policy: Any) -> tuple[str, str]:
    """How policy/README.md's table states a rule's source and severity."""
    framework = policy.framework
    source = (
        f"checkov {framework.reference}"
        if framework.name == sources.CHECKOV
        else f"[architecture]({framework.reference})"
    )
    return source, policy.severity.value


def readme_disagreements(readme: str) -> list[str]:
    """Rules the README's table leaves out, or lists with another source or severity than the rule's metadata."""
    table = re.findall(r"^\| `([a-z0-9-]+)` \| ([^|]+) \| ([a-z]+) \|", readme, re.MULTILINE)
    rows = {name: (source.strip(), severity) for name, source, severity in table}
    return [policy.name for policy in POLICIES if rows.get(policy.name) != _readme_row(policy)]


def test_readme_lists_every_rule_with_its_source_and_severity() -> None:
    readme = (POLICY_DIR / "README.md").read_text()
    assert readme_disagreements(readme) == []
    planted = readme.replace(
        "| `aks-rbac` | checkov CKV_AZURE_5 | high |", "| `aks-rbac` | checkov CKV_AZURE_5 | low |"
    )
    assert readme_disagreements(planted) == ["aks-rbac"]


def exemption_problems(exemptions: tuple[Exemption, ...]) -> list[str]:
    """Exemptions that name no rule of the pack, or do not say what they exempt and why in a sentence."""
    return [
        f"{exemption.policy}: {problem}"
        for exemption in exemptions
        for problem, broken in (
            ("names no rule of the pack", exemption.policy not in BY_NAME),
            ("does not say what is exempt", len(exemption.exempt.split()) < 2),
            ("does not say why, in words", len(exemption.reason.split()) < 8),
        )
        if broken
    ]


def test_every_exemption_names_a_rule_and_states_its_reason() -> None:
    assert EXEMPTIONS
    assert exemption_problems(EXEMPTIONS) == []
    planted = dataclasses.replace(EXEMPTIONS[0], reason="cheaper")
    assert exemption_problems((planted,)) == [f"{planted.policy}: does not say why, in words"]
    # The pack cannot import the program: the tag it reads is the one the estate writes.
    assert registries.REGISTRY_ROLE_TAG == naming.REGISTRY_ROLE_TAG


def _renamed(registration: Registration) -> Registration:
    """The same resource under another logical name (its URN's last part too)."""
    name = f"renamed-{registration.name[::-1]}"
    return dataclasses.replace(registration, name=name, urn=registration.urn.rsplit("::", 1)[0] + f"::{name}")


def name_dependent(exemptions: tuple[Exemption, ...], estate: list[Registration]) -> list[str]:
    """Exemptions that stop applying to a resource once it is renamed: they detect it by its name."""
    found = []
    for registration in estate:
        subject, renamed = offline.resource_args(registration), offline.resource_args(_renamed(registration))
        found += [
            f"{exemption.policy} on {registration.name}"
            for exemption in exemptions
            if exemption.applies_to(subject) and not exemption.applies_to(renamed)
        ]
    return found


def test_no_exemption_detects_a_resource_by_its_name(estates: dict[str, list[Registration]]) -> None:
    for stack, estate in estates.items():
        assert name_dependent(EXEMPTIONS, estate) == [], stack
    by_suffix = Exemption(
        "acr-prod-premium",
        "the registry named *nonprod-registry",
        "planted: a name, not a tag, decides which registry is exempt here",
        lambda r: r.urn.endswith("nonprod-registry"),
    )
    assert name_dependent((by_suffix,), estates["prod"]) == ["acr-prod-premium on estate-registry-nonprod-registry"]


UNEXEMPTED = {policy.name: policy for area in AREAS for policy in area.POLICIES}


def exemption_effect(exemption: Exemption, inventories: list[list[Registration]]) -> str | None:
    """Why `exemption` is dead or does not do its job on `inventories`; None when it lets through what the rule alone
    would refuse, and the rule with it passes."""
    bare = UNEXEMPTED[exemption.policy]
    exempted = exempting(bare, (exemption,))
    applicable = [
        inventory for inventory in inventories if any(exemption.applies_to(offline.resource_args(r)) for r in inventory)
    ]
    if not applicable:
        return f"exempts {exemption.exempt}, and nothing registered is one"
    if not any(offline.evaluate([bare], inventory) for inventory in applicable):
        return "exempts what the rule lets through anyway"
    if any(offline.evaluate([exempted], inventory) for inventory in applicable):
        return "the rule still fails with the exemption"
    return None


@pytest.mark.parametrize("exemption", EXEMPTIONS, ids=lambda e: f"{e.policy}[{e.exempt}]")
def test_every_exemption_lets_through_what_the_rule_would_refuse(
    estates: dict[str, list[Registration]], boot: Capture, exemption: Exemption
) -> None:
    """Without its exemption the rule fails what the estates or the bootstrap register: no exemption is dead."""
    assert exemption_effect(exemption, [*estates.values(), boot.resources]) is None


def test_a_dead_exemption_is_reported(estates: dict[str, list[Registration]]) -> None:
    inventories = list(estates.values())
    nonprod = next(e for e in EXEMPTIONS if e.policy == "acr-zone-redundancy")
    # The admin user is off on every registry: exempting the non-production one changes nothing.
    dead = dataclasses.replace(nonprod, policy="acr-admin-user-disabled")
    assert exemption_effect(dead, inventories) == "exempts what the rule lets through anyway"
    nothing = dataclasses.replace(nonprod, applies_to=lambda resource: resource.props.get("sku") == "Classic")
    assert exemption_effect(nothing, inventories) == f"exempts {nonprod.exempt}, and nothing registered is one"
