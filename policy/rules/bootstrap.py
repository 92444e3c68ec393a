"""Rules for the bootstrap (bootstrap/): the state backend and the identities that deploy the estate.

The bootstrap is the estate's own control plane, so a few estate rules do not fit it by design: its identities need
Reader and Contributor on the subscription (the estate creates its resource group), it serves both stacks (no
environment tag), its vault has no Log Analytics to report to, and a pull request's prod preview cannot be
branch-controlled (its connection carries an approval instead). Those rules exempt resources of the bootstrap project
(`EXEMPTIONS`, one reason each); the rules below replace them.
Storage and role-assigning rules apply to every stack: the estate registers neither today, and must not without them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pulumi_policy import Severity

from .common import About, Exemption, Props, depends_on, lookup, must_be_true, resource_rule, stack_rule
from .devops import APPROVALS, CHECK_APPROVAL, CHECK_BRANCH_CONTROL, ENVIRONMENT, _valid_approval, _valid_branch_control
from .identity import OWNER, ROLE_ASSIGNING, ROLE_ASSIGNMENT, role_guid
from .sources import LEAST_PRIVILEGE, architecture

BOOTSTRAP_PROJECT = "aks-estate-bootstrap"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
GUID = r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"


def _clause(action: str, source: str) -> str:
    """One half of the "Constrain roles" condition (learn.microsoft.com/azure/role-based-access-control/
    delegate-role-assignments-examples), with whitespace around parentheses removed: the action passes only for the
    listed role IDs, optionally narrowed to principal types."""
    guids = rf"(?P<{action}>{GUID}(?:\s*,\s*{GUID})*)"
    principal = (
        rf"(?: AND @{source}\[Microsoft\.Authorization/roleAssignments:PrincipalType\] "
        r"ForAnyOfAnyValues:StringEqualsIgnoreCase \{[^{}()]*\})?"
    )
    return (
        rf"\(\(!\(ActionMatches\{{'Microsoft\.Authorization/roleAssignments/{action}'\}}\)\)OR"
        rf"\(@{source}\[Microsoft\.Authorization/roleAssignments:RoleDefinitionId\] "
        rf"ForAnyOfAnyValues:GuidEquals \{{\s*{guids}\s*\}}{principal}\)\)"
    )


# The whole condition is exactly the two clauses: nothing may widen them (an OR) or leave an action out.
CONSTRAINED = re.compile(_clause("write", "Request") + "AND" + _clause("delete", "Resource"), re.IGNORECASE)


def _normalized(condition: str) -> str:
    """The portal's multi-line form and the one-line form alike: no space around parentheses, single spaces."""
    return re.sub(r"\s*([()])\s*", r"\1", " ".join(condition.split()))


IAC_PROD_ENVIRONMENTS = ("aks-estate-iac-prod",)
IAC_MAIN_ONLY_ENVIRONMENTS = ("aks-estate-iac-dev", "aks-estate-iac-prod")
# A pull request's prod preview needs no environment check: its connection carries the approval.
IAC_ENVIRONMENTS = (*IAC_MAIN_ONLY_ENVIRONMENTS, "aks-estate-iac-prod-preview")
# A definition runs whatever YAML the queued branch holds, and a stage waits for the checks of every resource it uses
# (azure-devops-docs docs/pipelines/process/approvals.md), so the connections carry their own checks. prod's preview
# runs pull requests' code: an approval, never a branch check (PR runs are not on main). Deployers: protected main.
# preview-dev runs every pull request's code unapproved by design, and reads only.
AZURE_RM_CONNECTION = "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM"
IAC_APPROVED_CONNECTIONS = ("aks-estate-iac-preview-prod",)
IAC_MAIN_ONLY_CONNECTIONS = ("aks-estate-iac-deploy-dev", "aks-estate-iac-deploy-prod")


def project_of(urn: str) -> str:
    """`urn:pulumi:<stack>::<project>::<type>::<name>`: the project part."""
    parts = urn.split("::")
    return parts[1] if len(parts) > 1 else ""


def _in_bootstrap(resource: Any) -> bool:
    return project_of(resource.urn) == BOOTSTRAP_PROJECT


