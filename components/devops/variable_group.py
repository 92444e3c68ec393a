"""The variable group that maps the CI secrets of the Key Vault into pipeline variables, read at job start."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azuredevops as azuredevops


@dataclass(frozen=True)
class KeyVaultVariableGroupArgs:
    project_id: pulumi.Input[str]
    group_name: str
    key_vault_name: pulumi.Input[str]
    secret_names: Sequence[str]
    azure_connection_id: pulumi.Input[str]
    # Azure DevOps lists the vault's secrets through the connection when the group is saved, so the group waits
    # until that connection can sign in (its federated credentials), may read secret metadata (its role), and the
    # secrets it maps exist. Role assignments can take minutes to apply: a first run may need `pulumi up` again.
    ready: Sequence[pulumi.Input[str]]


class KeyVaultVariableGroup(pulumi.ComponentResource):
    group_id: pulumi.Output[str]

    def __init__(self, name: str, args: KeyVaultVariableGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:KeyVaultVariableGroup", name, None, opts)
        vault_name = pulumi.Output.all(args.key_vault_name, *args.ready).apply(lambda values: str(values[0]))
        group = azuredevops.VariableGroup(
            f"{name}-group",
            project_id=args.project_id,
            name=args.group_name,
            description="aks-estate: integration-test secrets, linked to Key Vault; authorized for CI pipelines only",
            # Not open to every pipeline of the project: each CI definition is authorized on its own.
            allow_access=False,
            key_vault=azuredevops.VariableGroupKeyVaultArgs(
                name=vault_name, service_endpoint_id=args.azure_connection_id
            ),
            variables=[azuredevops.VariableGroupVariableArgs(name=secret) for secret in sorted(args.secret_names)],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.group_id = group.id
        self.register_outputs({"groupId": self.group_id})
