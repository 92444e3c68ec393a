"""The private Azure DevOps project that holds the service repositories, pipelines and environments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

import pulumi
import pulumi_azuredevops as azuredevops

from components.component import Component

# Repos and Pipelines carry the architecture; Boards stays on so pull requests can link work items. Test Plans (a
# paid extension) and Artifacts (the pipelines publish pipeline artifacts, not feed packages) are unused surface.
FEATURES = {
    "boards": "enabled",
    "repositories": "enabled",
    "pipelines": "enabled",
    "testplans": "disabled",
    "artifacts": "disabled",
}


# The extension that provides CI's MicrosoftSecurityDevOps@1 task (Defender for DevOps scanning).
SECURITY_EXTENSION = ("ms-securitydevops", "microsoft-security-devops-azdevops")
# Extensions are installed per organisation, and installing one that is already there fails
# (terraform-provider-azuredevops `resource_extension.go` calls InstallExtensionByName on create). So one stack per
# organisation installs it, any other adopts the installation (Pulumi's `import`, which creates nothing), and a stack
# that does neither renders no task that needs it. Neither ever uninstalls it: other stacks may scan with it.
SecurityExtensionMode = Literal["install", "adopt", "none"]


@dataclass(frozen=True)
class ProjectArgs:
    project_name: str
    description: str
    security_extension: SecurityExtensionMode
    # Graph descriptors of identities that only read the project: the IaC pipeline's preview identity of this stack.
    readers: Sequence[str] = ()


class Project(Component):
    project_id: pulumi.Output[str]
    project_url: pulumi.Output[str]

    def __init__(self, name: str, args: ProjectArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:Project", name, opts)
        project = azuredevops.Project(
            f"{name}-project",
            name=args.project_name,
            description=args.description,
            visibility="private",
            version_control="Git",
            work_item_template="Agile",
            features=FEATURES,
            opts=self.child,
        )
        # Pipeline tokens reach this project only, queue-time variables must be declared settable, and YAML pipelines
        # read only the repositories they reference: the project-level defaults of a hardened organisation.
        azuredevops.ProjectPipelineSettings(
            f"{name}-pipeline-settings",
            project_id=project.id,
            enforce_job_scope=True,
            enforce_job_scope_for_release=True,
            enforce_referenced_repo_scoped_token=True,
            enforce_settable_var=True,
            status_badges_are_private=True,
            opts=self.child,
        )
        if args.readers:
            # The provider's data sources read a project with CoreClient.GetProject (terraform-provider-azuredevops
            # azuredevops/internal/service/core/data_project.go, dataProjectRead), "not found" for an organisation
            # member outside it (permissions reference: Project Valid Users need "View project-level information").
            # A preview runs those reads as the stack's preview identity, added here by whoever runs `pulumi up`: the
            # project's creator, then deploy-<stack> as a Project Administrator (README, manual steps).
            readers = azuredevops.get_group_output(
                project_id=project.id, name="Readers", opts=pulumi.InvokeOutputOptions(parent=self)
            )
            azuredevops.GroupMembership(
                f"{name}-readers",
                group=readers.descriptor,
                members=list(args.readers),
                mode="add",
                opts=self.child,
            )
        if args.security_extension != "none":
            publisher, extension = SECURITY_EXTENSION
            azuredevops.Extension(
                f"{name}-security-extension",
                publisher_id=publisher,
                extension_id=extension,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    retain_on_delete=True,
                    # The provider's importer takes "<publisher>/<extension>" (`resource_extension.go`, Importer).
                    import_=f"{publisher}/{extension}" if args.security_extension == "adopt" else None,
                ),
            )
        organization_url = azuredevops.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).organization_url
        self.project_id = project.id
        self.project_url = organization_url.apply(lambda url: f"{url.rstrip('/')}/{quote(args.project_name, safe='')}")
        self.register_outputs({"projectId": self.project_id, "projectUrl": self.project_url})
