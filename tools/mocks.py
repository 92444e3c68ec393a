"""The one mocks class: realistic computed outputs for every resource the estate registers, derived from its URN.

Shared by the offline preview and the tests, so what the tests check is what the preview shows. Every value is a
pure function of the URN and inputs: two runs give byte-identical results.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import pulumi
import yaml

SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001"
TENANT_ID = "00000000-0000-4000-8000-0000000000aa"
DEPLOYER_OBJECT_ID = "00000000-0000-4000-8000-0000000000d0"
DEVOPS_ORGANIZATION_ID = "00000000-0000-4000-8000-00000000ad00"
# The Entra ID applications of AKS-managed Entra integration: the same in every tenant.
AKS_ENTRA_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
AKS_ENTRA_CLIENT_ID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"
_NAMESPACE = uuid.UUID("5a1b0c2d-6e7f-4a8b-9c0d-1e2f3a4b5c6d")

# Pulumi type token -> (ARM resource type, input holding the physical name). Extension resources (scope-based) and
# child resources are handled in `_arm_id`.
_ARM_TYPES: dict[str, tuple[str, str]] = {
    "azure-native:operationalinsights:Workspace": ("Microsoft.OperationalInsights/workspaces", "workspaceName"),
    "azure-native:applicationinsights:Component": ("Microsoft.Insights/components", "resourceName"),
    "azure-native:keyvault:Vault": ("Microsoft.KeyVault/vaults", "vaultName"),
    "azure-native:containerregistry:Registry": ("Microsoft.ContainerRegistry/registries", "registryName"),
    "azure-native:containerservice:ManagedCluster": ("Microsoft.ContainerService/managedClusters", "resourceName"),
    "azure-native:monitor:DataCollectionRule": ("Microsoft.Insights/dataCollectionRules", "dataCollectionRuleName"),
    "azure-native:managedidentity:UserAssignedIdentity": (
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "resourceName",
    ),
    "azure-native:security:SecurityConnector": ("Microsoft.Security/securityConnectors", "securityConnectorName"),
    "azure-native:monitor:ActionGroup": ("Microsoft.Insights/actionGroups", "actionGroupName"),
    "azure-native:monitor:MetricAlert": ("Microsoft.Insights/metricAlerts", "ruleName"),
    "azure-native:monitor:ScheduledQueryRule": ("Microsoft.Insights/scheduledQueryRules", "ruleName"),
    "azure-native:monitor:ActivityLogAlert": ("Microsoft.Insights/activityLogAlerts", "activityLogAlertName"),
    "azure-native:storage:StorageAccount": ("Microsoft.Storage/storageAccounts", "accountName"),
    "azure-native:devcenter:DevCenter": ("Microsoft.DevCenter/devcenters", "devCenterName"),
    "azure-native:devcenter:Project": ("Microsoft.DevCenter/projects", "projectName"),
    "azure-native:devopsinfrastructure:Pool": ("Microsoft.DevOpsInfrastructure/pools", "poolName"),
    "azure-native:network:VirtualNetwork": ("Microsoft.Network/virtualNetworks", "virtualNetworkName"),
    "azure-native:network:NetworkSecurityGroup": (
        "Microsoft.Network/networkSecurityGroups",
        "networkSecurityGroupName",
    ),
    "azure-native:network:PrivateEndpoint": ("Microsoft.Network/privateEndpoints", "privateEndpointName"),
    "azure-native:privatedns:PrivateZone": ("Microsoft.Network/privateDnsZones", "privateZoneName"),
    "azure-native:monitor:PrivateLinkScope": ("Microsoft.Insights/privateLinkScopes", "scopeName"),
    "azure-native:network:NatGateway": ("Microsoft.Network/natGateways", "natGatewayName"),
    "azure-native:network:PublicIPAddress": ("Microsoft.Network/publicIPAddresses", "publicIpAddressName"),
    "azure-native:monitor:DataCollectionEndpoint": (
        "Microsoft.Insights/dataCollectionEndpoints",
        "dataCollectionEndpointName",
    ),
}


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _short_hash(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


# Child and extension resources: their ID is the resource group's ID (scope None) or the ID in the named input (the
# scope), then `/providers/` and the path, whose `{input}` fields take the resource's inputs.
_SCOPED_IDS: dict[str, tuple[str | None, str]] = {
    "azure-native:keyvault:Secret": (None, "Microsoft.KeyVault/vaults/{vaultName}/secrets/{secretName}"),
    "azure-native:managedidentity:FederatedIdentityCredential": (
        None,
        "Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}/federatedIdentityCredentials/"
        "{federatedIdentityCredentialResourceName}",
    ),
    "azure-native:monitor:DiagnosticSetting": ("resourceUri", "Microsoft.Insights/diagnosticSettings/{name}"),
    "azure-native:monitor:DataCollectionRuleAssociation": (
        "resourceUri",
        "Microsoft.Insights/dataCollectionRuleAssociations/{associationName}",
    ),
    "azure-native:keyvault:Key": (None, "Microsoft.KeyVault/vaults/{vaultName}/keys/{keyName}"),
    "azure-native:storage:BlobServiceProperties": (
        None,
        "Microsoft.Storage/storageAccounts/{accountName}/blobServices/{blobServicesName}",
    ),
    "azure-native:storage:ManagementPolicy": (
        None,
        "Microsoft.Storage/storageAccounts/{accountName}/managementPolicies/{managementPolicyName}",
    ),
    "azure-native:storage:BlobContainer": (
        None,
        "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}",
    ),
    "azure-native:authorization:RoleAssignment": (
        "scope",
        "Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
    ),
    "azure-native:containerservice:AgentPool": (
        None,
        "Microsoft.ContainerService/managedClusters/{resourceName}/agentPools/{agentPoolName}",
    ),
    "azure-native:containerservice:ManagedNamespace": (
        None,
        "Microsoft.ContainerService/managedClusters/{resourceName}/managedNamespaces/{managedNamespaceName}",
    ),
    "azure-native:consumption:Budget": ("scope", "Microsoft.Consumption/budgets/{budgetName}"),
    "azure-native:network:PrivateDnsZoneGroup": (
        None,
        "Microsoft.Network/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups/{privateDnsZoneGroupName}",
    ),
    "azure-native:privatedns:VirtualNetworkLink": (
        None,
        "Microsoft.Network/privateDnsZones/{privateZoneName}/virtualNetworkLinks/{virtualNetworkLinkName}",
    ),
    "azure-native:monitor:PrivateLinkScopedResource": (
        None,
        "Microsoft.Insights/privateLinkScopes/{scopeName}/scopedResources/{name}",
    ),
    "azure-native:security:Pricing": ("scopeId", "Microsoft.Security/pricings/{pricingName}"),
}


def _arm_id(token: str, inputs: dict[str, Any], urn: str) -> str:
    subscription = f"/subscriptions/{SUBSCRIPTION_ID}"
    group = f"{subscription}/resourceGroups/{inputs.get('resourceGroupName')}"
    if token == "azure-native:resources:ResourceGroup":
        return group
    if token in _ARM_TYPES:
        arm_type, name_key = _ARM_TYPES[token]
        return f"{group}/providers/{arm_type}/{inputs[name_key]}"
    if token in _SCOPED_IDS:
        scope, path = _SCOPED_IDS[token]
        return f"{group if scope is None else inputs[scope]}/providers/{path.format(**inputs)}"
    return f"{subscription}/mock/{_short_hash(urn, 16)}"


def _azure_outputs(token: str, inputs: dict[str, Any], urn: str, resource_id: str) -> dict[str, Any]:
    name = resource_id.rsplit("/", 1)[-1]
    outputs: dict[str, Any] = {**inputs, "name": name, "id": resource_id}
    location = inputs.get("location", "westeurope")
    if token == "azure-native:operationalinsights:Workspace":
        outputs["customerId"] = stable_uuid(urn, "customerId")
    elif token == "azure-native:applicationinsights:Component":
        key = stable_uuid(urn, "instrumentationKey")
        outputs["instrumentationKey"] = key
        outputs["connectionString"] = (
            f"InstrumentationKey={key};IngestionEndpoint=https://{location}-5.in.applicationinsights.azure.com/;"
            f"LiveEndpoint=https://{location}.livediagnostics.monitor.azure.com/;"
            f"ApplicationId={stable_uuid(urn, 'app')}"
        )
    elif token == "azure-native:keyvault:Vault":
        outputs["properties"] = {**inputs.get("properties", {}), "vaultUri": f"https://{name}.vault.azure.net/"}
    elif token == "azure-native:keyvault:Secret":
        outputs["properties"] = {
            **inputs.get("properties", {}),
            "secretUri": f"https://{inputs['vaultName']}.vault.azure.net/secrets/{name}",
        }
    elif token == "azure-native:containerregistry:Registry":
        outputs["loginServer"] = f"{name}.azurecr.io"
    elif token == "azure-native:containerservice:ManagedCluster":
        if inputs.get("apiServerAccessProfile", {}).get("enablePrivateCluster"):
            # A private cluster without a public FQDN reports only its private one, in the AKS-managed zone.
            outputs["privateFQDN"] = (
                f"{inputs['dnsPrefix']}-{_short_hash(urn)}.{stable_uuid(urn, 'private-dns')}.privatelink."
                f"{location}.azmk8s.io"
            )
        else:
            outputs["fqdn"] = f"{inputs['dnsPrefix']}-{_short_hash(urn)}.hcp.{location}.azmk8s.io"
        outputs["identity"] = {
            "type": "SystemAssigned",
            "principalId": stable_uuid(urn, "principal"),
            "tenantId": TENANT_ID,
        }
        kubelet_name = f"{name}-agentpool"
        outputs["identityProfile"] = {
            "kubeletidentity": {
                "clientId": stable_uuid(urn, "kubelet-client"),
                "objectId": stable_uuid(urn, "kubelet-object"),
                "resourceId": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{inputs.get('nodeResourceGroup')}"
                f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{kubelet_name}",
            }
        }
        outputs["oidcIssuerProfile"] = {
            "enabled": True,
            "issuerURL": f"https://{location}.oic.prod-aks.azure.com/{TENANT_ID}/{stable_uuid(urn, 'oidc')}/",
        }
        outputs["currentKubernetesVersion"] = f"{inputs.get('kubernetesVersion')}.3"
        if inputs.get("ingressProfile", {}).get("webAppRouting", {}).get("enabled"):
            # AKS creates the add-on's identity `webapprouting-<cluster>` in the node resource group.
            outputs["ingressProfile"] = {
                "webAppRouting": {
                    **inputs["ingressProfile"]["webAppRouting"],
                    "identity": {
                        "clientId": stable_uuid(urn, "app-routing-client"),
                        "objectId": stable_uuid(urn, "app-routing-object"),
                        "resourceId": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/"
                        f"{inputs.get('nodeResourceGroup')}/providers/Microsoft.ManagedIdentity/"
                        f"userAssignedIdentities/webapprouting-{name}",
                    },
                }
            }
    elif (
        token == "azure-native:monitor:ScheduledQueryRule"
        and inputs.get("identity", {}).get("type") == "SystemAssigned"
    ):
        # Azure answers a system-assigned identity with the service principal it created for the rule.
        outputs["identity"] = {
            **inputs["identity"],
            "principalId": stable_uuid(urn, "principal"),
            "tenantId": TENANT_ID,
        }
    elif token == "azure-native:managedidentity:UserAssignedIdentity":
        outputs["principalId"] = stable_uuid(urn, "principal")
        outputs["clientId"] = stable_uuid(urn, "client")
        outputs["tenantId"] = TENANT_ID
    return outputs


def _repository_outputs(inputs: dict[str, Any], guid: str) -> dict[str, Any]:
    organization = "https://dev.azure.com/mock-organization"
    project = inputs.get("projectId", "project")
    initialized = inputs.get("initialization", {}).get("initType") != "Uninitialized"
    return {
        **inputs,
        # A Clean initialization pushes to the requested default branch, or to master when none is given.
        "defaultBranch": inputs.get("defaultBranch", "refs/heads/master") if initialized else "",
        "remoteUrl": f"{organization}/{project}/_git/{inputs.get('name')}",
        "webUrl": f"{organization}/{project}/_git/{inputs.get('name')}",
        "url": f"{organization}/{project}/_apis/git/repositories/{guid}",
        "sshUrl": f"git@ssh.dev.azure.com:v3/mock-organization/{project}/{inputs.get('name')}",
        "isFork": False,
        "size": 0,
    }


def _service_endpoint_outputs(inputs: dict[str, Any], urn: str) -> dict[str, Any]:
    if inputs.get("serviceEndpointAuthenticationScheme") != "WorkloadIdentityFederation":
        return {**inputs, "authorization": {}}
    name = inputs.get("serviceEndpointName", "connection")
    project = inputs.get("projectId", "project")
    return {
        **inputs,
        "authorization": {"scheme": "WorkloadIdentityFederation"},
        "workloadIdentityFederationIssuer": f"https://login.microsoftonline.com/{TENANT_ID}/v2.0",
        "workloadIdentityFederationSubject": f"sc://mock-organization/{project}/{name}",
        "servicePrincipalId": inputs.get("credentials", {}).get("serviceprincipalid", stable_uuid(urn, "sp")),
    }


def _devops_outputs(token: str, inputs: dict[str, Any], urn: str) -> tuple[str, dict[str, Any]]:
    """Azure DevOps hands out GUIDs for projects, repositories and connections, and integers for the rest."""
    numeric = int(_short_hash(urn, 6), 16) % 900_000 + 100
    guid = stable_uuid(urn, "devops")
    named = _named_devops_object(token, inputs)
    if named is not None:
        return named
    if token == "azuredevops:index/git:Git":
        return guid, _repository_outputs(inputs, guid)
    if token == "azuredevops:index/gitRepositoryFile:GitRepositoryFile":
        return f"{inputs.get('repositoryId')}/{inputs.get('file')}", dict(inputs)
    if token.startswith("azuredevops:index/serviceEndpoint"):
        return guid, _service_endpoint_outputs(inputs, urn)
    computed: dict[str, Any] = {}
    if token == "azuredevops:index/servicePrincipalEntitlement:ServicePrincipalEntitlement":
        # Azure DevOps names the member by a graph descriptor ("aadsp." + its encoded ID), which permissions take.
        return guid, {**inputs, "descriptor": f"aadsp.{_b64(guid)}"}
    if token == "azuredevops:index/queue:Queue":
        # The provider names a queue after the pool it references (`resource_agent_queue.go`, GetAgentPool).
        computed = {"name": _pool_name(int(inputs["agentPoolId"]))}
    return str(numeric), {**inputs, **computed}


def _named_devops_object(token: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Projects (by name in the organisation) and definitions (by name in their project) get one ID per name,
    whichever program creates them or looks them up (getProject, getBuildDefinition)."""
    if token == "azuredevops:index/project:Project":
        project_id = stable_uuid("devops-project", str(inputs.get("name")))
        _PROJECTS[project_id] = str(inputs.get("name"))
        return project_id, {**inputs, "processTemplateId": stable_uuid("agile")}
    if token == "azuredevops:index/buildDefinition:BuildDefinition":
        return _definition_id(str(inputs.get("projectId")), str(inputs.get("name"))), {**inputs, "revision": 1}
    return None


