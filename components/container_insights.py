"""Container Insights on the Azure Monitor Agent for one cluster: its data collection rule and the associations."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import monitor

from components.component import Placement

CONTAINER_INSIGHTS_STREAM = "Microsoft-ContainerInsights-Group-Default"


@dataclass(frozen=True)
class ContainerInsightsArgs:
    rule_name: str
    cluster_name: str
    placement: Placement
    workspace_id: pulumi.Input[str]
    # Set where the workspace ingests through a private link: the agents' configuration endpoint.
    data_collection_endpoint_id: pulumi.Input[str] | None


def collect_container_insights(
    name: str, args: ContainerInsightsArgs, cluster_id: pulumi.Input[str], *, parent: pulumi.Resource
) -> None:
    """The cluster's Container Insights data flows to the workspace through a rule of its own, children of `parent`."""
    child = pulumi.ResourceOptions(parent=parent)
    rule = monitor.DataCollectionRule(
        f"{name}-container-insights",
        data_collection_rule_name=args.rule_name,
        **args.placement,
        kind="Linux",
        description=f"Container Insights for {args.cluster_name}",
        data_sources=monitor.DataCollectionRuleDataSourcesArgs(
            extensions=[
                monitor.ExtensionDataSourceArgs(
                    name="ContainerInsightsExtension",
                    extension_name="ContainerInsights",
                    streams=[CONTAINER_INSIGHTS_STREAM],
                    extension_settings={
                        "dataCollectionSettings": {
                            "interval": "1m",
                            "namespaceFilteringMode": "Off",
                            "enableContainerLogV2": True,
                        }
                    },
                )
            ]
        ),
        destinations=monitor.DataCollectionRuleDestinationsArgs(
            log_analytics=[
                monitor.LogAnalyticsDestinationArgs(name="ciworkspace", workspace_resource_id=args.workspace_id)
            ]
        ),
        data_flows=[monitor.DataFlowArgs(streams=[CONTAINER_INSIGHTS_STREAM], destinations=["ciworkspace"])],
        opts=child,
    )
    monitor.DataCollectionRuleAssociation(
        f"{name}-container-insights-association",
        association_name="ContainerInsightsExtension",
        resource_uri=cluster_id,
        data_collection_rule_id=rule.id,
        description="Routes this cluster's Container Insights data through its data collection rule.",
        opts=child,
    )
    if args.data_collection_endpoint_id is not None:
        # The name is Azure's: "The DCR association name must be configurationAccessEndpoint"
        # (learn.microsoft.com/azure/azure-monitor/containers/container-insights-enable-aks, "Private link").
        monitor.DataCollectionRuleAssociation(
            f"{name}-configuration-access-endpoint",
            association_name="configurationAccessEndpoint",
            resource_uri=cluster_id,
            data_collection_endpoint_id=args.data_collection_endpoint_id,
            description="The Azure Monitor Agent's configuration endpoint, reached through the private link.",
            opts=child,
        )
