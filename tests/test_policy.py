"""The CrossGuard pack (policy/): it passes the dev and prod estates, and each rule fails a resource broken for it.

Rules run through `policy.offline`, which hands them the arguments pulumi-policy's analyzer would; one test starts the
pack exactly as the Pulumi CLI does (`python -m pulumi.policy <engine> policy/`) and talks to it over gRPC, so the
offline path is checked against the real one. The estates carry a synthetic Azure DevOps baseline as well
(`tests/helpers.py` `synthetic`). Metadata and exemptions are tests/test_policy_metadata.py's.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest
from google.protobuf import empty_pb2, struct_pb2  # type: ignore[import-untyped]
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, StackValidationPolicy
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE

from policy import offline
from policy.rules import POLICIES, clusters, devops, identity, monitoring, registries, vault
from policy.rules.common import RESOURCE_GROUP
from tests.helpers import Change, drop, inputs, pick, put, replaced, synthetic
from tests.test_bootstrap_policy import BROKEN_RULES as BOOTSTRAP_BROKEN_RULES
from tests.test_policy_network import BROKEN_RULES as NETWORK_BROKEN_RULES
from tools.capture import Capture, Registration

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"
BY_NAME = {policy.name: policy for policy in POLICIES}
STACK_POLICIES = [policy for policy in POLICIES if isinstance(policy, StackValidationPolicy)]
RESOURCE_POLICIES = [policy for policy in POLICIES if policy not in STACK_POLICIES]

# --- the estates the rules run on ------------------------------------------------------------------------------------


def _resource_violations(*registrations: Registration) -> list[offline.Violation]:
    """What the resource policies report on `registrations` alone (stack policies need the whole estate)."""
    return offline.evaluate(RESOURCE_POLICIES, registrations)


# --- changes that break one thing ------------------------------------------------------------------------------------


def _type_of(urn: str) -> str:
    # urn:pulumi:<stack>::<project>::<parent types joined by $>$<type>::<name>
    return urn.split("::")[2].rsplit("$", 1)[-1]


def without_dependency_on(token: str) -> Change:
    """The registration no longer wired to any resource of `token` (e.g. a check pointed elsewhere)."""

    def change(registration: Registration) -> Registration:
        kept = tuple(urn for urn in registration.dependencies if _type_of(urn) != token)
        return dataclasses.replace(registration, dependencies=kept)

    return change


@dataclass(frozen=True)
class Break:
    policy: str
    token: str
    named: str
    change: Change
    why: str
    stack: str = "prod"
    # The rule is a prod-only one and the same change on the dev stack must pass.
    prod_only: bool = False


CLUSTER, REGISTRY, VAULT = clusters.CLUSTER, registries.REGISTRY, vault.VAULT
PRODUCTION_CLUSTER = "cluster-production-aks"
AGENT_POOL, PRODUCTION_USER_POOL = clusters.AGENT_POOL, "cluster-production-pool-user"
PROD_REGISTRY = "registry-prod-registry"
OWNER = identity.OWNER

BREAKS = (
    Break("aks-azure-monitor-logging", CLUSTER, PRODUCTION_CLUSTER, inputs(drop("addonProfiles.omsagent")), "no oms"),
    Break(
        "aks-azure-monitor-logging",
        CLUSTER,
        "cluster-staging-aks",
        inputs(drop("addonProfiles.omsagent.config.logAnalyticsWorkspaceResourceID")),
        "no workspace",
        stack="dev",
    ),
    Break(
        "aks-container-insights-aad-auth",
        CLUSTER,
        PRODUCTION_CLUSTER,
        inputs(put("addonProfiles.omsagent.config.useAADAuth", "false")),
        "shared-key agent",
    ),
    Break("aks-rbac", CLUSTER, PRODUCTION_CLUSTER, inputs(put("enableRBAC", False)), "rbac off"),
    Break(
        "aks-entra-azure-rbac",
        CLUSTER,
        PRODUCTION_CLUSTER,
        inputs(put("aadProfile.enableAzureRBAC", False)),
        "kubernetes rbac only",
    ),
    Break("aks-entra-azure-rbac", CLUSTER, PRODUCTION_CLUSTER, inputs(drop("aadProfile")), "no entra id", stack="dev"),
    Break(
        "aks-local-accounts-disabled", CLUSTER, PRODUCTION_CLUSTER, inputs(drop("disableLocalAccounts")), "local admin"
    ),
    Break(
        "aks-azure-policy-addon",
        CLUSTER,
        PRODUCTION_CLUSTER,
        inputs(put("addonProfiles.azurepolicy.enabled", False)),
        "no azure policy",
    ),
    Break(
        "aks-network-policy",
        CLUSTER,
        PRODUCTION_CLUSTER,
        inputs(put("networkProfile.networkPolicy", "none")),
        "no network policy",
    ),
    Break(
        "aks-azure-cni", CLUSTER, PRODUCTION_CLUSTER, inputs(put("networkProfile.networkPlugin", "kubenet")), "kubenet"
    ),
    Break(
        "aks-upgrade-channel",
        CLUSTER,
        PRODUCTION_CLUSTER,
        inputs(put("autoUpgradeProfile.upgradeChannel", "none")),
        "no auto-upgrade",
    ),
    Break(
        "aks-dashboard-disabled",
        CLUSTER,
        PRODUCTION_CLUSTER,
        inputs(put("addonProfiles.kubeDashboard", {"enabled": True})),
        "dashboard",
    ),
    Break(
        "aks-http-application-routing-disabled",
        CLUSTER,
        PRODUCTION_CLUSTER,
        inputs(put("addonProfiles.httpApplicationRouting", {"enabled": True})),
        "http routing",
    ),
    Break(
        "aks-node-public-ip-disabled",
        AGENT_POOL,
        PRODUCTION_USER_POOL,
        inputs(put("enableNodePublicIP", True)),
        "public node ip on the user pool",
    ),
    Break(
        "aks-max-pods", CLUSTER, PRODUCTION_CLUSTER, inputs(put("agentPoolProfiles.0.maxPods", 30)), "30 pods a node"
    ),
    Break("aks-max-pods", AGENT_POOL, PRODUCTION_USER_POOL, inputs(put("maxPods", 30)), "30 pods a user node"),
    Break(
        "aks-scale-sets",
        AGENT_POOL,
        PRODUCTION_USER_POOL,
        inputs(put("type", "AvailabilitySet")),
        "availability set",
    ),
    Break(
        "aks-system-pool-critical-addons-only",
        CLUSTER,
        PRODUCTION_CLUSTER,
        inputs(drop("agentPoolProfiles.0.nodeTaints")),
        "untainted system pool",
    ),
    Break(
        "aks-secret-store-rotation",
        CLUSTER,
        PRODUCTION_CLUSTER,
        inputs(put("addonProfiles.azureKeyvaultSecretsProvider.config.enableSecretRotation", "false")),
        "no rotation",
    ),
    Break(
        "aks-workload-identity",
        CLUSTER,
        PRODUCTION_CLUSTER,
        inputs(put("securityProfile.workloadIdentity.enabled", False)),
        "no workload identity",
    ),
    Break(
        "aks-workload-identity",
        CLUSTER,
        PRODUCTION_CLUSTER,
        inputs(drop("oidcIssuerProfile")),
        "no issuer",
        stack="dev",
    ),
    Break(
        "aks-defender-sensor",
        CLUSTER,
        PRODUCTION_CLUSTER,
        inputs(drop("securityProfile.defender")),
        "no defender sensor",
    ),
    Break("aks-paid-tier", CLUSTER, PRODUCTION_CLUSTER, inputs(put("sku.tier", "Free")), "free tier", prod_only=True),
    Break(
        "aks-zones",
        AGENT_POOL,
        PRODUCTION_USER_POOL,
        inputs(put("availabilityZones", ["1"])),
        "one zone",
        prod_only=True,
    ),
    Break(
        "alert-action-group",
        monitoring.METRIC_ALERT,
        "production-node-cpu",
        inputs(put("actions", [])),
        "metric alert to nobody",
    ),
    Break(
        "alert-action-group",
        monitoring.LOG_ALERT,
        "production-oom-killed",
        inputs(put("actions.actionGroups", [])),
        "log alert to nobody",
    ),
    Break(
        "alert-action-group",
        monitoring.HEALTH_ALERT,
        "production-health",
        inputs(put("actions.actionGroups", [])),
        "health alert to nobody",
        stack="dev",
    ),
    Break(
        "alert-action-group", monitoring.METRIC_ALERT, "response-time", inputs(put("enabled", False)), "disabled rule"
    ),
    Break("acr-admin-user-disabled", REGISTRY, PROD_REGISTRY, inputs(put("adminUserEnabled", True)), "admin user"),
    Break(
        "acr-anonymous-pull-disabled",
        REGISTRY,
        "registry-nonprod-registry",
        inputs(put("anonymousPullEnabled", True)),
        "anonymous pull",
        stack="dev",
    ),
    Break("acr-retention-policy", REGISTRY, PROD_REGISTRY, inputs(drop("policies")), "premium without retention"),
    Break(
        "acr-scanning-sku",
        REGISTRY,
        "registry-nonprod-registry",
        inputs(put("sku.name", "Basic")),
        "basic registry",
        prod_only=True,
    ),
    Break(
        "acr-prod-premium",
        REGISTRY,
        PROD_REGISTRY,
        inputs(put("sku.name", "Standard"), drop("policies")),
        "standard production registry",
        prod_only=True,
    ),
    Break(
        "acr-zone-redundancy",
        REGISTRY,
        PROD_REGISTRY,
        inputs(put("zoneRedundancy", "Disabled")),
        "single-zone production registry",
        prod_only=True,
    ),
    # The exemption is the role tag, not the name: without it the non-production registry is held to the rule.
    Break(
        "acr-prod-premium",
        REGISTRY,
        "registry-nonprod-registry",
        inputs(drop(f"tags.{registries.REGISTRY_ROLE_TAG}"), put("sku.name", "Standard"), drop("policies")),
        "non-production registry without its role tag",
        prod_only=True,
    ),
    Break(
        "keyvault-rbac-authorization",
        VAULT,
        "vault",
        inputs(put("properties.enableRbacAuthorization", False)),
        "access policies",
    ),
    Break("keyvault-soft-delete", VAULT, "vault", inputs(put("properties.enableSoftDelete", False)), "no soft delete"),
    Break(
        "keyvault-purge-protection",
        VAULT,
        "vault",
        inputs(drop("properties.enablePurgeProtection")),
        "purgeable vault",
        prod_only=True,
    ),
    Break(
        "keyvault-firewall-default-deny",
        VAULT,
        "vault",
        inputs(put("properties.networkAcls.defaultAction", "Allow")),
        "open firewall",
        prod_only=True,
    ),
    Break(
        "keyvault-public-network-restricted",
        VAULT,
        "vault",
        inputs(put("properties.publicNetworkAccess", "Enabled"), put("properties.networkAcls.ipRules", [])),
        "public with no allowed ranges",
        prod_only=True,
    ),
    Break(
        "role-assignment-no-privileged-roles",
        identity.ROLE_ASSIGNMENT,
        "pipelines-read-secret-appinsights-connection-string",
        inputs(put("roleDefinitionId", f"/providers/Microsoft.Authorization/roleDefinitions/{OWNER}")),
        "owner",
    ),
    Break(
        "role-assignment-resource-scope",
        identity.ROLE_ASSIGNMENT,
        "pipelines-push-nonprod",
        inputs(put("scope", "/subscriptions/00000000-0000-4000-8000-000000000001")),
        "subscription scope",
    ),
    Break(
        "role-definition-no-wildcard-actions",
        identity.ROLE_DEFINITION,
        "policy-test-role-definition",
        inputs(put("permissions.0.actions", ["*"])),
        "custom owner",
    ),
    Break("azure-environment-tag", REGISTRY, PROD_REGISTRY, inputs(drop("tags.environment")), "untagged registry"),
    Break(
        "azure-environment-tag",
        RESOURCE_GROUP,
        "resource-group",
        inputs(put("tags.environment", "production")),
        "unknown environment",
        stack="dev",
    ),
    Break(
        "diagnostics-on-monitored-resources",
        monitoring.DIAGNOSTIC_SETTING,
        "key-vault-diagnostics",
        without_dependency_on(VAULT),
        "vault without diagnostics",
    ),
    Break(
        "devops-service-connection-workload-identity",
        devops.AZURE_RM_CONNECTION,
        "policy-test-azure-connection",
        inputs(put("serviceEndpointAuthenticationScheme", "ServicePrincipal")),
        "service principal secret",
    ),
    Break(
        "devops-service-connection-workload-identity",
        devops.AZURE_CR_CONNECTION,
        "policy-test-registry-connection",
        inputs(put("credentials.serviceprincipalkey", "secret")),
        "federated but with a key",
        stack="dev",
    ),
    Break(
        "devops-pipeline-authorization-scoped",
        devops.PIPELINE_AUTHORIZATION,
        "policy-test-repository-authorization",
        inputs(put("type", "endpoint")),
        "a connection opened to every pipeline",
    ),
    Break(
        "devops-no-open-resource-authorization",
        devops.RESOURCE_AUTHORIZATION,
        "policy-test-resource-authorization",
        inputs(put("authorized", True)),
        "open to every pipeline",
    ),
    Break(
        "devops-pipeline-authorization-scoped",
        devops.PIPELINE_AUTHORIZATION,
        "policy-test-pipeline-authorization",
        inputs(drop("pipelineId")),
        "no pipeline",
    ),
    Break(
        "devops-variable-group-restricted",
        devops.VARIABLE_GROUP,
        "policy-test-variable-group",
        inputs(put("allowAccess", True)),
        "open variable group",
    ),
    Break(
        "devops-build-validation-blocking",
        devops.BUILD_VALIDATION,
        "policy-test-build-validation",
        inputs(put("blocking", False)),
        "optional build",
    ),
    Break(
        "devops-production-environment-checks",
        devops.CHECK_APPROVAL,
        "policy-test-approval",
        inputs(put("requesterCanApprove", True)),
        "self-approval",
    ),
    Break(
        "devops-production-environment-checks",
        devops.CHECK_APPROVAL,
        "policy-test-approval",
        without_dependency_on(devops.ENVIRONMENT),
        "approval on another resource",
        stack="dev",
    ),
    Break(
        "devops-production-environment-checks",
        devops.CHECK_BRANCH_CONTROL,
        "policy-test-branch-control",
        inputs(put("allowedBranches", "*")),
        "any branch",
    ),
    Break(
        "devops-production-environment-checks",
        devops.CHECK_BRANCH_CONTROL,
        "policy-test-branch-control",
        inputs(put("verifyBranchProtection", False)),
        "unprotected branch",
    ),
    Break(
        "devops-min-reviewers",
        devops.MIN_REVIEWERS,
        "policy-test-min-reviewers",
        inputs(put("settings.reviewerCount", 1)),
        "one reviewer",
        prod_only=True,
    ),
    Break(
        "devops-min-reviewers",
        devops.MIN_REVIEWERS,
        "policy-test-min-reviewers",
        inputs(put("settings.submitterCanVote", True)),
        "author votes",
        stack="dev",
    ),
    Break(
        "devops-min-reviewers",
        devops.MIN_REVIEWERS,
        "policy-test-min-reviewers",
        without_dependency_on(devops.GIT_REPOSITORY),
        "repository without reviewers",
        stack="dev",
    ),
)


def _break_id(case: Break) -> str:
    return f"{case.policy}[{case.stack}:{case.why}]"


def _apply(case: Break, estate: list[Registration]) -> tuple[Registration, list[offline.Violation]]:
    """Break the case's resource in `estate`; the violations of the case's kind of policy (resource or stack)."""
    target = pick(estate, case.token, case.named)
    broken = case.change(target)
    if BY_NAME[case.policy] in STACK_POLICIES:
        return target, offline.evaluate(STACK_POLICIES, replaced(estate, broken))
    return target, _resource_violations(broken)


# --- tests -----------------------------------------------------------------------------------------------------------


def test_every_policy_passes_the_estate(estate: Capture) -> None:
    assert offline.evaluate(POLICIES, estate.resources) == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_policy_passes_the_estate_with_the_synthetic_resources(
    estates: dict[str, list[Registration]], stack: str
) -> None:
    assert offline.evaluate(POLICIES, estates[stack]) == []


@pytest.mark.parametrize("case", BREAKS, ids=_break_id)
def test_a_broken_input_fails_the_rule_made_for_it(estates: dict[str, list[Registration]], case: Break) -> None:
    target, violations = _apply(case, estates[case.stack])
    named = [v for v in violations if v.policy == case.policy]
    assert named, f"{case.policy} let {case.why} through; fired: {sorted({v.policy for v in violations})}"
    assert not any(v.unknown for v in named)
    if BY_NAME[case.policy] not in STACK_POLICIES:
        assert all(v.urn == target.urn and v.message.startswith(f"{target.name}: ") for v in named)


@pytest.mark.parametrize("case", [case for case in BREAKS if case.prod_only], ids=_break_id)
def test_prod_only_rules_let_the_same_change_through_on_dev(
    estates: dict[str, list[Registration]], case: Break
) -> None:
    _, violations = _apply(dataclasses.replace(case, stack="dev"), estates["dev"])
    assert [v for v in violations if v.policy == case.policy] == []


def test_every_rule_has_a_broken_case() -> None:
    # The bootstrap's rules are broken on the bootstrap's inventory, in tests/test_bootstrap_policy.py; the private
    # estate's in tests/test_policy_network.py; the agent pool's in tests/test_policy_pool.py.
    from tests.test_policy_pool import BROKEN_RULES as POOL_BROKEN_RULES  # noqa: PLC0415 - it imports this module

    assert sorted(BY_NAME) == sorted(
        {case.policy for case in BREAKS} | BOOTSTRAP_BROKEN_RULES | NETWORK_BROKEN_RULES | POOL_BROKEN_RULES
    )


def test_a_value_known_only_after_the_update_is_not_a_violation(estates: dict[str, list[Registration]]) -> None:
    authorization = pick(estates["prod"], devops.PIPELINE_AUTHORIZATION, "policy-test-pipeline-authorization")
    assert _resource_violations(inputs(put("pipelineId", UNKNOWN_NUMBER_VALUE))(authorization)) == []
    # A rule that must read the unknown value is reported as undecided, as pulumi-policy does during preview.
    cluster = pick(estates["prod"], CLUSTER, PRODUCTION_CLUSTER)
    undecided = _resource_violations(inputs(put("sku.tier", UNKNOWN_STRING_VALUE))(cluster))
    assert [(v.policy, v.unknown) for v in undecided] == [("aks-paid-tier", True)]


def test_devops_without_a_recognisable_production_environment_fails() -> None:
    renamed = [
        inputs(put("name", "live"))(r) if r.name == "policy-test-environment-production" else r
        for r in synthetic("prod")
    ]
    violations = offline.evaluate([BY_NAME["devops-production-environment-checks"]], renamed)
    assert [v.message for v in violations] == [
        "no Azure Pipelines environment is recognisably production (name with 'prod'): ['live', 'staging']"
    ]


# --- the pack as the CLI runs it -------------------------------------------------------------------------------------


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


@pytest.fixture(scope="module")
def analyzer() -> Iterator[Any]:
    """The pack started the way `pulumi preview --policy-pack policy` starts it, as a gRPC analyzer."""
    # The engine address is a required argument the analyzer never dials.
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(POLICY_DIR)],
        cwd=POLICY_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), f"the pack did not start: {port!r} {process.stderr.read() if process.stderr else ''}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.wait()


def test_the_cli_loads_every_rule_as_mandatory(analyzer: Any) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "aks-estate"
    assert [policy.name for policy in info.policies] == list(BY_NAME)
    mandatory = analyzer_pb2.EnforcementLevel.Value(EnforcementLevel.MANDATORY.name)
    assert {policy.enforcementLevel for policy in info.policies} == {mandatory}
    # The metadata the CLI shows beside each rule is the rule's own, as it reached the engine.
    served = {p.name: (p.framework.name, p.framework.reference, p.severity, p.remediation_steps) for p in info.policies}
    severity = analyzer_pb2.PolicySeverity.Value
    assert served == {
        p.name: (
            p.framework.name,
            p.framework.reference,
            severity(f"POLICY_SEVERITY_{p.severity.name}"),
            p.remediation_steps,
        )
        for p in POLICIES
    }


def _analyze_stack(analyzer: Any, estate: list[Registration]) -> list[str]:
    request = analyzer_pb2.AnalyzeStackRequest(
        resources=[
            analyzer_pb2.AnalyzerResource(
                type=r.type,
                properties=_struct({**r.outputs, **r.inputs}),
                urn=r.urn,
                name=r.name,
                parent=r.parent or "",
                dependencies=list(r.dependencies),
            )
            for r in estate
        ]
    )
    return sorted(diagnostic.policyName for diagnostic in analyzer.AnalyzeStack(request).diagnostics)


def test_the_cli_agrees_with_the_offline_adapter(analyzer: Any, estates: dict[str, list[Registration]]) -> None:
    estate = estates["prod"]
    assert _analyze_stack(analyzer, estate) == []
    diagnostics = pick(estate, monitoring.DIAGNOSTIC_SETTING, "key-vault-diagnostics")
    unwired = [without_dependency_on(VAULT)(r) if r is diagnostics else r for r in estate]
    offline_stack = sorted(v.policy for v in offline.evaluate(STACK_POLICIES, unwired))
    assert _analyze_stack(analyzer, unwired) == offline_stack == ["diagnostics-on-monitored-resources"]

    cluster = inputs(put("disableLocalAccounts", False), put("sku.tier", "Free"))(pick(estate, CLUSTER, "production"))
    response = analyzer.Analyze(
        analyzer_pb2.AnalyzeRequest(
            type=cluster.type, properties=_struct(cluster.inputs), urn=cluster.urn, name=cluster.name
        )
    )
    served = sorted(diagnostic.policyName for diagnostic in response.diagnostics)
    offline_resource = sorted(v.policy for v in _resource_violations(cluster))
    assert served == offline_resource == ["aks-local-accounts-disabled", "aks-paid-tier"]
