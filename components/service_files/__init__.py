"""The files the stack commits into each microservice's Azure Repos repository; pure Python, no Pulumi.

Three entry pipelines (PR build validation, CI, CD), the step and job templates they share, and the Kubernetes
manifests CD deploys. The templates are static files under `pipelines/service/templates/`, committed verbatim, so one
set serves every service; entry pipelines and manifests carry per-service values and are built as Python data and
serialized with PyYAML. Tests and the offline preview call it directly.
"""

from __future__ import annotations

from components.service_files.cd import cd_pipeline
from components.service_files.ci import ci_pipeline, pr_pipeline
from components.service_files.context import PipelineContext
from components.service_files.layout import (
    CD_PIPELINE_PATH,
    CI_PIPELINE_PATH,
    HEADER,
    KUBERNETES_MANIFEST_PATH,
    PIPELINE_TEMPLATES_PATH,
    PR_PIPELINE_PATH,
    PRODUCTION_MANIFEST,
    STAGING_MANIFEST,
    TEMPLATE_SOURCE_DIR,
)
from components.service_files.manifests import kubernetes_manifest
from components.service_files.spec import ServiceSpec
from components.service_files.yaml_text import dump, dump_all


def render_repository_files(service: ServiceSpec, ctx: PipelineContext) -> dict[str, str]:
    """Repository path -> content of every pipeline, template and manifest to commit, sorted by path."""
    files = {
        PR_PIPELINE_PATH: dump(pr_pipeline(service, ctx)),
        CI_PIPELINE_PATH: dump(ci_pipeline(service, ctx)),
        CD_PIPELINE_PATH: dump(cd_pipeline(service, ctx)),
        f"{KUBERNETES_MANIFEST_PATH}/{STAGING_MANIFEST}": dump_all(
            kubernetes_manifest(service, ctx.nonprod_registry_login_server)
        ),
        f"{KUBERNETES_MANIFEST_PATH}/{PRODUCTION_MANIFEST}": dump_all(
            kubernetes_manifest(service, ctx.prod_registry_login_server)
        ),
    }
    for template in sorted(TEMPLATE_SOURCE_DIR.glob("*.yml")):
        files[f"{PIPELINE_TEMPLATES_PATH}/{template.name}"] = HEADER + template.read_text(encoding="utf-8")
    return dict(sorted(files.items()))
