"""What an operator needs from a stack, as stack outputs: names, portal links, commands and entry points."""

from __future__ import annotations

from typing import Any

import pulumi

from components.estate import Estate


def _portal_link(tenant_id: pulumi.Input[str], resource_id: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.concat("https://portal.azure.com/#@", tenant_id, "/resource", resource_id, "/overview")


def stack_outputs(estate: Estate) -> dict[str, Any]:
    """Read only the estate's own outputs: its parts are its business."""
    tenant = estate.tenant_id
    return {
        "resourceGroupName": estate.resource_group_name,
        "keyVaultName": estate.key_vault_name,
        "keyVaultUri": estate.key_vault_uri,
        "logAnalyticsWorkspaceId": estate.workspace_id,
        # A secret: whoever holds it can send telemetry into the workspace.
        "appInsightsConnectionString": estate.app_insights_connection_string,
        "pipelinesIdentityClientId": estate.pipelines_identity_client_id,
        "registries": estate.registry_login_servers,
        "clusters": estate.cluster_names,
        "getCredentialsCommands": {
            stage: pulumi.Output.format(
                "az aks get-credentials --resource-group {0} --name {1} --format azure",
                estate.resource_group_name,
                cluster_name,
            )
            for stage, cluster_name in estate.cluster_names.items()
        },
        "portalLinks": {
            **{f"cluster-{stage}": _portal_link(tenant, cluster) for stage, cluster in estate.cluster_ids.items()},
            **{f"registry-{role}": _portal_link(tenant, registry) for role, registry in estate.registry_ids.items()},
            "keyVault": _portal_link(tenant, estate.key_vault_id),
            "appInsights": _portal_link(tenant, estate.app_insights_id),
        },
        "devopsProjectUrl": estate.devops_project_url,
        "repositoryUrls": estate.repository_urls,
        "pipelineIds": estate.pipeline_ids,
        "environments": estate.environment_names,
        "agentPoolEgress": estate.agent_pool_egress,
    }
