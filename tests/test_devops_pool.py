"""The Managed DevOps Pool component on its own, under the mocks: a stateless pool of Azure Pipelines images in the
subnet it is given, provisioned into exactly the listed Azure DevOps projects with open access off, after the
DevOpsInfrastructure service principal holds Reader and Network Contributor on the subnet's network; and the
project's queue found only once the pool has created it there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bootstrap import names as iac_names
from components import config, config_parts
from components.devops_pool import PoolNames, virtual_network_id
from components.identity import BUILT_IN_ROLES
from tools import capture, mocks
from tools.capture import Capture

NETWORK = "/subscriptions/s/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-contoso-prod"
SUBNET = f"{NETWORK}/subnets/agents"
OBJECT_ID = "2f1c9a64-5b3e-4f7a-9d0e-8c6b1a2d3e4f"
POOL = "azure-native:devopsinfrastructure:Pool"

# A small program: a project, the pool listing `{listed}`, and the project's queue looked up through AgentQueue.
PROGRAM = """
import pulumi
import pulumi_azuredevops as azuredevops

from components.devops.agent_queue import AgentQueue, AgentQueueArgs
from components.devops_pool import ManagedAgentPool, ManagedAgentPoolArgs, PoolNames
from components.identity import Assigner

project = azuredevops.Project("project", name="aks-estate")
listed = {listed}
names = PoolNames("contoso", "prod")
pool = ManagedAgentPool(
    "agents",
    ManagedAgentPoolArgs(
        placement={{"resource_group_name": "rg-contoso-prod", "location": "westeurope", "tags": {{}}}},
        names=names,
        subnet_id={subnet!r},
        devops_infrastructure_object_id={object_id!r},
        assigner=Assigner("00000000-0000-0000-0000-000000000000", "contoso/prod"),
        organization_url="https://dev.azure.com/contoso",
        projects=[project.name.apply(lambda name: listed.get(name, name))],
        maximum_concurrency=4,
        vm_size="Standard_D2ads_v5",
        image="ubuntu-24.04",
    ),
)
queue = AgentQueue(
    "queue",
    AgentQueueArgs(project_id=project.id, pool_name=names.pool, managed_pool_name=pool.pool_name),
)
pulumi.export("queueId", queue.queue_id)
"""


def _program(tmp_path: Path, listed: dict[str, str] | None = None) -> Path:
    path = tmp_path / "program.py"
    path.write_text(PROGRAM.format(listed=listed or {}, subnet=SUBNET, object_id=OBJECT_ID))
    return path


@pytest.fixture(scope="module")
def pool_capture(tmp_path_factory: pytest.TempPathFactory) -> Capture:
    return capture.run("prod", {}, [], program=_program(tmp_path_factory.mktemp("pool")))


def settings_of(found: Capture) -> config.EstateConfig:
    raw, secret_keys = capture.load_stack_config(capture.ROOT / f"Pulumi.{found.stack}.yaml")
    values = {key.removeprefix("aks-estate:"): value for key, value in raw.items() if key.startswith("aks-estate:")}
    return config.parse(values, frozenset(k.removeprefix("aks-estate:") for k in secret_keys), stack=found.stack)


def _only(found: Capture, token: str) -> Any:
    (registration,) = found.of_type(token)
    return registration


def test_the_pool_is_stateless_in_the_given_subnet_on_a_microsoft_image(pool_capture: Capture) -> None:
    pool = _only(pool_capture, POOL)
    assert pool.inputs["poolName"] == PoolNames("contoso", "prod").pool == "mdp-contoso-prod"
    assert pool.inputs["agentProfile"] == {"kind": "Stateless"}
    fabric = pool.inputs["fabricProfile"]
    assert fabric["kind"] == "Vmss"
    assert fabric["networkProfile"] == {"subnetId": SUBNET}
    # The SDK's default `buffer` "*" (pulumi_azure_native devopsinfrastructure PoolImageArgs) spreads standby agents
    # over every image; there is one.
    assert fabric["images"] == [{"wellKnownImageName": "ubuntu-24.04", "buffer": "*"}]
    assert fabric["sku"] == {"name": "Standard_D2ads_v5"}
    assert pool.inputs["maximumConcurrency"] == 4
    project = _only(pool_capture, "azure-native:devcenter:Project")
    center = _only(pool_capture, "azure-native:devcenter:DevCenter")
    assert pool.inputs["devCenterProjectResourceId"] == project.id
    assert project.inputs["devCenterId"] == center.id


def test_the_pool_serves_exactly_the_listed_project_with_open_access_off(pool_capture: Capture) -> None:
    profile = _only(pool_capture, POOL).inputs["organizationProfile"]
    assert profile["kind"] == "AzureDevOps"
    # Inherit, so the organisation-level pool administrators (deploy-prod among them) manage it, whoever created it.
    assert profile["permissionProfile"] == {"kind": "Inherit"}
    (organization,) = profile["organizations"]
    assert organization == {
        "url": "https://dev.azure.com/contoso",
        "projects": ["aks-estate"],
        "parallelism": 4,
        "openAccess": False,
    }


def test_devops_infrastructure_may_join_the_network_before_the_pool_exists(pool_capture: Capture) -> None:
    pool = _only(pool_capture, POOL)
    assignments = pool_capture.of_type("azure-native:authorization:RoleAssignment")
    assert {
        (a.inputs["principalId"], a.inputs["roleDefinitionId"].rsplit("/", 1)[-1], a.inputs["scope"])
        for a in assignments
    } == {
        (OBJECT_ID, BUILT_IN_ROLES["Reader"], NETWORK),
        (OBJECT_ID, BUILT_IN_ROLES["Network Contributor"], NETWORK),
    }
    assert {a.urn for a in assignments} <= set(pool.dependencies)


def test_the_queue_is_the_one_the_pool_created(pool_capture: Capture) -> None:
    assert not pool_capture.of_type("azuredevops:index/queue:Queue"), "the pool creates its own queue"
    assert pool_capture.outputs["queueId"].isdigit()


def test_a_project_the_pool_does_not_list_has_no_queue(tmp_path: Path) -> None:
    # Planted: the pool lists another project, so the service never creates a queue in ours; the lookup fails the run
    # (in a process of its own: a failed program leaves the engine's global state behind).
    program = _program(tmp_path, {"aks-estate": "another-project"})
    script = f"import pathlib; from tools import capture; capture.run('prod', {{}}, [], pathlib.Path({str(program)!r}))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=capture.ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode != 0
    assert "Unable to find agent queues with name: mdp-contoso-prod" in result.stderr


def test_the_network_of_a_subnet() -> None:
    assert virtual_network_id(SUBNET) == NETWORK
    with pytest.raises(ValueError, match="not the ARM ID of a subnet"):
        virtual_network_id(NETWORK)


# --- configuration -----------------------------------------------------------------------------------------------


def _managed(**overrides: Any) -> dict[str, Any]:
    return {"maximumConcurrency": 2, "devopsInfrastructureObjectId": OBJECT_ID, **overrides}


def test_the_object_id_message_says_how_to_find_it() -> None:
    with pytest.raises(ValueError, match="az ad sp list --display-name DevOpsInfrastructure"):
        config_parts.ManagedAgentPool.model_validate(_managed(devopsInfrastructureObjectId="DevOpsInfrastructure"))
    assert config_parts.ManagedAgentPool.model_validate(_managed()).devops_infrastructure_object_id == OBJECT_ID


@pytest.mark.parametrize(
    ("key", "value"),
    [("maximumConcurrency", 0), ("image", "windows-2022"), ("vmSize", "D2ads_v5")],
)
def test_the_pool_settings_are_checked(key: str, value: Any) -> None:
    with pytest.raises(ValueError, match=key):
        config_parts.ManagedAgentPool.model_validate(_managed(**{key: value}))


def test_one_pool_at_a_time() -> None:
    raw, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.dev.yaml")
    values = {key.removeprefix("aks-estate:"): value for key, value in raw.items() if key.startswith("aks-estate:")}
    both = {**values, "agentPool": "aks-estate-agents", "managedAgentPool": _managed()}
    with pytest.raises(config.ConfigError, match='agentPool = "aks-estate-agents": names an existing organisation'):
        config.parse(both, frozenset(secret_keys), stack="dev")
    assert config.parse({**values, "managedAgentPool": _managed()}, stack="dev").managed_agent_pool is not None


# --- the estate's pool ---------------------------------------------------------------------------------------------


def test_prod_runs_its_pipelines_on_its_own_pool_in_the_agent_subnet(prod: Capture, dev: Capture) -> None:
    pool = _only(prod, POOL)
    network = _only(prod, "azure-native:network:VirtualNetwork")
    (agents,) = [s for s in network.inputs["subnets"] if s.get("delegations")]
    assert pool.inputs["fabricProfile"]["networkProfile"]["subnetId"] == f"{network.id}/subnets/{agents['name']}"
    assert network.urn in pool.dependencies
    project = _only(prod, "azuredevops:index/project:Project")
    iac_project = settings_of(prod).managed_agent_pool.iac_project  # type: ignore[union-attr]
    assert pool.inputs["organizationProfile"]["organizations"][0]["projects"] == [project.inputs["name"], iac_project]
    assert project.urn in pool.dependencies, "the pool creates its queue in the project, so the project comes first"
    pipelines = [
        f.inputs
        for f in prod.of_type("azuredevops:index/gitRepositoryFile:GitRepositoryFile")
        if f.inputs["file"].startswith("pipelines/") and "pool:" in f.inputs["content"]
    ]
    assert pipelines
    for file in pipelines:
        assert f"name: {pool.inputs['poolName']}" in file["content"], file["file"]
    assert not dev.of_type(POOL), "dev stays on Microsoft-hosted agents"


def test_the_iac_pipelines_are_authorized_on_the_pools_queue_in_their_project(prod: Capture) -> None:
    pool = _only(prod, POOL)
    iac_project = settings_of(prod).managed_agent_pool.iac_project  # type: ignore[union-attr]
    iac_project_id = mocks.stable_uuid("devops-project", str(iac_project))
    queue_id = mocks.agent_queue_id(iac_project_id, pool.inputs["poolName"])
    granted = {
        (a.inputs["pipelineId"], a.inputs["type"], a.inputs["resourceId"])
        for a in prod.of_type("azuredevops:index/pipelineAuthorization:PipelineAuthorization")
        if a.inputs["projectId"] == iac_project_id
    }
    definitions = [name for name, _ in iac_names.PIPELINES.values()]
    assert {(kind, resource) for _, kind, resource in granted} == {("queue", queue_id)}
    assert len(granted) == len(definitions) == 3


def test_the_iac_project_is_not_the_estates_own() -> None:
    raw, secret_keys = capture.load_stack_config(capture.ROOT / "Pulumi.prod.yaml")
    values = {key.removeprefix("aks-estate:"): value for key, value in raw.items() if key.startswith("aks-estate:")}
    pool = {**_managed(), "iacProject": "aks-estate"}
    with pytest.raises(config.ConfigError, match=r'managedAgentPool\.iacProject = "aks-estate": names the estate'):
        config.parse({**values, "managedAgentPool": pool}, frozenset(k.split(":", 1)[1] for k in secret_keys))
