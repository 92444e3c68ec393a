"""The API-version aliases azure-native declares are left out before the SDK builds them; every other alias stays.

What azure-native declares is read from its generated classes (`alias_opts` in each `_internal_init`), and which
tokens are API versions is decided here independently of the filter's pattern (a `/` in the module part), so a
provider upgrade that adds a kind of version or renames a type is checked against what it really declares."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_azure_native
import pytest

from components.type_aliases import API_VERSION_TOKEN, drop_api_version_aliases
from tools import capture
from tools.capture import Capture

Transformation = Callable[[pulumi.ResourceTransformationArgs], pulumi.ResourceTransformationResult | None]
DECLARED_ALIAS = re.compile(r'pulumi\.Alias\(type_="([^"]+)"\)')
# azure-native 3 moved these from `insights` to `monitor` and keeps the old unversioned token as an alias.
RENAMED_TYPE = "azure-native:monitor:MetricAlert"
RENAME = "azure-native:insights:MetricAlert"
VERSIONED = "azure-native:monitor/v20180301:MetricAlert"
# Aliases that are not azure-native's API-version ones, whatever their type says: each must stay.
OTHERS: list[Any] = [
    pulumi.Alias(name="old-name", type_=VERSIONED),
    pulumi.Alias(type_=VERSIONED, parent=None),
    pulumi.Alias(type_=VERSIONED, stack="other"),
    pulumi.Alias(type_=VERSIONED, project="other"),
    pulumi.Alias(name="x"),
    f"urn:pulumi:prod::aks-estate::{VERSIONED}::alert",
    pulumi.Output.from_input(pulumi.Alias(type_=VERSIONED)),
    pulumi.Alias(type_="kubernetes:apps/v1beta1:Deployment"),
    pulumi.Alias(type_="azuredevops:Policy/branchPolicyBuildValidation:BranchPolicyBuildValidation"),
    # A local versioned package's own token (`pulumi package add`): another provider's type.
    pulumi.Alias(type_="azure-native_storage_v20240101:storage/v20240101:StorageAccount"),
]


def is_api_version(token: str) -> bool:
    provider, module, _ = token.split(":")
    return provider == "azure-native" and "/" in module


def declared_aliases(token: str) -> list[str]:
    """The alias types azure-native's generated class for `token` adds to every instance."""
    _, module, type_name = token.split(":")
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), type_name)
    return DECLARED_ALIAS.findall(inspect.getsource(cls))


def transformed(transformation: Transformation, aliases: list[Any], token: str) -> pulumi.ResourceOptions:
    opts = pulumi.ResourceOptions(aliases=list(aliases), protect=True, ignore_changes=["tags"], retain_on_delete=True)
    result = transformation(pulumi.ResourceTransformationArgs(None, token, "name", {}, opts))  # type: ignore[arg-type]
    return result.opts if result else opts


def drop_everything(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
    return pulumi.ResourceTransformationResult(args.props, pulumi.ResourceOptions(parent=args.opts.parent))


def drop_nothing(args: pulumi.ResourceTransformationArgs) -> None:
    return None


def drop_any_versioned_type(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
    aliases = [a for a in args.opts.aliases or [] if "/v" not in str(getattr(a, "type_", ""))]
    return pulumi.ResourceTransformationResult(args.props, pulumi.ResourceOptions(aliases=aliases))


def problems(transformation: Transformation, tokens: list[str]) -> list[str]:
    """What `transformation` gets wrong on the aliases azure-native declares for `tokens`, on other aliases, and on the
    other options."""
    found = []
    for token in tokens:
        declared = declared_aliases(token)
        opts = transformed(transformation, [pulumi.Alias(type_=t) for t in declared], token)
        left = [getattr(alias, "type_", alias) for alias in opts.aliases or []]
        expected = [t for t in declared if not is_api_version(t)]
        if left != expected:
            found.append(f"{token}: kept {left}, expected {expected}")
        if (opts.protect, opts.ignore_changes, opts.retain_on_delete) != (True, ["tags"], True):
            found.append(f"{token}: options other than the aliases changed")
    if list(transformed(transformation, OTHERS, RENAMED_TYPE).aliases or []) != OTHERS:
        found.append("an alias that is not an API-version one was dropped")
    return found


def test_the_pattern_names_exactly_the_api_version_tokens_azure_native_declares() -> None:
    root = Path(pulumi_azure_native.__file__).parent
    declared: set[str] = set()
    for source in root.rglob("*.py"):
        text = source.read_text()
        if "alias_opts" in text:
            found = DECLARED_ALIAS.findall(text)
            assert found, f"{source}: declares aliases this test cannot read"
            declared.update(found)
    assert len(declared) > 10_000
    assert [t for t in declared if (API_VERSION_TOKEN.fullmatch(t) is not None) != is_api_version(t)] == []
    suffixes = {re.sub(r"^v\d{8}", "", t.split(":")[1].split("/")[1]) for t in declared if is_api_version(t)}
    assert {"", "preview", "privatepreview", "beta"} <= suffixes


def test_every_api_version_alias_of_the_registered_types_is_left_out_and_nothing_else(
    prod: Capture, boot: Capture
) -> None:
    tokens = sorted({r.type for r in [*prod.resources, *boot.resources] if r.type.startswith("azure-native:")})
    assert RENAMED_TYPE in tokens
    assert RENAME in declared_aliases(RENAMED_TYPE)
    assert problems(drop_api_version_aliases, tokens) == []


@pytest.mark.parametrize("planted", [drop_everything, drop_nothing, drop_any_versioned_type])
def test_a_transformation_that_drops_too_much_or_too_little_is_caught(planted: Transformation) -> None:
    assert problems(planted, [RENAMED_TYPE, "azure-native:authorization:RoleAssignment"]) != []


@pytest.mark.parametrize("stack", ["dev", "prod", "bootstrap"])
def test_the_programs_register_no_api_version_alias_and_keep_the_renames(
    stack: str, dev: Capture, prod: Capture, boot: Capture
) -> None:
    estate = {"dev": dev, "prod": prod, "bootstrap": boot}[stack]
    registered = [r for r in estate.resources if r.type.startswith("azure-native:")]
    assert registered
    assert [r.name for r in registered for alias in r.aliases if is_api_version(alias.type or "::")] == []
    if stack != "bootstrap":
        alerts = estate.of_type(RENAMED_TYPE)
        assert alerts
        assert all(any(alias.type == RENAME for alias in alert.aliases) for alert in alerts)


PROGRAM = """
import pulumi
from pulumi_azure_native import authorization
from components.type_aliases import drop_api_version_aliases

if REGISTER:
    pulumi.runtime.register_stack_transformation(drop_api_version_aliases)
grant = authorization.RoleAssignment(
    "grant",
    role_assignment_name="8f3c2a1e-0000-4000-8000-000000000001",
    principal_id="p",
    role_definition_id="r",
    scope="s",
)
pulumi.export("aliasUrns", len(grant._aliases))
"""


@pytest.mark.parametrize(("register", "alias_urns"), [(True, 0), (False, 9)])
def test_the_sdk_builds_no_alias_urn_for_what_the_transformation_left_out(
    tmp_path: Path, register: bool, alias_urns: int
) -> None:
    # What the speed-up rests on: the SDK runs stack transformations in `Resource.__init__` before it turns the
    # aliases into URNs (`self._aliases`, pulumi/resource.py); a role assignment declares 9 API versions.
    path = tmp_path / f"grant-{register}.py"
    path.write_text(PROGRAM.replace("REGISTER", str(register)))
    assert capture.run("dev", {}, [], program=path).outputs["aliasUrns"] == alias_urns
