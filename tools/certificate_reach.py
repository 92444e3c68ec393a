"""No certificate production serves lands where a service's own code can read it: the staging half of the
certificate links (production_reach covers the vault itself).

An Ingress of the application routing add-on's classes that names a Key Vault certificate in the annotation
`kubernetes.azure.com/tls-cert-keyvault-uri` makes the add-on create a SecretProviderClass `keyvault-<ingress>` in
the Ingress's namespace, read the certificate as the secret of its name with the add-on's own identity, and sync it,
private key included, into the Secret `keyvault-<ingress>` of type kubernetes.io/tls in that namespace
(Azure/aks-app-routing-operator pkg/controller/keyvault/spc/ingress.go `ingressToSpcOpts`, `getIngressSpcName`;
spc/reconcile.go `buildSpc`: objectType "secret", secretObjects). So:

- a staging manifest whose Ingress names a production certificate puts that key in a staging namespace, where every
  identity holding AKS RBAC Writer, Admin or Cluster Admin on the namespace or the cluster reads Secrets (built-in
  roles: Writer "allows accessing Secrets"; Admin and Cluster Admin `managedClusters/*`);
- a staging add-on identity that may read a production certificate's secret copies it into any staging namespace
  whose Ingress names it, and those same roles write Ingresses.

Either is a finding when such an identity signs in through a connection that a job running repository code uses
(production_reach.runs_repository_code: CI's tests and builds, CD's acceptance tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

from components.service_files.manifests import renderer
from tools.azure_rbac import KUBERNETES_WRITERS, SECRET_READERS, covers
from tools.capture import Capture, Registration
from tools.devops_index import build_index
from tools.ingress_links import ingresses
from tools.pipeline_links import Finding
from tools.production_reach import connections, endpoint_principals, expanded_definitions, jobs, runs_repository_code

CLUSTER = "azure-native:containerservice:ManagedCluster"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


@dataclass(frozen=True)
class ServedCertificate:
    """A certificate an Ingress of `stage` names: the secret the add-on reads, and where its copy lands."""

    stage: str
    service: str
    namespace: str
    ingress: str
    # `<vault resource ID>/secrets/<name>`; the URI itself for a vault the stack does not hold, whose grants the
    # inventory cannot show (a staging Ingress naming the same URI as production's is still reported).
    secret_id: str


@dataclass(frozen=True)
class Assignment:
    principal: str
    role: str
    scope: str


def _assignments(capture: Capture) -> list[Assignment]:
    return [
        Assignment(
            str(r.inputs["principalId"]), str(r.inputs["roleDefinitionId"]).rsplit("/", 1)[-1], str(r.inputs["scope"])
        )
        for r in capture.of_type(ROLE_ASSIGNMENT)
    ]


def _staging_cluster(capture: Capture) -> Registration:
    # The stack's output `clusters` names each stage's cluster.
    name = capture.outputs["clusters"]["staging"]
    (cluster,) = [r for r in capture.of_type(CLUSTER) if r.inputs.get("resourceName") == name]
    return cluster


def served_certificates(capture: Capture) -> Iterator[ServedCertificate]:
    """Every certificate an Ingress names in the manifests CI renders for each service and stage (ingress_links)."""
    vaults = {str(r.inputs.get("vaultName", "")).lower(): r.id for r in capture.of_type("azure-native:keyvault:Vault")}
    annotation = renderer().TLS_CERTIFICATE_ANNOTATION
    for stage, by_service in ingresses(capture).items():
        for service, found in by_service.items():
            for ingress in found:
                uri = (ingress["metadata"].get("annotations") or {}).get(annotation)
                if not uri:
                    continue
                vault, name = _certificate(str(uri))
                yield ServedCertificate(
                    stage,
                    service,
                    str(ingress["metadata"]["namespace"]),
                    str(ingress["metadata"]["name"]),
                    f"{vaults[vault]}/secrets/{name}" if vault in vaults else str(uri),
                )


def _certificate(uri: str) -> tuple[str, str]:
    """(vault name, certificate name) of `https://<vault>.vault.azure.net/certificates/<name>[/<version>]`, read as
    the add-on reads it (aks-app-routing-operator spc/parse_kv.go parseKeyVaultCertURI: the host's first label, the
    path's second segment)."""
    parsed = urlparse(uri)
    return parsed.hostname.split(".")[0].lower() if parsed.hostname else "", parsed.path.split("/")[2].lower()


def code_principals(capture: Capture) -> set[str]:
    """The principal IDs that jobs running repository code sign in as, through the connections their tasks name."""
    estate = build_index(capture, {})
    endpoints = endpoint_principals(capture)
    found: set[str] = set()
    for definition, document in expanded_definitions(estate):
        for _, job, steps in jobs(document) if document is not None else ():
            if not runs_repository_code(job, steps):
                continue
            for name in connections(steps):
                principal = endpoints.get(estate.named.get(("endpoint", definition.project_id, name), ""))
                if principal:
                    found.add(principal)
    return found


def staging_certificate_reach(capture: Capture) -> list[Finding]:
    """Every way a certificate production serves could reach an identity that runs a service's own code through a
    staging namespace: a staging Ingress that names it, or a staging add-on identity that may read it."""
    served = list(served_certificates(capture))
    production = {s.secret_id.lower() for s in served if s.stage == "production"}
    cluster = _staging_cluster(capture)
    grants = _assignments(capture)
    code = code_principals(capture)

    def writers(namespace: str | None) -> list[str]:
        """Who, running repository code, reads Secrets and writes Ingresses in `namespace` (any, if None)."""
        return sorted(
            f"{g.principal} ({KUBERNETES_WRITERS[g.role]} on {g.scope})"
            for g in grants
            if g.principal in code
            and g.role in KUBERNETES_WRITERS
            and (
                covers(g.scope, cluster.id)
                or (namespace is None and covers(f"{cluster.id}/namespaces", g.scope))
                or (namespace is not None and covers(g.scope, f"{cluster.id}/namespaces/{namespace}"))
            )
        )

    findings = [
        Finding(
            f"{s.service} staging manifest",
            f"Ingress {s.namespace}/{s.ingress}",
            f"names production's certificate {s.secret_id}: the add-on copies its private key into Secret "
            f"keyvault-{s.ingress}, which {', '.join(readers)} read",
        )
        for s in served
        if s.stage == "staging" and s.secret_id.lower() in production and (readers := writers(s.namespace))
    ]
    add_on = str(cluster.outputs["ingressProfile"]["webAppRouting"]["identity"]["objectId"])
    reachable = writers(None)
    for g in grants:
        if g.principal != add_on or g.role not in SECRET_READERS or not reachable:
            continue
        for secret in sorted(secret for secret in production if covers(g.scope, secret)):
            findings.append(
                Finding(
                    "staging application routing add-on",
                    f"{SECRET_READERS[g.role]} on {g.scope}",
                    f"reads production's certificate {secret}: an Ingress naming it in a staging namespace that "
                    f"{', '.join(reachable)} write gets a copy of its private key",
                )
            )
    return findings