BOOTSTRAP_RESOURCES = f"resources of the {BOOTSTRAP_PROJECT} project (their URN names it)"
# Estate rules the bootstrap breaks by design; the rules below take their place for it.
EXEMPTIONS = tuple(
    Exemption(policy, BOOTSTRAP_RESOURCES, reason, _in_bootstrap)
    for policy, reason in (
        ("azure-environment-tag", "the bootstrap serves both the dev and the prod stack, so it has no environment"),
        (
            "role-assignment-no-privileged-roles",
            "the deploy identities need Contributor on the subscription, where `pulumi up` creates the estate's "
            "resource groups; role-assignment-no-owner and role-assignment-role-assigning-conditioned hold them",
        ),
        (
            "role-assignment-resource-scope",
            "the deploy identities' Reader and Contributor grants are on the subscription the estate is created in",
        ),
        (
            "diagnostics-on-monitored-resources",
            "the bootstrap's vault is created before the estate's Log Analytics workspace, so it has none to report to",
        ),
        (
            "devops-production-environment-checks",
            "a pull request's prod preview cannot be branch-controlled (PR runs are not on main); "
            "iac-environment-checks and iac-connection-checks hold the IaC environments and connections instead",
        ),
        (
            "devops-min-reviewers",
            "the rule tells dev from prod by the resource groups' environment tag, which the bootstrap, serving both "
            "stacks, does not carry; its repository's policies are the service repositories' (BranchPolicies)",
        ),
    )
)


def _storage_account(props: Props) -> Iterable[str]:
    if props.get("allowSharedKeyAccess") is not False:
        yield "allowSharedKeyAccess must be false: state is reached with Entra ID only, never an account key"
    if props.get("allowBlobPublicAccess") is not False:
        yield "allowBlobPublicAccess must be false"
    if props.get("minimumTlsVersion") != "TLS1_2":
        yield f"minimumTlsVersion must be 'TLS1_2', got {props.get('minimumTlsVersion')!r}"
    yield from must_be_true(props, "enableHttpsTrafficOnly")


def _blob_recovery(resources: Sequence[Any]) -> Iterable[tuple[str, str | None]]:
    services = [r for r in resources if r.resource_type == BLOB_SERVICE]
    for account in (r for r in resources if r.resource_type == STORAGE_ACCOUNT):
        recoverable = [
            service
            for service in services
            if depends_on(service, account)
            and service.props.get("isVersioningEnabled") is True
            and lookup(service.props, "deleteRetentionPolicy.enabled") is True
            and lookup(service.props, "containerDeleteRetentionPolicy.enabled") is True
        ]
        if not recoverable:
            yield (
                f"{account.name}: no blob service properties with versioning and soft delete of blobs and containers",
                account.urn,
            )


MANAGEMENT_POLICY = "azure-native:storage:ManagementPolicy"


def _expires_versions(policy: Any, days: Any) -> bool:
    """An enabled Lifecycle rule deleting block blobs' previous versions once older than `days` (no later)."""
    for rule in lookup(policy.props, "policy.rules") or []:
        if rule.get("enabled") is False or rule.get("type") != "Lifecycle":
            continue
        age = lookup(rule, "definition.actions.version.delete.daysAfterCreationGreaterThan")
        blob_types = lookup(rule, "definition.filters.blobTypes") or []
        prefixes = lookup(rule, "definition.filters.prefixMatch") or []
        within = isinstance(age, (int, float)) and isinstance(days, (int, float)) and age <= days
        if within and "blockBlob" in blob_types and not prefixes:
            return True
    return False


def _versions_expire(resources: Sequence[Any]) -> Iterable[tuple[str, str | None]]:
    policies = [r for r in resources if r.resource_type == MANAGEMENT_POLICY]
    for service in (r for r in resources if r.resource_type == BLOB_SERVICE):
        if service.props.get("isVersioningEnabled") is not True:
            continue
        days = lookup(service.props, "deleteRetentionPolicy.days")
        accounts = [r for r in resources if r.resource_type == STORAGE_ACCOUNT and depends_on(service, r)]
        for account in accounts:
            if not any(depends_on(p, account) and _expires_versions(p, days) for p in policies):
                yield (
                    f"{account.name}: versioning keeps every previous version, and no enabled lifecycle rule deletes "
                    f"block blobs' previous versions within the soft-delete days ({days})",
                    account.urn,
                )


