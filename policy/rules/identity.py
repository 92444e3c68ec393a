"""Identity rules: no privileged role, every assignment scoped to one resource, no wildcard role definitions."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pulumi_policy import Severity

from .common import About, Props, items, lookup, resource_rule
from .sources import LEAST_PRIVILEGE, architecture, checkov

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
# Built-in role definition IDs, the same in every tenant (learn.microsoft.com/azure/role-based-access-control/
# built-in-roles).
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
PRIVILEGED_ROLES = {OWNER: "Owner", CONTRIBUTOR: "Contributor", USER_ACCESS_ADMINISTRATOR: "User Access Administrator"}
# Roles whose holder can write role assignments.
ROLE_ASSIGNING = {
    USER_ACCESS_ADMINISTRATOR: "User Access Administrator",
    RBAC_ADMINISTRATOR: "Role Based Access Control Administrator",
}
# Scopes wider than one resource: a subscription, a resource group, a management group.
BROAD_SCOPE = re.compile(
    r"^(/subscriptions/[^/]+(/resourceGroups/[^/]+)?|/providers/Microsoft\.Management/managementGroups/[^/]+)/?$",
    re.IGNORECASE,
)


def role_guid(props: Props) -> str:
    """The GUID at the end of a role assignment's `roleDefinitionId`."""
    return str(props.get("roleDefinitionId") or "").rstrip("/").rsplit("/", 1)[-1].lower()


def _no_privileged_roles(props: Props) -> Iterable[str]:
    role_id = role_guid(props)
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
        "No role assignment grants Owner, Contributor or User Access Administrator.",
        ROLE_ASSIGNMENT,
        _no_privileged_roles,
        About(
            architecture(LEAST_PRIVILEGE, "grant the least privilege: no privileged administrator roles"),
            Severity.CRITICAL,
            "Grant the narrow built-in role the principal needs (components/identity.py lists the estate's grants).",
        ),
    ),
    resource_rule(
        "role-assignment-resource-scope",
        "Every role assignment is scoped to one resource, not a subscription, resource group or management group.",
        ROLE_ASSIGNMENT,
        _resource_scope,
        About(
            architecture(LEAST_PRIVILEGE, "limit the scope of role assignments"),
            Severity.HIGH,
            "Scope the assignment to the resource the principal uses (its resource ID), in components/identity.py.",
        ),
    ),
    resource_rule(
        "role-definition-no-wildcard-actions",
        'No custom role definition allows every action ("*").',
        ROLE_DEFINITION,
        _no_wildcard_actions,
        About(
            checkov("CKV_AZURE_39"),
            Severity.CRITICAL,
            "List the actions the custom role needs, or use a built-in role.",
        ),
    ),
]
