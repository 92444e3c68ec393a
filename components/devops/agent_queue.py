"""The project's queue for an organisation agent pool: how a project's pipelines reach a pool their YAML names.

Agent pools belong to the organisation; a pipeline's `pool: name: X` resolves to the queue named X in its own project,
and a queue created through the API is open to no pipeline until each is authorized (terraform-provider-azuredevops
`resource_agent_queue.go` creates it with `AuthorizePipelines: false`; authorizations are `type = "queue"` in
`resource_pipeline_authorization.go`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azuredevops as azuredevops


@dataclass(frozen=True)
class AgentQueueArgs:
    project_id: pulumi.Input[str]
    # An existing organisation pool (self-hosted or Managed DevOps Pool); looking it up fails the preview when the
    # name is wrong, instead of the first pipeline run waiting for agents that never come.
    pool_name: str


class AgentQueue(pulumi.ComponentResource):
    queue_id: pulumi.Output[str]

    def __init__(self, name: str, args: AgentQueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:AgentQueue", name, None, opts)
        pool = azuredevops.get_pool_output(name=args.pool_name, opts=pulumi.InvokeOutputOptions(parent=self))
        # The provider names the queue after the referenced pool, which is the name the YAML uses.
        queue = azuredevops.Queue(
            f"{name}-queue",
            project_id=args.project_id,
            agent_pool_id=pool.id.apply(int),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.queue_id = queue.id
        self.register_outputs({"queueId": self.queue_id})
