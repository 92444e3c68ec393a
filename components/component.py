"""What the components of the estate and of the bootstrap share: type token, children's options, where resources go."""

from __future__ import annotations

from typing import TypedDict

import pulumi
from pulumi_azure_native import resources


class Component(pulumi.ComponentResource):
    """A component typed `aks-estate:<area>:<Type>`, whose children hang under it by `self.child`.

    The engine copies options before it uses them (pulumi/resource.py `Resource.__init__`, `opts = opts._copy()`), so
    one instance serves every child.
    """

    def __init__(self, type_token: str, name: str, opts: pulumi.ResourceOptions | None) -> None:
        super().__init__(type_token, name, None, opts)
        self.child = pulumi.ResourceOptions(parent=self)


class Placement(TypedDict):
    """Where a tracked Azure resource lives and how it is labelled: the arguments each takes alike, as `**placement`."""

    resource_group_name: pulumi.Input[str]
    location: str
    tags: dict[str, str]


def at(location: str, placement: Placement) -> Placement:
    """The same resource group and tags at another location: `global` for Azure's global resources (private DNS
    zones, Azure Monitor private link scopes, action groups)."""
    return Placement(resource_group_name=placement["resource_group_name"], location=location, tags=placement["tags"])


def resource_group(
    name: str, group_name: str, location: str, tags: dict[str, str], opts: pulumi.ResourceOptions
) -> tuple[resources.ResourceGroup, Placement]:
    """A resource group, and the placement of what goes into it: by the group's output name, so each waits for it."""
    group = resources.ResourceGroup(
        f"{name}-resource-group", resource_group_name=group_name, location=location, tags=tags, opts=opts
    )
    return group, Placement(resource_group_name=group.name, location=location, tags=tags)