def _pool_id(name: str) -> int:
    return int(_short_hash(f"agent-pool/{name}", 6), 16) % 900 + 10


# The organisation's agent pools, by ID, as the mock `getPool` has handed them out or a Managed DevOps Pool created.
_POOLS: dict[int, str] = {}
# Project names by ID, and the queues Managed DevOps Pools created: (project name, pool name).
_PROJECTS: dict[str, str] = {}
_MANAGED_QUEUES: set[tuple[str, str]] = set()


def _record_managed_pool(inputs: dict[str, Any]) -> None:
    """What the service does on creating a pool (docs/managed-devops-pools/configure-security.md): an organisation
    agent pool of the pool's name, and a queue of that name in each project the organisation profile lists."""
    name = str(inputs["poolName"])
    _POOLS[_pool_id(name)] = name
    for organization in inputs.get("organizationProfile", {}).get("organizations", []):
        for project in organization.get("projects", []):
            _MANAGED_QUEUES.add((str(project), name))


def agent_queue_id(project_id: str, name: str) -> str:
    """The ID the organisation hands out for the queue a Managed DevOps Pool created in a project."""
    return str(int(_short_hash(f"agent-queue/{project_id}/{name}", 6), 16) % 900_000 + 100)


def _agent_queue(project_id: str, name: str) -> dict[str, Any]:
    """terraform-provider-azuredevops data_agent_queue.go: the project's one queue of that name, else an error."""
    if (_PROJECTS.get(project_id), name) not in _MANAGED_QUEUES:
        raise Exception(f"Error getting agent queue by name: Unable to find agent queues with name: {name}")
    return {
        "id": agent_queue_id(project_id, name),
        "name": name,
        "projectId": project_id,
        "agentPoolId": _pool_id(name),
    }


