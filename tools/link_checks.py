"""The estate's run-time link checks over one inventory, as the offline preview runs them on any stack config.

The tests run each check on the committed stacks and on fixtures; a stack of one's own (other services, a served
certificate, more secrets) takes paths those do not, so the offline preview runs the same checks on it and fails
like a policy violation. Each check cites, in its own module, where the behaviour it follows is defined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tools.capture import Capture
from tools.certificate_reach import served_certificates, staging_certificate_reach
from tools.ingress_links import internal_controllers_out_of_step, published_in_staging, route_clashes
from tools.pipeline_links import Finding
from tools.production_reach import production_reach
from tools.secret_reads import unreadable_secrets

CLUSTER = "azure-native:containerservice:ManagedCluster"
REGISTRY = "azure-native:containerregistry:Registry"


def production_targets(capture: Capture) -> frozenset[str]:
    """What a service's own code must never act on: the production cluster and the production registry (as the
    stack's outputs `clusters.production` and `registries.prod` name them), and every certificate production's
    ingresses serve, as the certificate, the secret holding its private key and the key of its name
    (learn.microsoft.com/azure/key-vault/certificates/about-certificates, "Composition of a Certificate")."""
    cluster_name = capture.outputs["clusters"]["production"]
    login_server = capture.outputs["registries"]["prod"]
    clusters = [r.id for r in capture.of_type(CLUSTER) if r.inputs.get("resourceName") == cluster_name]
    registries = [
        r.id for r in capture.of_type(REGISTRY) if f"{r.inputs.get('registryName')}.azurecr.io" == login_server
    ]
    if len(clusters) != 1 or len(registries) != 1:
        raise ValueError(
            f"the inventory holds {len(clusters)} clusters named {cluster_name!r} and {len(registries)} registries "
            f"serving {login_server!r}: expected one of each"
        )
    certificates = {
        f"{vault}/{kind}/{name}"
        for served in served_certificates(capture)
        if served.stage == "production" and "/secrets/" in served.secret_id
        for vault, name in [served.secret_id.split("/secrets/", 1)]
        for kind in ("certificates", "secrets", "keys")
    }
    return frozenset({*clusters, *registries, *certificates})


@dataclass(frozen=True)
class LinkCheck:
    name: str
    # What holds when the check finds nothing, as the summary states it.
    holds: str
    run: Callable[[Capture], list[Finding]]


CHECKS = (
    LinkCheck(
        "production-reach",
        "no job that runs a service's own code signs in as an identity with a role on the production cluster, the "
        "production registry or a certificate production serves, and every connection that reaches production "
        "admits only templates that use it outside such jobs",
        lambda capture: production_reach(capture, production_targets(capture)),
    ),
    LinkCheck(
        "secret-reads",
        "every Key Vault secret a pipeline step downloads is written by the stack and readable by the identity of "
        "the step's connection",
        unreadable_secrets,
    ),
    LinkCheck(
        "staging-certificates",
        "no certificate production serves is copied into a staging namespace, nor readable by the staging "
        "ingress add-on, where an identity running a service's own code reads Secrets (the manifests as this "
        "checkout's renderer draws them: CI runs it once `templatesRelease` moves to these templates)",
        staging_certificate_reach,
    ),
    LinkCheck(
        "ingress-routes",
        "no two services' Ingresses claim one host, path and path type on one class in one cluster",
        route_clashes,
    ),
    LinkCheck(
        "ingress-controllers",
        "each cluster runs the internal ingress controller exactly when an Ingress there names its class",
        internal_controllers_out_of_step,
    ),
    LinkCheck(
        "staging-publication",
        "staging publishes a service on the public class, and its node subnet admits the internet, only for a "
        "staging host of the service's own",
        published_in_staging,
    ),
)


# Each check with what it found.
Results = list[tuple[LinkCheck, list[Finding]]]


def run(capture: Capture) -> Results:
    return [(check, check.run(capture)) for check in CHECKS]


def section(results: Results) -> list[str]:
    lines = ["## Link checks", ""]
    for check, findings in results:
        if findings:
            lines.append(f"- **{check.name}**: {len(findings)} found")
            lines.extend(f"  - {finding}" for finding in findings)
        else:
            lines.append(f"- **{check.name}**: holds: {check.holds}.")
    return [*lines, ""]
