"""What the link checks know of Azure RBAC: which built-in roles read a Key Vault secret or a Kubernetes namespace's
Secrets, and how a role assignment's scope covers a resource. Role IDs and data actions from
learn.microsoft.com/azure/role-based-access-control/built-in-roles (security: Key Vault; containers: AKS)."""

from __future__ import annotations

from components.identity import BUILT_IN_ROLES

# Key Vault roles with `vaults/secrets/getSecret/action`: they read a secret, and so a certificate's private key,
# which is the secret of the certificate's name (rbac-guide, "Azure built-in roles for Key Vault data plane
# operations"). Key Vault Certificates Officer and Key Vault Reader lack it.
SECRET_READERS = {
    BUILT_IN_ROLES["Key Vault Certificate User"]: "Key Vault Certificate User",
    BUILT_IN_ROLES["Key Vault Secrets User"]: "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
}
# Azure RBAC for Kubernetes roles that read Secrets and write Ingresses in the namespaces of their scope.
KUBERNETES_WRITERS = {
    BUILT_IN_ROLES["Azure Kubernetes Service RBAC Writer"]: "Azure Kubernetes Service RBAC Writer",
    "3498e952-d568-435e-9b2c-8d77e338d7f7": "Azure Kubernetes Service RBAC Admin",
    "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b": "Azure Kubernetes Service RBAC Cluster Admin",
}


def covers(scope: str, target: str) -> bool:
    """Whether a role assigned at `scope` holds on `target`: Azure RBAC inherits downward, and ARM and Key Vault
    names are case-insensitive."""
    scope, target = scope.lower(), target.lower()
    return target == scope or target.startswith(f"{scope}/")
