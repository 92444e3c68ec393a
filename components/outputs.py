"""What an operator needs from a stack, as stack outputs: names, portal links, commands and entry points."""

from __future__ import annotations

from typing import Any

import pulumi

from components.estate import Estate


def _portal_link(tenant_id: pulumi.Input[str], resource_id: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.concat("https://portal.azure.com/#@", tenant_id, "/resource", resource_id, "/overview")


def stack_outputs(estate: Estate) -> dict[str, Any]:
    clusters, registries = estate.clusters, estate.registries
    return {
        "resourceGroupName": estate.resource_group_name,
        "keyVaultName": estate.key_vault.vault_name,
        "keyVaultUri": estate.key_vault.vault_uri,
        "logAnalyticsWorkspaceId": estate.monitoring.workspace_id,
        # A secret: whoever holds it can send telemetry into the workspace.
        "appInsightsConnectionString": estate.monitoring.app_insights_connection_string,
        "pipelinesIdentityClientId": estate.pipelines_identity.client_id,
        "registries": {role: registry.login_server for role, registry in registries.items()},
        "clusters": {stage: cluster.cluster_name for stage, cluster in clusters.items()},
        "getCredentialsCommands": {
            stage: pulumi.Output.format(
                "az aks get-credentials --resource-group {0} --name {1} --format azure",
                estate.resource_group_name,
                cluster.cluster_name,
            )
            for stage, cluster in clusters.items()
        },
        "portalLinks": {
            **{f"cluster-{stage}": _portal_link(estate.tenant_id, c.cluster_id) for stage, c in clusters.items()},
            **{f"registry-{role}": _portal_link(estate.tenant_id, r.registry_id) for role, r in registries.items()},
            "keyVault": _portal_link(estate.tenant_id, estate.key_vault.vault_id),
            "appInsights": _portal_link(estate.tenant_id, estate.monitoring.app_insights_id),
        },
        "devopsProjectUrl": estate.devops.project_url,
        "repositoryUrls": estate.devops.repository_urls,
        "pipelineIds": estate.devops.pipeline_ids,
        "environments": estate.devops.environment_names,
        "agentPoolEgress": estate.agent_pool_egress,
    }
