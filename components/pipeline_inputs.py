"""What the committed pipelines and manifests are made of, from the stack's config alone: names, all known before
`pulumi up` (the pipelines refer to resources by name)."""

from __future__ import annotations

from collections.abc import Sequence

from components import naming
from components.config import EstateConfig
from components.devops_pool import pipelines_pool_name
from components.service_files.context import PipelineContext
from components.service_files.spec import ServiceSpec


def pipeline_context(
    names: naming.EstateNames,
    key_vault_secrets: Sequence[str],
    promotion_approvers: Sequence[str],
    agent_pool: str | None,
    approval_timeout_minutes: int,
    *,
    project: str,
    security_scan: bool,
    private_https: Sequence[str] = (),
) -> PipelineContext:
    """The names the committed YAML uses, all known before `pulumi up`: the pipelines refer to resources by name."""
    return PipelineContext(
        project=project,
        azure_service_connection=names.azure_service_connection,
        registry_service_connection=names.registry_service_connection,
        production_service_connection=names.production_service_connection,
        resource_group=names.resource_group,
        nonprod_registry_name=names.registry("nonprod"),
        nonprod_registry_login_server=_login_server(names.registry("nonprod")),
        prod_registry_name=names.registry("prod"),
        prod_registry_login_server=_login_server(names.registry("prod")),
        staging_cluster=names.cluster("staging"),
        production_cluster=names.cluster("production"),
        key_vault_name=names.key_vault,
        key_vault_secrets=tuple(key_vault_secrets),
        promotion_approvers=tuple(promotion_approvers),
        agent_pool=agent_pool,
        approval_timeout_minutes=approval_timeout_minutes,
        security_scan=security_scan,
        private_https=tuple(private_https),
    )


def _login_server(registry_name: str) -> str:
    # Azure public cloud gives every registry the login server "<name>.azurecr.io" (lowercase, as our names are).
    return f"{registry_name}.azurecr.io"


def estate_pipeline_context(
    config: EstateConfig, names: naming.EstateNames, secret_names: Sequence[str]
) -> PipelineContext:
    """The names the committed templates use, from the stack's config: connections, registries, clusters, the vault's
    secrets, the pool, the approvers, and the private range a private estate's telemetry resolves to."""
    return pipeline_context(
        names,
        secret_names,
        config.production_approvers,
        pipelines_pool_name(config),
        config.approval_timeout_minutes,
        project=config.devops_project,
        security_scan=config.security_scan_extension != "none",
        private_https=[config.network.subnets.private_endpoints] if config.network.private else [],
    )


def service_specs(config: EstateConfig, names: naming.EstateNames) -> list[ServiceSpec]:
    """What each service's manifests need, including both ends of every declared call."""
    ports = {service.name: service.port for service in config.services}
    return [
        ServiceSpec(
            name=service.name,
            port=service.port,
            replicas=service.replicas,
            max_replicas=service.max_replicas,
            build=service.build,
            expose=service.expose,
            host=service.host,
            tls_certificate_uri=_certificate_uri(names, service.tls_certificate),
            staging_host=service.staging_host,
            staging_tls_certificate_uri=_certificate_uri(names, service.staging_tls_certificate),
            calls=tuple((callee, ports[callee]) for callee in service.calls),
            callers=tuple(caller.name for caller in config.services if service.name in caller.calls),
        )
        for service in config.services
    ]


def _certificate_uri(names: naming.EstateNames, certificate: str | None) -> str | None:
    # Without a version: the add-on then reads the certificate's current version (app-routing-dns-ssl.md).
    return f"https://{names.key_vault}.vault.azure.net/certificates/{certificate}" if certificate else None
