"""The project's queue for the agent pool the pipelines run on: how a project's pipelines reach a pool their YAML names.

Agent pools belong to the organisation; a pipeline's `pool: name: X` resolves to the queue named X in its own project,
and a queue created through the API is open to no pipeline until each is authorized (terraform-provider-azuredevops
`resource_agent_queue.go` creates it with `AuthorizePipelines: false`; authorizations are `type = "queue"` in
`resource_pipeline_authorization.go`).

Two sources, one path: an existing organisation pool, whose queue the stack creates; or the Managed DevOps Pool the
stack creates (components/devops_pool.py), which creates its own queue in each project its organisation profile lists
(docs/managed-devops-pools/configure-security.md), so the stack looks that queue up once the pool exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_azuredevops as azuredevops

from components.component import Component


@dataclass(frozen=True)
class AgentQueueArgs:
    project_id: pulumi.Input[str]
    # An existing organisation pool (self-hosted or Managed DevOps Pool); looking it up fails the preview when the
    # name is wrong, instead of the first pipeline run waiting for agents that never come.
    pool_name: str
    # The Managed DevOps Pool's name as the created pool reports it: the lookup of its queue waits for the pool. None
    # for an existing organisation pool.
    managed_pool_name: pulumi.Input[str] | None = None


class AgentQueue(Component):
    queue_id: pulumi.Output[str]

    def __init__(self, name: str, args: AgentQueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:AgentQueue", name, opts)
        if args.managed_pool_name is not None:
            # terraform-provider-azuredevops data_agent_queue.go: finds the project's queue by name (GetAgentQueues
            # with QueueName) and fails when there is none, so a pool that did not reach the project fails the run.
            found = azuredevops.get_agent_queue_output(
                project_id=args.project_id,
                name=args.managed_pool_name,
                opts=pulumi.InvokeOutputOptions(parent=self),
            )
            self.queue_id = found.id
            self.register_outputs({"queueId": self.queue_id})
            return
        pool = azuredevops.get_pool_output(name=args.pool_name, opts=pulumi.InvokeOutputOptions(parent=self))
        # The provider names the queue after the referenced pool, which is the name the YAML uses.
        queue = azuredevops.Queue(
            f"{name}-queue",
            project_id=args.project_id,
            agent_pool_id=pulumi.Output.all(pool.id, pool.auto_provision).apply(
                lambda found: _one_queue_per_pool(args.pool_name, str(found[0]), bool(found[1]))
            ),
            opts=self.child,
        )
        self.queue_id = queue.id
        self.register_outputs({"queueId": self.queue_id})


def _one_queue_per_pool(pool_name: str, pool_id: str, auto_provision: bool) -> int:
    # An auto-provisioned pool already has a queue in every new project, open to all its pipelines, and a project may
    # hold one queue per pool ("multiple queues within a project cannot use the same agent pool"): refuse it at preview.
    if auto_provision:
        raise ValueError(
            f"aks-estate:agentPool = {pool_name!r}: the organisation pool auto-provisions a queue into every project, "
            "open to all of its pipelines; turn auto-provisioning off for it (Organization settings > Agent pools > "
            "the pool > Settings) so that the stack can give the project a queue authorized for its definitions only"
        )
    return int(pool_id)


@dataclass(frozen=True)
class ProjectQueueAuthorizationsArgs:
    # Another project the Managed DevOps Pool serves (the IaC project, which bootstrap/ creates): the pool created its
    # queue there too.
    project_name: str
    # The pool's name as the created pool reports it: the lookups wait for the pool.
    pool_name: pulumi.Input[str]
    # Exactly the definitions of that project that run on the pool.
    definition_names: Sequence[str]


class ProjectQueueAuthorizations(Component):
    """The pool's queue in a project the stack does not own, authorized for exactly the named definitions there.

    Needs, for the identity that runs `pulumi up`, read access to that project and Administrator on its agent queues
    (bootstrap/organisation.py grants both to the prod deploy identity)."""

    def __init__(
        self, name: str, args: ProjectQueueAuthorizationsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("aks-estate:devops:ProjectQueueAuthorizations", name, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        project = azuredevops.get_project_output(name=args.project_name, opts=invoke)
        queue = azuredevops.get_agent_queue_output(project_id=project.id, name=args.pool_name, opts=invoke)
        for definition_name in args.definition_names:
            definition = azuredevops.get_build_definition_output(
                project_id=project.id, name=definition_name, opts=invoke
            )
            azuredevops.PipelineAuthorization(
                f"{name}-{definition_name}",
                project_id=project.id,
                resource_id=queue.id,
                type="queue",
                pipeline_id=definition.id.apply(int),
                opts=self.child,
            )
        self.register_outputs({})
