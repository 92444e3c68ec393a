"""Where each rule comes from, as pulumi-policy's `PolicyComplianceFramework`: a checkov check or a Microsoft document.

The Pulumi CLI shows a policy's framework, severity and remediation steps (`GetAnalyzerInfo`, pulumi_policy/policy.py
`_PolicyAnalyzerServicer.GetAnalyzerInfo`), so a rule's source lives in that metadata, not in its description.
"""

from __future__ import annotations

import json
from pathlib import Path

from pulumi_policy import PolicyComplianceFramework

CHECKOV = "checkov"
CHECKOV_VERSION = "3.3.30"
ARCHITECTURE = "architecture"
# Each check's title and file (under checkov/terraform/checks/) as checkov 3.3.30 ships them;
# tests/test_policy_metadata.py reads the installed checkov in .venv-validators to keep the table true.
CHECKOV_CHECKS: dict[str, tuple[str, str]] = {
    check_id: (check["title"], check["file"])
    for check_id, check in json.loads(Path(__file__).with_name("checkov.json").read_text()).items()
}


def checkov(*check_ids: str) -> PolicyComplianceFramework:
    """The checkov checks a rule translates to azure-native inputs; an unknown ID fails at import."""
    titles = [CHECKOV_CHECKS[check_id][0] for check_id in check_ids]
    return PolicyComplianceFramework(
        name=CHECKOV, version=CHECKOV_VERSION, reference=", ".join(check_ids), specification="; ".join(titles)
    )


def architecture(document: str, requirement: str) -> PolicyComplianceFramework:
    """A requirement of the reference architecture, or of the Microsoft document (an https URL) that states it."""
    return PolicyComplianceFramework(name=ARCHITECTURE, reference=document, specification=requirement)


def url(framework: PolicyComplianceFramework) -> str:
    """Where to read the source: the first checkov check's file at its release, or the Microsoft document."""
    if framework.name == CHECKOV:
        _title, path = CHECKOV_CHECKS[str(framework.reference).split(", ")[0]]
        return f"https://github.com/bridgecrewio/checkov/blob/{CHECKOV_VERSION}/checkov/terraform/checks/{path}"
    return str(framework.reference)


# Microsoft documents the architecture's own rules come from.
REFERENCE_ARCHITECTURE = "https://learn.microsoft.com/azure/architecture/guide/aks/aks-cicd-azure-pipelines"
LEAST_PRIVILEGE = "https://learn.microsoft.com/azure/role-based-access-control/best-practices"
DEVOPS_PIPELINE_SECURITY = "https://learn.microsoft.com/azure/devops/pipelines/security/resources"
