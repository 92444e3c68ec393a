"""The value types of the stack config: each rule that a single value must meet, stated in words.

A newcomer reads these messages first, so a pattern never reaches them as a regular expression.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from components import naming


def _ip_range(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"must be an IPv4 address or CIDR range with no host bits set ({exc})") from None
    if network.version != 4:
        raise ValueError("must be an IPv4 range: Key Vault and AKS authorized ranges accept IPv4 only")
    if network.is_private or network.is_loopback:
        raise ValueError("must be a public range: Azure firewalls only ever see public source addresses")
    return str(network)


PublicIpRange = Annotated[str, AfterValidator(_ip_range)]


def _worded(pattern: str, rule: str) -> AfterValidator:
    """A pattern check whose message states the rule in words: a newcomer should not have to read a regex."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(rule)
        return value

    return AfterValidator(check)


# Kubernetes reserves the `kube-` prefix for its own namespaces (kubernetes.io, "Namespaces": "Avoid creating namespaces
# with the prefix kube-"); `default` is where unqualified objects land. The others belong to AKS and its add-ons
# (Microsoft Learn): app-routing-system (application routing add-on, aks/app-routing), gatekeeper-system (Azure Policy
# add-on, governance/policy/concepts/policy-for-kubernetes), calico-system, calico-apiserver and tigera-operator (Calico
# network policy, aks/use-network-policies), aks-istio-* (Istio add-on, aks/istio-about), azure-arc (Arc-enabled
# clusters), aks-command (`az aks command invoke` pods), flux-system (GitOps extension), dapr-system (Dapr extension).
RESERVED_NAMESPACES = frozenset(
    {
        "default",
        "gatekeeper-system",
        "app-routing-system",
        "calico-system",
        "calico-apiserver",
        "tigera-operator",
        "aks-istio-system",
        "aks-istio-ingress",
        "aks-istio-egress",
        "azure-arc",
        "azure-arc-release",
        "aks-command",
        "flux-system",
        "dapr-system",
    }
)


def _not_a_system_namespace(value: str) -> str:
    if value.startswith("kube-") or value in RESERVED_NAMESPACES:
        raise ValueError(
            "is a namespace Kubernetes or AKS owns (the service's namespace would be shared with, or taken from, "
            "the cluster's own components): choose another name"
        )
    return value


def _not_a_platform_repository(value: str) -> str:
    if value in naming.PLATFORM_REPOSITORIES:
        raise ValueError(
            f"names a repository the stack keeps for every service ({', '.join(naming.PLATFORM_REPOSITORIES)}): "
            "choose another name"
        )
    return value


def _quoted_version(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(
            'must be quoted in the stack file, e.g. kubernetesVersion: "1.30": unquoted, YAML reads a version as a '
            "number and drops its trailing zero"
        )
    return value


VmSize = Annotated[
    str,
    _worded(r"^Standard_[A-Za-z0-9_]{2,40}$", "must be an Azure VM size name such as Standard_D4s_v5"),
]
Zone = Literal["1", "2", "3"]
Email = Annotated[
    str,
    StringConstraints(max_length=254),
    _worded(
        r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$",
        "must be an e-mail address (name@domain.tld), the approver's Azure DevOps user name",
    ),
]
ServiceName = Annotated[
    str,
    StringConstraints(min_length=2, max_length=naming.SERVICE_NAME_MAX),
    _worded(
        naming.SERVICE_NAME_PATTERN,
        "must be lowercase letters, digits and single hyphens, start with a letter and end with a letter or digit "
        "(it names a repository and a Kubernetes namespace)",
    ),
    AfterValidator(_not_a_system_namespace),
    AfterValidator(_not_a_platform_repository),
]
SecretName = Annotated[
    str,
    _worded(
        r"^[a-z][a-z0-9-]{0,62}[a-z0-9]$",
        "must be 2-64 lowercase letters, digits and hyphens, start with a letter and end with a letter or digit "
        "(a Key Vault secret name that is also a pipeline variable name)",
    ),
]


KubernetesMinor = Annotated[
    str,
    BeforeValidator(_quoted_version),
    _worded(r"^1\.(2[89]|3[0-9])$", 'must be a Kubernetes minor version from "1.28" to "1.39", without a patch'),
]
NamePrefix = Annotated[
    str,
    _worded(
        naming.PREFIX_PATTERN,
        "must be 2-10 lowercase letters and digits, starting with a letter (it goes into globally unique Azure "
        "names that allow no hyphens)",
    ),
]
Location = Annotated[
    str,
    _worded(
        r"^[a-z][a-z0-9]{2,29}$",
        "must be an Azure region's programmatic name, lowercase with no spaces (westeurope, not West Europe)",
    ),
]
AgentPoolName = Annotated[
    str,
    _worded(
        r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$",
        "must be an agent pool name: 1-64 letters, digits, spaces, '.', '_' or '-', starting with a letter or digit",
    ),
]
DevOpsOrganization = Annotated[
    str,
    _worded(
        r"^[A-Za-z0-9][A-Za-z0-9-]{0,48}[A-Za-z0-9]$",
        "must be an Azure DevOps organisation name (the part after dev.azure.com/): 2-50 letters, digits and "
        "hyphens, starting and ending with a letter or digit",
    ),
]
TemplatesRelease = Annotated[
    str,
    _worded(
        r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        "must be a release label: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
    ),
]
DevOpsProject = Annotated[
    str,
    _worded(
        r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}[A-Za-z0-9]$",
        "must be an Azure DevOps project name: 2-64 letters, digits, spaces, '.', '_' or '-', starting and "
        "ending with a letter or digit",
    ),
]
# A graph subject descriptor of a Microsoft Entra service principal: Azure DevOps names it "aadsp." and an encoded ID
# (the descriptor a ServicePrincipalEntitlement reports, which GroupMembership's members take).
ServicePrincipalDescriptor = Annotated[
    str,
    _worded(
        r"^aadsp\.[A-Za-z0-9_=+/-]{8,512}$",
        "must be an Azure DevOps service principal descriptor: 'aadsp.' and its encoded ID, as the bootstrap's "
        "output previewIdentityDescriptors prints it",
    ),
]

RepositoryName = Annotated[
    str,
    _worded(
        r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}[A-Za-z0-9]$",
        "must be an Azure Repos repository name: 2-64 letters, digits, spaces, '.', '_' or '-', starting and "
        "ending with a letter or digit",
    ),
]


def _host_name(value: str) -> str:
    labels = value.split(".")
    label = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
    if len(value) > 253 or len(labels) < 2 or not all(label.match(part) for part in labels):
        raise ValueError(
            "must be a fully qualified DNS host name: lowercase labels of letters, digits and '-' separated by dots, "
            "each 1-63 characters, at most 253 in all"
        )
    return value


HostName = Annotated[str, AfterValidator(_host_name)]


def _git_url(value: str) -> str:
    parsed = urlsplit(value)
    if parsed.scheme != "https" or not parsed.hostname:
        raise ValueError("must be an https:// Git clone URL")
    if parsed.username or parsed.password:
        raise ValueError(
            "must not carry credentials: a private source is read through importServiceConnectionId, a Git service "
            "connection of the project"
        )
    return value


GitUrl = Annotated[str, AfterValidator(_git_url)]


WebhookUrl = Annotated[
    str,
    StringConstraints(max_length=2048),
    _worded(r"https://[^\s/$.?#]\S*", "must be an https:// URL without spaces (at most 2048 characters)"),
]