def _no_owner(props: Props) -> Iterable[str]:
    if role_guid(props) == OWNER:
        yield "roleDefinitionId grants Owner; grant the narrow roles the principal needs"


def _role_assigning_conditioned(props: Props) -> Iterable[str]:
    role = ROLE_ASSIGNING.get(role_guid(props))
    if role is None:
        return
    if props.get("conditionVersion") != "2.0":
        yield f"{role} must carry a conditionVersion '2.0' condition, got {props.get('conditionVersion')!r}"
    match = CONSTRAINED.fullmatch(_normalized(str(props.get("condition") or "")))
    if not match:
        yield (
            f"{role}: the condition must be exactly the 'Constrain roles' form, limiting roleAssignments/write and "
            "/delete to listed role definition IDs"
        )
        return
    for action in ("write", "delete"):
        listed = {guid.strip().lower() for guid in match.group(action).split(",")}
        escalating = sorted(listed & {OWNER, *ROLE_ASSIGNING})
        if escalating:
            yield f"{role}: the condition lets it {action} assignments of role-assigning roles {escalating}"


def _guarded(resources: Sequence[Any], target: Any, kind: str, token: str, valid: Any) -> bool:
    """Whether a valid check of `token` is wired to `target` as a resource of `kind` (targetResourceType)."""
    return any(
        r.resource_type == token and r.props.get("targetResourceType") == kind and depends_on(r, target) and valid(r)
        for r in resources
    )


def _iac_checks(
    resources: Sequence[Any],
    kind: tuple[str, str, str, str],
    approved: Sequence[str],
    main_only: Sequence[str],
    used: Sequence[str],
) -> Iterable[tuple[str, str | None]]:
    """The IaC project's `kind` (what it is called, its type token, the property naming it, its targetResourceType):
    each of `approved` carries an approval check, each of `main_only` a branch control check, each of `used` exists."""
    what, token, name_property, target_kind = kind
    on = " on the connection" if target_kind == ENDPOINT_KIND else ""
    found = {
        str(r.props.get(name_property)): r
        for r in resources
        if r.resource_type == token and project_of(r.urn) == BOOTSTRAP_PROJECT
    }
    for name, target in sorted(found.items()):
        if name in approved and not _guarded(resources, target, target_kind, *APPROVAL):
            yield f"{what} {name!r} has no approval check{on} with approvers that excludes the requester", target.urn
        if name in main_only and not _guarded(resources, target, target_kind, *BRANCH):
            yield f"{what} {name!r} has no branch control check{on} limited to protected named branches", target.urn
    for name in sorted(used) if found else []:
        if name not in found:
            yield f"the bootstrap creates no {what} {name!r}, which pipelines/infra/ uses", None


def _iac_environment_checks(resources: Sequence[Any]) -> Iterable[tuple[str, str | None]]:
    kind = ("environment", ENVIRONMENT, "name", ENVIRONMENT_KIND)
    return _iac_checks(resources, kind, IAC_PROD_ENVIRONMENTS, IAC_MAIN_ONLY_ENVIRONMENTS, IAC_ENVIRONMENTS)


def _iac_connection_checks(resources: Sequence[Any]) -> Iterable[tuple[str, str | None]]:
    kind = ("service connection", AZURE_RM_CONNECTION, "serviceEndpointName", ENDPOINT_KIND)
    used = sorted({*IAC_APPROVED_CONNECTIONS, *IAC_MAIN_ONLY_CONNECTIONS})
    return _iac_checks(resources, kind, IAC_APPROVED_CONNECTIONS, IAC_MAIN_ONLY_CONNECTIONS, used)


