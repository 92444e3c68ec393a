"""Where each rule comes from, as pulumi-policy's `PolicyComplianceFramework`: a checkov check or a Microsoft document.

The Pulumi CLI shows a policy's framework, severity and remediation steps (`GetAnalyzerInfo`, pulumi_policy/policy.py
`_PolicyAnalyzerServicer.GetAnalyzerInfo`), so a rule's source lives in that metadata, not in its description.
"""

from __future__ import annotations

from pulumi_policy import PolicyComplianceFramework

CHECKOV = "checkov"
CHECKOV_VERSION = "3.3.30"
ARCHITECTURE = "architecture"
# Each check's title and file as checkov 3.3.30 ships them (checkov/terraform/checks/...); tests/test_policy.py reads
# the installed checkov in .venv-validators to keep this table true.
CHECKOV_CHECKS = {
    "CKV_AZURE_4": ("Ensure AKS logging to Azure Monitoring is Configured", "resource/azure/AKSLoggingEnabled.py"),
    "CKV_AZURE_5": ("Ensure RBAC is enabled on AKS clusters", "resource/azure/AKSRbacEnabled.py"),
    "CKV_AZURE_7": ("Ensure AKS cluster has Network Policy configured", "resource/azure/AKSNetworkPolicy.py"),
    "CKV_AZURE_8": ("Ensure Kubernetes Dashboard is disabled", "resource/azure/AKSDashboardDisabled.py"),
    "CKV_AZURE_116": ("Ensure that AKS uses Azure Policies Add-on", "resource/azure/AKSUsesAzurePoliciesAddon.py"),
    "CKV_AZURE_141": ("Ensure AKS local admin account is disabled", "resource/azure/AKSLocalAdminDisabled.py"),
    "CKV_AZURE_143": (
        "Ensure AKS cluster nodes do not have public IP addresses",
        "resource/azure/AKSNodePublicIpDisabled.py",
    ),
    "CKV_AZURE_168": (
        "Ensure Azure Kubernetes Cluster (AKS) nodes should use a minimum number of 50 pods.",
        "resource/azure/AKSMaxPodsMinimum.py",
    ),
    "CKV_AZURE_169": (
        "Ensure Azure Kubernetes Cluster (AKS) nodes use scale sets",
        "resource/azure/AKSPoolTypeIsScaleSet.py",
    ),
    "CKV_AZURE_170": ("Ensure that AKS use the Paid Sku for its SLA", "resource/azure/AKSIsPaidSku.py"),
    "CKV_AZURE_171": ("Ensure AKS cluster upgrade channel is chosen", "resource/azure/AKSUpgradeChannel.py"),
    "CKV_AZURE_172": (
        "Ensure autorotation of Secrets Store CSI Driver secrets for AKS clusters",
        "resource/azure/AKSSecretStoreRotation.py",
    ),
    "CKV_AZURE_232": (
        "Ensure that only critical system pods run on system nodes",
        "resource/azure/AKSOnlyCriticalPodsOnSystemNodes.py",
    ),
    "CKV_AZURE_246": (
        "Ensure Azure AKS cluster HTTP application routing is disabled",
        "resource/azure/KubernetesClusterHTTPApplicationRouting.py",
    ),
    "CKV2_AZURE_29": (
        "Ensure AKS cluster has Azure CNI networking enabled",
        "graph_checks/azure/AzureAKSclusterAzureCNIEnabled.json",
    ),
    "CKV_AZURE_137": ("Ensure ACR admin account is disabled", "resource/azure/ACRAdminAccountDisabled.py"),
    "CKV_AZURE_138": (
        "Ensures that ACR disables anonymous pulling of images",
        "resource/azure/ACRAnonymousPullDisabled.py",
    ),
    "CKV_AZURE_163": (
        "Enable vulnerability scanning for container images.",
        "resource/azure/ACRContainerScanEnabled.py",
    ),
    "CKV_AZURE_167": (
        "Ensure a retention policy is set to cleanup untagged manifests.",
        "resource/azure/ACREnableRetentionPolicy.py",
    ),
    "CKV_AZURE_233": (
        "Ensure Azure Container Registry (ACR) is zone redundant",
        "resource/azure/ACREnableZoneRedundancy.py",
    ),
    "CKV_AZURE_42": ("Ensure the key vault is recoverable", "resource/azure/KeyvaultRecoveryEnabled.py"),
    "CKV_AZURE_109": (
        "Ensure that key vault allows firewall rules settings",
        "resource/azure/KeyVaultEnablesFirewallRulesSettings.py",
    ),
    "CKV_AZURE_110": (
        "Ensure that key vault enables purge protection",
        "resource/azure/KeyVaultEnablesPurgeProtection.py",
    ),
    "CKV_AZURE_111": ("Ensure that key vault enables soft delete", "resource/azure/KeyVaultEnablesSoftDelete.py"),
    "CKV_AZURE_189": (
        "Ensure that Azure Key Vault disables public network access",
        "resource/azure/KeyVaultDisablesPublicNetworkAccess.py",
    ),
    "CKV_AZURE_39": (
        "Ensure that no custom subscription owner roles are created",
        "resource/azure/CutsomRoleDefinitionSubscriptionOwner.py",
    ),
    "CKV2_ADO_1": (
        "Ensure at least two approving reviews for PRs",
        "graph_checks/azuredevops/ADORepositoryHasMinTwoReviewers.json",
    ),
}


def checkov(*check_ids: str) -> PolicyComplianceFramework:
    """The checkov checks a rule translates to azure-native inputs; an unknown ID fails at import."""
    titles = [CHECKOV_CHECKS[check_id][0] for check_id in check_ids]
    return PolicyComplianceFramework(
        name=CHECKOV, version=CHECKOV_VERSION, reference=", ".join(check_ids), specification="; ".join(titles)
    )


def architecture(document: str, requirement: str) -> PolicyComplianceFramework:
    """A requirement of the reference architecture, or of the Microsoft document (an https URL) that states it."""
    return PolicyComplianceFramework(name=ARCHITECTURE, reference=document, specification=requirement)


def url(framework: PolicyComplianceFramework) -> str:
    """Where to read the source: the first checkov check's file at its release, or the Microsoft document."""
    if framework.name == CHECKOV:
        _title, path = CHECKOV_CHECKS[str(framework.reference).split(", ")[0]]
        return f"https://github.com/bridgecrewio/checkov/blob/{CHECKOV_VERSION}/checkov/terraform/checks/{path}"
    return str(framework.reference)


# Microsoft documents the architecture's own rules come from.
REFERENCE_ARCHITECTURE = "https://learn.microsoft.com/azure/architecture/guide/aks/aks-cicd-azure-pipelines"
LEAST_PRIVILEGE = "https://learn.microsoft.com/azure/role-based-access-control/best-practices"
DEVOPS_PIPELINE_SECURITY = "https://learn.microsoft.com/azure/devops/pipelines/security/resources"
