"""Pulumi's state backend: one storage account reached through Entra ID only, one blob container per stack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import storage

from bootstrap.component import BootstrapComponent
from components.component import Placement


@dataclass(frozen=True)
class StateBackendArgs:
    placement: Placement
    account_name: str
    container_names: Sequence[str]
    soft_delete_days: int


class StateBackend(BootstrapComponent):
    account_name: pulumi.Output[str]
    account_id: pulumi.Output[str]
    container_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("StateBackend", name, opts)
        # Losing state orphans every resource of the estate: everything here is protected.
        account = storage.StorageAccount(
            f"{name}-account",
            account_name=args.account_name,
            **args.placement,
            kind=storage.Kind.STORAGE_V2,
            # Geo-redundant: state outlives a regional outage; every region offers GRS (not every region has zones).
            sku=storage.SkuArgs(name=storage.SkuName.STANDARD_GRS),
            # Pulumi's azblob backend (go-cloud azureblob) signs in with Entra ID (DefaultAzureCredential) when no
            # AZURE_STORAGE_KEY is set, so no account key is ever needed.
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_blob_public_access=False,
            allow_cross_tenant_replication=False,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            enable_https_traffic_only=True,
            opts=self.kept,
        )
        storage.BlobServiceProperties(
            f"{name}-blob-service",
            account_name=account.name,
            resource_group_name=args.placement["resource_group_name"],
            blob_services_name="default",
            # Every write of a checkpoint keeps the previous version; a deleted blob or container can be restored.
            is_versioning_enabled=True,
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=args.soft_delete_days),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=args.soft_delete_days
            ),
            opts=self.child,
        )
        # Every checkpoint write keeps the previous version, so without a lifecycle rule the versions grow without
        # bound. A previous version older than the soft-delete window goes: its age counts from when that content was
        # first written, not from when an overwrite made it previous (learn.microsoft.com/azure/storage/blobs/
        # lifecycle-management-policy-structure, "Action run conditions"; versioning-overview), so after a quiet
        # spell the checkpoint an `up` replaced goes at the next policy run. Deleting a version with soft delete on
        # soft-deletes it (versioning-overview, "Deleting a blob or version"): it stays restorable for the
        # soft-delete days. The diy backend writes block blobs (go-cloud blob/azureblob, UploadStream), the only
        # type the filter names.
        storage.ManagementPolicy(
            f"{name}-lifecycle",
            account_name=account.name,
            resource_group_name=args.placement["resource_group_name"],
            management_policy_name="default",
            policy=storage.ManagementPolicySchemaArgs(
                rules=[
                    storage.ManagementPolicyRuleArgs(
                        name="expire-previous-state-versions",
                        type=storage.RuleType.LIFECYCLE,
                        enabled=True,
                        definition=storage.ManagementPolicyDefinitionArgs(
                            actions=storage.ManagementPolicyActionArgs(
                                version=storage.ManagementPolicyVersionArgs(
                                    delete=storage.DateAfterCreationArgs(
                                        days_after_creation_greater_than=args.soft_delete_days
                                    )
                                )
                            ),
                            filters=storage.ManagementPolicyFilterArgs(blob_types=["blockBlob"]),
                        ),
                    )
                ]
            ),
            opts=self.child,
        )
        self.container_ids = {}
        for container_name in args.container_names:
            container = storage.BlobContainer(
                f"{name}-{container_name}",
                account_name=account.name,
                resource_group_name=args.placement["resource_group_name"],
                container_name=container_name,
                public_access=storage.PublicAccess.NONE,
                opts=self.kept,
            )
            self.container_ids[container_name] = container.id
        self.account_name = account.name
        self.account_id = account.id
        self.register_outputs({"accountName": self.account_name, "containerIds": self.container_ids})