ENVIRONMENT_KIND = "environment"
ENDPOINT_KIND = "endpoint"
APPROVAL = (CHECK_APPROVAL, _valid_approval)
BRANCH = (CHECK_BRANCH_CONTROL, _valid_branch_control)
STORAGE_SHARED_KEY = "https://learn.microsoft.com/azure/storage/common/shared-key-authorization-prevent"
BLOB_DATA_PROTECTION = "https://learn.microsoft.com/azure/storage/blobs/data-protection-overview"
LIFECYCLE = "https://learn.microsoft.com/azure/storage/blobs/lifecycle-management-overview"
CONSTRAIN_ROLES = "https://learn.microsoft.com/azure/role-based-access-control/delegate-role-assignments-examples"
POLICIES: list[Any] = [
    resource_rule(
        "storage-entra-only-private-tls12",
        "Storage accounts refuse shared keys and public blobs, and accept only HTTPS with TLS 1.2 or later.",
        STORAGE_ACCOUNT,
        _storage_account,
        About(
            architecture(STORAGE_SHARED_KEY, "prevent Shared Key authorization: Entra ID only"),
            Severity.CRITICAL,
            "Set allowSharedKeyAccess and allowBlobPublicAccess false, minimumTlsVersion TLS1_2 and "
            "enableHttpsTrafficOnly true (bootstrap/state.py).",
        ),
    ),
    stack_rule(
        "storage-blob-versioning-and-soft-delete",
        "Every storage account has blob versioning and soft delete of blobs and containers, so a bad checkpoint or a "
        "deleted stack can be restored.",
        _blob_recovery,
        About(
            architecture(BLOB_DATA_PROTECTION, "versioning and soft delete of blobs and containers"),
            Severity.HIGH,
            "Add BlobServiceProperties wired to the account with isVersioningEnabled, deleteRetentionPolicy and "
            "containerDeleteRetentionPolicy on (bootstrap/state.py).",
        ),
    ),
    stack_rule(
        "storage-previous-versions-expire",
        "A storage account that keeps blob versions has a lifecycle rule deleting previous versions of block blobs "
        "once older than its soft-delete days, so versions do not grow without bound.",
        _versions_expire,
        About(
            architecture(LIFECYCLE, "lifecycle management: delete previous versions after a number of days"),
            Severity.MEDIUM,
            "Add a ManagementPolicy wired to the account whose Lifecycle rule deletes previous versions "
            "(actions.version.delete.daysAfterCreationGreaterThan) of blockBlob (bootstrap/state.py).",
        ),
    ),
    resource_rule(
        "role-assignment-no-owner",
        "No role assignment grants Owner, in the estate or the bootstrap.",
        ROLE_ASSIGNMENT,
        _no_owner,
        About(
            architecture(LEAST_PRIVILEGE, "grant the least privilege: no privileged administrator roles"),
            Severity.CRITICAL,
            "Grant the narrow roles the principal needs (bootstrap/access.py, components/identity.py).",
        ),
    ),
    resource_rule(
        "role-assignment-role-assigning-conditioned",
        "Every User Access Administrator or Role Based Access Control Administrator assignment carries a version "
        "2.0 condition limiting the roles it may assign and remove to listed role definition IDs, none of them Owner "
        "or role-assigning.",
        ROLE_ASSIGNMENT,
        _role_assigning_conditioned,
        About(
            architecture(CONSTRAIN_ROLES, "constrain the roles a delegate may assign (the 'Constrain roles' example)"),
            Severity.CRITICAL,
            "Give the assignment conditionVersion 2.0 and the 'Constrain roles' condition listing only the roles the "
            "estate assigns (bootstrap/access.py).",
        ),
    ),
    stack_rule(
        "iac-environment-checks",
        "The IaC prod environment needs an approval; dev and prod deploy from protected main only.",
        _iac_environment_checks,
        About(
            architecture(APPROVALS, "approvals and branch control checks on the environments that deploy"),
            Severity.HIGH,
            "Give aks-estate-iac-prod an approval, -dev and -prod a branch control check on main "
            "(bootstrap/program.py).",
        ),
    ),
    stack_rule(
        "iac-connection-checks",
        "The IaC prod preview connection needs an approval and the deploy connections a branch control check on "
        "protected main, each on the connection itself: a definition runs whatever YAML its branch holds.",
        _iac_connection_checks,
        About(
            architecture(APPROVALS, "checks on every resource a stage uses, service connections included"),
            Severity.CRITICAL,
            "Give aks-estate-iac-preview-prod an approval and -deploy-dev, -deploy-prod a branch control check on "
            "main, with targetResourceType endpoint (bootstrap/program.py, _connection_checks).",
        ),
    ),
]
