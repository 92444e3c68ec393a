"""The API-version aliases azure-native declares are left out before the SDK builds them; every other alias stays.

What azure-native declares is read from its generated classes (`alias_opts` in each `_internal_init`), so a provider
upgrade that adds versions or renames a type is checked against what it really declares."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from components.type_aliases import API_VERSION_TOKEN, drop_api_version_aliases
from tools.capture import Capture

Transformation = Callable[[pulumi.ResourceTransformationArgs], pulumi.ResourceTransformationResult | None]
DECLARED_ALIAS = re.compile(r'pulumi\.Alias\(type_="([^"]+)"\)')
# azure-native 3 moved these from `insights` to `monitor` and keeps the old unversioned token as an alias.
RENAMED_TYPE = "azure-native:monitor:MetricAlert"
RENAME = "azure-native:insights:MetricAlert"


def declared_aliases(token: str) -> list[str]:
    """The alias types azure-native's generated class for `token` adds to every instance."""
    _, module, type_name = token.split(":")
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), type_name)
    return DECLARED_ALIAS.findall(inspect.getsource(cls))


def kept(transformation: Transformation, aliases: list[pulumi.Alias], token: str = RENAMED_TYPE) -> list[Any]:
    opts = pulumi.ResourceOptions(aliases=list(aliases))
    result = transformation(pulumi.ResourceTransformationArgs(None, token, "name", {}, opts))  # type: ignore[arg-type]
    return list((result.opts if result else opts).aliases or [])


def drop_everything(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
    return pulumi.ResourceTransformationResult(args.props, pulumi.ResourceOptions(parent=args.opts.parent))


def drop_nothing(args: pulumi.ResourceTransformationArgs) -> None:
    return None


def drop_any_versioned_type(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult:
    aliases = [a for a in args.opts.aliases or [] if "/v" not in str(getattr(a, "type_", ""))]
    return pulumi.ResourceTransformationResult(args.props, pulumi.ResourceOptions(aliases=aliases))


def problems(transformation: Transformation, tokens: list[str]) -> list[str]:
    """What `transformation` gets wrong on the aliases azure-native declares for `tokens`, and on this program's own."""
    found = []
    for token in tokens:
        declared = declared_aliases(token)
        left = [alias.type_ for alias in kept(transformation, [pulumi.Alias(type_=t) for t in declared], token)]
        expected = [t for t in declared if not API_VERSION_TOKEN.fullmatch(t)]
        if left != expected:
            found.append(f"{token}: kept {left}, expected {expected}")
    # An alias that moves a name, parent or project of this program's own keeps its type, versioned or not.
    own = [pulumi.Alias(name="old-name", type_="azure-native:monitor/v20180301:MetricAlert"), pulumi.Alias(name="x")]
    if kept(transformation, own) != own:
        found.append("an alias with a name of its own was dropped")
    return found


def test_every_api_version_alias_of_the_registered_types_is_left_out_and_nothing_else(prod: Capture) -> None:
    tokens = sorted({r.type for r in prod.resources if r.type.startswith("azure-native:")})
    assert RENAMED_TYPE in tokens
    assert RENAME in declared_aliases(RENAMED_TYPE)
    assert sum(len(declared_aliases(token)) for token in tokens) > 300, "azure-native declares version aliases"
    assert problems(drop_api_version_aliases, tokens) == []


@pytest.mark.parametrize("planted", [drop_everything, drop_nothing, drop_any_versioned_type])
def test_a_transformation_that_drops_too_much_or_too_little_is_caught(planted: Transformation) -> None:
    assert problems(planted, [RENAMED_TYPE, "azure-native:authorization:RoleAssignment"]) != []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_stacks_register_no_api_version_alias_and_keep_the_renames(stack: str, dev: Capture, prod: Capture) -> None:
    estate = dev if stack == "dev" else prod
    aliases = [(r, alias) for r in estate.resources for alias in r.aliases]
    assert [r.name for r, alias in aliases if API_VERSION_TOKEN.fullmatch(alias.type or "")] == []
    alerts = estate.of_type(RENAMED_TYPE)
    assert alerts
    assert all(any(alias.type == RENAME for alias in alert.aliases) for alert in alerts)


def test_the_bootstrap_registers_no_api_version_alias(boot: Capture) -> None:
    registered = [r for r in boot.resources if r.type.startswith("azure-native:")]
    assert registered
    assert [r.name for r in registered for alias in r.aliases if API_VERSION_TOKEN.fullmatch(alias.type or "")] == []
