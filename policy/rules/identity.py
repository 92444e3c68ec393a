"""Identity rules: no privileged role, every assignment scoped to one resource, no wildcard role definitions."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .common import (
    Props,
    items,
    lookup,
    resource_rule,
)

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
# Built-in role definition IDs, the same in every tenant: Owner, Contributor, User Access Administrator.
PRIVILEGED_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
}
# Scopes wider than one resource: a subscription, a resource group, a management group.
BROAD_SCOPE = re.compile(
    r"^(/subscriptions/[^/]+(/resourceGroups/[^/]+)?|/providers/Microsoft\.Management/managementGroups/[^/]+)/?$",
    re.IGNORECASE,
)


def _no_privileged_roles(props: Props) -> Iterable[str]:
    role_id = str(props.get("roleDefinitionId") or "").rstrip("/").rsplit("/", 1)[-1].lower()
    if role_id in PRIVILEGED_ROLES:
        yield f"roleDefinitionId grants {PRIVILEGED_ROLES[role_id]}; grant a narrower built-in role"


def _resource_scope(props: Props) -> Iterable[str]:
    scope = str(props.get("scope") or "")
    if BROAD_SCOPE.match(scope):
        yield f"scope {scope!r} is a subscription, resource group or management group; scope to one resource"


def _no_wildcard_actions(props: Props) -> Iterable[str]:
    for permission in items(lookup(props, "permissions")):
        if "*" in items(lookup(permission, "actions")):
            yield 'permissions[].actions must not contain "*" (a custom owner role)'


POLICIES: list[Any] = [
    resource_rule(
        "role-assignment-no-privileged-roles",
        "architecture (least privilege): no role assignment grants Owner, Contributor or User Access Administrator.",
        ROLE_ASSIGNMENT,
        _no_privileged_roles,
    ),
    resource_rule(
        "role-assignment-resource-scope",
        "architecture (least privilege): every role assignment is scoped to one resource, not a subscription, "
        "resource group or management group.",
        ROLE_ASSIGNMENT,
        _resource_scope,
    ),
    resource_rule(
        "role-definition-no-wildcard-actions",
        "checkov CKV_AZURE_39: Ensure that no custom subscription owner roles are created.",
        ROLE_DEFINITION,
        _no_wildcard_actions,
    ),
]