def _pool_name(pool_id: int) -> str:
    return _POOLS[pool_id]


def _definition_id(project_id: str, name: str) -> str:
    return str(int(_short_hash(f"definition/{project_id}/{name}", 6), 16) % 900_000 + 100)


def _devops_lookup(token: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """The Azure DevOps data sources a Managed DevOps Pool's queues are found through; None for other calls."""
    if token == "azuredevops:index/getProject:getProject":
        # Any named project exists in the mock organisation (the IaC project is the bootstrap's); a real lookup
        # fails for a missing one (terraform-provider-azuredevops data_project.go).
        name = str(args["name"])
        project_id = stable_uuid("devops-project", name)
        _PROJECTS[project_id] = name
        return {"id": project_id, "projectId": project_id, "name": name, "visibility": "private"}
    if token == "azuredevops:index/getBuildDefinition:getBuildDefinition":
        # Any named definition exists in the mock organisation, under the root path the data source defaults to.
        project_id, name = str(args["projectId"]), str(args["name"])
        found = {"id": _definition_id(project_id, name), "name": name, "projectId": project_id}
        return {**found, "path": "\\", "revision": 1}
    if token == "azuredevops:index/getAgentQueue:getAgentQueue":
        return _agent_queue(str(args["projectId"]), str(args["name"]))
    if token == "azuredevops:index/getGroup:getGroup":
        # Every project has its built-in groups (Readers, Contributors, Project Administrators); a group is named by
        # a graph descriptor ("vssgp." + its encoded ID).
        group_id = stable_uuid("devops-group", str(args.get("projectId")), str(args["name"]))
        return {"id": group_id, "descriptor": f"vssgp.{_b64(group_id)}", "name": args["name"], "origin": "vsts"}
    return None


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _aks_user_kubeconfig(resource_group: str, cluster: str) -> str:
    """What AKS returns for an Entra ID cluster with format=exec: a kubelogin exec plugin in device-code mode."""
    user = f"clusterUser_{resource_group}_{cluster}"
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster,
                    "cluster": {
                        "certificate-authority-data": _b64(f"mock CA of {cluster}"),
                        "server": f"https://{cluster}-{_short_hash(cluster)}.hcp.westeurope.azmk8s.io:443",
                    },
                }
            ],
            "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
            "current-context": cluster,
            "users": [
                {
                    "name": user,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "kubelogin",
                            "args": [
                                "get-token",
                                "--environment",
                                "AzurePublicCloud",
                                "--server-id",
                                AKS_ENTRA_SERVER_ID,
                                "--client-id",
                                AKS_ENTRA_CLIENT_ID,
                                "--tenant-id",
                                TENANT_ID,
                                "--login",
                                "devicecode",
                            ],
                            "interactiveMode": "IfAvailable",
                            "provideClusterInfo": False,
                        }
                    },
                }
            ],
        },
        sort_keys=False,
    )


