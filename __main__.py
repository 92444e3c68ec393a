"""aks-estate: CI/CD for microservices on AKS with Azure Pipelines, as one Pulumi stack."""

import pulumi

from components import config
from components.estate import Estate

settings = config.from_pulumi()
estate = Estate("estate", settings)

pulumi.export("resourceGroupName", estate.resource_group_name)
pulumi.export("keyVaultName", estate.key_vault.vault_name)
pulumi.export("keyVaultUri", estate.key_vault.vault_uri)
pulumi.export("logAnalyticsWorkspaceId", estate.monitoring.workspace_id)
pulumi.export("appInsightsConnectionString", estate.monitoring.app_insights_connection_string)
pulumi.export("pipelinesIdentityClientId", estate.pipelines_identity.client_id)
pulumi.export("registries", {role: registry.login_server for role, registry in estate.registries.items()})
pulumi.export("clusters", {stage: cluster.cluster_name for stage, cluster in estate.clusters.items()})
pulumi.export(
    "getCredentialsCommands",
    {
        stage: pulumi.Output.format(
            "az aks get-credentials --resource-group {0} --name {1} --format azure", estate.resource_group_name, name
        )
        for stage, name in ((stage, cluster.cluster_name) for stage, cluster in estate.clusters.items())
    },
)
pulumi.export("devopsProjectUrl", estate.devops.project_url)
pulumi.export("repositoryUrls", estate.devops.repository_urls)
pulumi.export("pipelineIds", estate.devops.pipeline_ids)
pulumi.export("environments", estate.devops.environment_names)
