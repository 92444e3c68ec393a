"""Every Key Vault secret a pipeline step downloads exists and is readable by the identity that step signs in as.

AzureKeyVault@2 with named secrets gets each one by name from `https://<KeyVaultName>.<suffix>` as its connection's
identity, and lists nothing (microsoft/azure-pipelines-tasks Tasks/AzureKeyVaultV2/operations/KeyVault.ts,
`downloadSelectedSecrets`; models/KeyVaultTaskParameters.ts builds the URL from the name). Key Vault RBAC grants
*getSecret* through Key Vault Secrets User on the secret or any scope above it (learn.microsoft.com/azure/key-vault/
general/rbac-guide, built-in roles; "Secret scope role assignment"). A secret the step names but the stack never
writes, or one its identity holds no such role on, fails the step at run time.
"""

from __future__ import annotations

from typing import Any

from tools.azure_rbac import SECRET_READERS, covers
from tools.capture import Capture
from tools.devops_index import build_index
from tools.pipeline_links import CONNECTION_INPUTS, Finding
from tools.production_reach import endpoint_scopes, expanded_definitions, jobs

TASK = "AzureKeyVault@2"


def _downloads(steps: list[dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    """(connection name, vault name, secret names) of each AzureKeyVault@2 step that names its secrets."""
    found = []
    for step in steps:
        inputs = step.get("inputs") or {}
        if step.get("task") != TASK:
            continue
        connection = next((str(inputs[key]) for key in CONNECTION_INPUTS[TASK] if key in inputs), "")
        names = [name.strip() for name in str(inputs.get("SecretsFilter", "*")).split(",")]
        found.append((connection, str(inputs.get("KeyVaultName", "")), names))
    return found


def unreadable_secrets(capture: Capture) -> list[Finding]:
    estate = build_index(capture, {})
    scopes = endpoint_scopes(capture)
    written = {
        (str(r.inputs["vaultName"]), str(r.inputs["secretName"])): r.id
        for r in capture.of_type("azure-native:keyvault:Secret")
    }
    findings: list[Finding] = []
    for definition, document in expanded_definitions(estate):
        for job, _, steps in jobs(document) if document is not None else []:
            for connection, vault, names in _downloads(steps):
                where = f"job {job}"
                endpoint = estate.named.get(("endpoint", definition.project_id, connection))
                grants = scopes.get(endpoint or "") or []
                for name in names:
                    if name == "*":
                        findings.append(Finding(definition.yml_path, where, f"{TASK} lists {vault}: name its secrets"))
                        continue
                    secret_id = written.get((vault, name))
                    if secret_id is None:
                        problem = f"{TASK} downloads {name!r} from {vault}, which the stack does not write there"
                        findings.append(Finding(definition.yml_path, where, problem))
                    elif not any(role in SECRET_READERS and covers(scope, secret_id) for role, scope in grants):
                        problem = f"{TASK} downloads {name!r} as {connection!r}, whose identity cannot read it"
                        findings.append(Finding(definition.yml_path, where, problem))
    return findings
