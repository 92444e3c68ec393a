"""Microsoft Defender for Cloud plans and the Defender for DevOps connector."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import security

from components.component import Component, Placement

# Defender for Containers covers the AKS clusters and the registries' vulnerability assessment; the former
# "ContainerRegistry" plan was folded into it and is deprecated, so it is not enabled separately.
PLANS: dict[str, str | None] = {"Containers": None, "KeyVaults": "PerKeyVault"}
# Seeds the connector's hierarchy identifier, a GUID in Microsoft's own Azure DevOps connector examples; stable per
# subscription and organisation, since changing it replaces the connector.
CONNECTOR_NAMESPACE = uuid.UUID("0c1d9a4e-7b3f-5e2a-8c6d-4f1a2b3c4d5e")


@dataclass(frozen=True)
class DefenderArgs:
    subscription_id: pulumi.Input[str]
    manage_plans: bool
    devops_connector: bool
    placement: Placement
    connector_name: str
    devops_organization: str


class Defender(Component):
    connector_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: DefenderArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:security:Defender", name, opts)
        if args.manage_plans:
            for plan, sub_plan in PLANS.items():
                security.Pricing(
                    f"{name}-{plan.lower()}",
                    pricing_name=plan,
                    pricing_tier=security.PricingTier.STANDARD,
                    sub_plan=sub_plan,
                    scope_id=pulumi.Output.concat("/subscriptions/", args.subscription_id),
                    # Plans are subscription-wide: destroying this stack must not switch protection off for
                    # everything else in the subscription.
                    opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
                )
        self.connector_id = None
        if args.devops_connector:
            # Creating the connector is half of onboarding: Azure then needs a one-time OAuth authorization of the
            # Azure DevOps organisation by a person in the Defender for Cloud portal (README, "Manual steps").
            connector = security.SecurityConnector(
                f"{name}-devops-connector",
                security_connector_name=args.connector_name,
                **args.placement,
                environment_name=security.CloudName.AZURE_DEV_OPS,
                hierarchy_identifier=pulumi.Output.from_input(args.subscription_id).apply(
                    lambda subscription: str(
                        uuid.uuid5(CONNECTOR_NAMESPACE, f"{subscription}/azuredevops/{args.devops_organization}")
                    )
                ),
                environment_data=security.AzureDevOpsScopeEnvironmentDataArgs(environment_type="AzureDevOpsScope"),
                offerings=[security.CspmMonitorAzureDevOpsOfferingArgs(offering_type="CspmMonitorAzureDevOps")],
                opts=self.child,
            )
            self.connector_id = connector.id
        self.register_outputs({"connectorId": self.connector_id})