def _kubernetes_outputs(token: str, inputs: dict[str, Any], urn: str) -> tuple[str, dict[str, Any]]:
    metadata = inputs.get("metadata", {})
    namespace = metadata.get("namespace")
    name = metadata.get("name", urn.rsplit("::", 1)[-1])
    outputs: dict[str, Any] = {**inputs, "metadata": {**metadata, "uid": stable_uuid(urn)}}
    if token == "kubernetes:core/v1:Secret" and inputs.get("type") == "kubernetes.io/service-account-token":
        # The token controller fills these in; the provider waits for them before it reports the Secret created.
        outputs["data"] = {
            "ca.crt": _b64(f"mock cluster CA for {urn}"),
            "namespace": _b64(str(namespace)),
            "token": _b64(f"mock-token-{stable_uuid(urn, 'token')}"),
        }
    return (f"{namespace}/{name}" if namespace else name), outputs


class EstateMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        urn = f"{args.typ}::{args.name}"
        if not args.custom:
            return "", {}
        if args.typ.startswith("azure-native:"):
            if args.typ == "azure-native:devopsinfrastructure:Pool":
                _record_managed_pool(args.inputs)
            resource_id = _arm_id(args.typ, args.inputs, urn)
            return resource_id, _azure_outputs(args.typ, args.inputs, urn, resource_id)
        if args.typ.startswith("azuredevops:"):
            return _devops_outputs(args.typ, args.inputs, urn)
        if args.typ.startswith("kubernetes:"):
            return _kubernetes_outputs(args.typ, args.inputs, urn)
        if args.typ.startswith("pulumi:providers:"):
            return stable_uuid(urn, "provider"), args.inputs
        return stable_uuid(urn), dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": stable_uuid("deployer-client"),
                "objectId": DEPLOYER_OBJECT_ID,
                "subscriptionId": SUBSCRIPTION_ID,
                "tenantId": TENANT_ID,
            }
        if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
            kubeconfig = _aks_user_kubeconfig(args.args["resourceGroupName"], args.args["resourceName"])
            return {"kubeconfigs": [{"name": "clusterUser", "value": _b64(kubeconfig)}]}
        if args.token == "azuredevops:index/getClientConfig:getClientConfig":
            return {
                "id": DEVOPS_ORGANIZATION_ID,
                "name": "mock-organization",
                "organizationUrl": "https://dev.azure.com/mock-organization",
                "ownerId": stable_uuid("devops-owner"),
                "status": "active",
                "tenantId": TENANT_ID,
            }
        if args.token == "azuredevops:index/getPool:getPool":
            # Any named pool exists in the mock organisation; a real lookup fails the preview for a missing pool.
            name = args.args["name"]
            _POOLS[_pool_id(name)] = name
            return {"id": str(_pool_id(name)), "name": name, "poolType": "automation", "autoProvision": False}
        found = _devops_lookup(args.token, args.args)
        if found is not None:
            return found
        if args.token == "azuredevops:index/getUsers:getUsers":
            # Every principal name is a user of the mock organisation; a real lookup finds only existing users.
            principal = args.args["principalName"]
            return {
                "id": f"users#{_short_hash(principal, 27)}",
                "principalName": principal,
                "users": [
                    {
                        "id": stable_uuid("devops-user", principal),
                        "descriptor": f"aad.{_b64(stable_uuid('aad-user', principal))}",
                        "principalName": principal,
                        "mailAddress": principal,
                        "displayName": principal.split("@", 1)[0],
                        "origin": "aad",
                        "originId": stable_uuid("aad-user", principal),
                    }
                ],
            }
        raise NotImplementedError(f"the mocks do not implement the call {args.token}; add it to tools/mocks.py")
