"""What the IaC identities may do in the Azure DevOps organisation, granted as narrowly as the provider allows.

An identity that signs in to Azure DevOps (the provider's Azure CLI authentication inside the pipeline's AzureCLI
task) must be a member of the organisation. The preview identities only read (Stakeholder access), but a project is
invisible to anyone outside it: the provider's data sources read projects with CoreClient.GetProject
(terraform-provider-azuredevops azuredevops/internal/service/core/data_project.go, dataProjectRead), which answers
"not found" to an organisation member without "View project-level information" (docs: permissions reference, Project
Valid Users). So every IaC identity whose stack reads the IaC project is a member of its Readers, and each estate stack
adds its preview identity to its own project's Readers (components/devops/project.py). The deploy
identities create the estate's project, and a project's creator administers it, so the one organisation-level right
they need is "Create new projects" (namespace "Collection", action CREATE_PROJECTS: learn.microsoft.com/azure/devops/
organizations/security/namespace-reference); everything inside the estate's projects follows from creating them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_azuredevops as azuredevops

from bootstrap.component import BootstrapComponent

# The "Collection" namespace has the same ID in every organisation, and one token for the whole organisation: the
# provider's own token generator says so (microsoft/terraform-provider-azuredevops, azuredevops/internal/service/
# security/data_security_namespace_token.go, namespaceTokenTemplates["3e65f728-..."] = "NAMESPACE:").
COLLECTION_NAMESPACE_ID = "3e65f728-f8bc-4ecd-8764-7e378b19bfa7"
COLLECTION_TOKEN = "NAMESPACE:"


@dataclass(frozen=True)
class OrganisationAccessArgs:
    # Keyed by identity name; the values are the identities' service principal object IDs.
    readers: Mapping[str, pulumi.Input[str]]
    project_creators: Mapping[str, pulumi.Input[str]]
    # The IaC project, and the deploy and preview identities of the stack that builds the Managed DevOps Pool
    # serving it: only that stack's program reads the IaC project.
    iac_project_id: pulumi.Input[str]
    pool_owner: str
    pool_previewer: str


class OrganisationAccess(BootstrapComponent):
    # The readers' graph descriptors by identity name: an estate stack names its preview identity by it
    # (aks-estate:iacPreviewIdentity).
    reader_descriptors: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: OrganisationAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("OrganisationAccess", name, opts)
        iac_readers = azuredevops.get_group_output(
            project_id=args.iac_project_id, name="Readers", opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.reader_descriptors = {}
        for identity, object_id in args.readers.items():
            reader = self._member(f"{name}-{identity}", object_id, "stakeholder")
            if identity == args.pool_previewer:
                # A pull request's preview of prod reads the IaC project by name (components/devops/agent_queue.py);
                # no other stack's program does, so no other preview identity, which runs unapproved pull
                # requests' code, is made a member.
                azuredevops.GroupMembership(
                    f"{name}-{identity}-iac-readers",
                    group=iac_readers.descriptor,
                    members=[reader.descriptor],
                    mode="add",
                    opts=self.child,
                )
            self.reader_descriptors[identity] = reader.descriptor
        for identity, object_id in args.project_creators.items():
            # Basic access: the estate's stacks create repositories and pipelines, which Stakeholders cannot.
            member = self._member(f"{name}-{identity}", object_id, "express")
            azuredevops.SecurityPermissions(
                f"{name}-{identity}-create-projects",
                namespace_id=COLLECTION_NAMESPACE_ID,
                token=COLLECTION_TOKEN,
                principal=member.descriptor,
                permissions={"CREATE_PROJECTS": "Allow"},
                replace=False,
                opts=self.child,
            )
            if identity == args.pool_owner:
                self._serve_iac_project(f"{name}-{identity}", member, args.iac_project_id, iac_readers.descriptor)
        self.register_outputs({"readerDescriptors": self.reader_descriptors})

    def _member(
        self, name: str, object_id: pulumi.Input[str], licence: Literal["stakeholder", "express"]
    ) -> azuredevops.ServicePrincipalEntitlement:
        """The identity as a member of the organisation, by its Entra ID object ID, with the access level `licence`."""
        return azuredevops.ServicePrincipalEntitlement(
            name, origin="aad", origin_id=object_id, account_license_type=licence, opts=self.child
        )

    def _serve_iac_project(
        self,
        name: str,
        member: azuredevops.ServicePrincipalEntitlement,
        project_id: pulumi.Input[str],
        readers: pulumi.Input[str],
    ) -> None:
        """What the pool's stack does in the IaC project. The Managed DevOps Pools service creates the pool's queue in
        each project it lists as the identity that creates or updates the pool, which needs Administrator or Creator
        on the project's agent queues (docs/managed-devops-pools/prerequisites.md, "Verify Azure DevOps permissions");
        the stack then authorizes the IaC definitions on that queue (a queue Administrator's right) after reading them
        by name (project Readers)."""
        # Scope `distributedtask.globalagentqueuerole` on the project ID is the project's node for all its queues
        # (securityroles REST API, Role Assignments - Set Role Assignments, .../scopes/<scope>/roleassignments/
        # resources/<project id>); identity_id takes the member's identity UUID (terraform-provider-azuredevops
        # resource_securityrole_assignment.go), which its entitlement's ID is (MemberEntitlements API).
        azuredevops.SecurityroleAssignment(
            f"{name}-iac-queues",
            scope="distributedtask.globalagentqueuerole",
            resource_id=project_id,
            identity_id=member.id,
            role_name="Administrator",
            opts=self.child,
        )
        azuredevops.GroupMembership(
            f"{name}-iac-readers", group=readers, members=[member.descriptor], mode="add", opts=self.child
        )
