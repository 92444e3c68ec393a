"""The CD template every service's CD pipeline extends: staging, acceptance tests, manual validation, promotion by
digest, production. The entry pipeline declares the CI pipeline resource (`ci`) whose run it deploys."""

from __future__ import annotations

from typing import Any

from components.service_files.ci import image_repository, parameters, pool
from components.service_files.context import PipelineContext
from components.service_files.layout import (
    ACCEPTANCE_STAGE,
    ACCEPTANCE_TEMPLATE,
    CI_RESOURCE,
    CI_RUN_ID,
    DEPLOY_TEMPLATE,
    KUBELOGIN_TEMPLATE,
    KUBELOGIN_VERSION,
    PRODUCTION_MANIFEST,
    PROMOTE_TEMPLATE,
    PYTHON_SETUP_TEMPLATE,
    STAGING_MANIFEST,
)
from components.service_files.spec import TemplateService

# What promotion must follow may not be deselected under "Stages to run" when a run is queued: by default every stage
# may be skipped ("isSkippable: Setting false prevents the stage from being skipped. By default it's always true",
# Microsoft's Azure Pipelines schema, definitions.stage, as check-jsonschema vendors it). The production connection's
# and environment's checks hold for the stages that use them; this holds every stage, the tests and approval too, so
# Promote, which runs outside the production environment, never runs unless ManualValidation was approved. A string:
# that schema types the key as its "boolean", a string of true/false/yes/no (Azure Pipelines reads scalars as text).
_UNSKIPPABLE = {"isSkippable": "false"}


def _deploy_stage(
    service: TemplateService,
    ctx: PipelineContext,
    *,
    stage: str,
    depends_on: str | None,
    environment: str,
    cluster: str,
    manifest: str,
    login_server: str,
    connection: str,
) -> dict[str, Any]:
    return {
        "stage": stage,
        **({"dependsOn": depends_on} if depends_on else {}),
        **_UNSKIPPABLE,
        "jobs": [
            {
                "template": DEPLOY_TEMPLATE,
                "parameters": {
                    # The environment itself, not a Kubernetes resource of it: Azure DevOps' servers would have to
                    # reach the private API server to show one, and its connection would need a stored token.
                    "environment": environment,
                    "azureServiceConnection": connection,
                    "resourceGroup": ctx.resource_group,
                    "cluster": cluster,
                    "namespace": service.name,
                    "manifest": manifest,
                    "imageRepository": image_repository(login_server, service),
                    "kubeloginVersion": KUBELOGIN_VERSION,
                },
            }
        ],
    }


def _one_job_stage(name: str, after: str, job: dict[str, Any]) -> dict[str, Any]:
    """A stage of one job, both called `name`, that runs once stage `after` has succeeded."""
    return {"stage": name, "dependsOn": after, **_UNSKIPPABLE, "jobs": [{"job": name, **job}]}


def _acceptance_job(service: TemplateService, ctx: PipelineContext) -> dict[str, Any]:
    python = [{"template": PYTHON_SETUP_TEMPLATE, "parameters": {"pythonVersion": ctx.python_version}}]
    return {
        "displayName": "Acceptance tests against staging",
        "steps": [
            *(python if service.build == "python" else []),
            {"template": KUBELOGIN_TEMPLATE, "parameters": {"version": KUBELOGIN_VERSION}},
            {
                "template": ACCEPTANCE_TEMPLATE,
                "parameters": {
                    "azureServiceConnection": ctx.azure_service_connection,
                    "resourceGroup": ctx.resource_group,
                    "cluster": ctx.staging_cluster,
                    "namespace": service.name,
                    "port": service.port,
                    "command": _acceptance_command(service),
                },
            },
        ],
    }


def _acceptance_command(service: TemplateService) -> str:
    if service.build == "python":
        return "python -m pytest tests/acceptance --junitxml=test-results/acceptance.xml"
    # The image's `acceptance` stage runs the suite against STAGING_BASE_URL and writes /test-results/acceptance.xml;
    # it shares the agent's network to reach the port-forward, and runs as the image's own non-root user.
    return (
        "mkdir -p -m 0777 test-results\n"
        f'DOCKER_BUILDKIT=1 docker build --target {ACCEPTANCE_STAGE} --tag "acceptance:$(Build.BuildId)" .\n'
        'docker run --rm --network host --env STAGING_BASE_URL --volume "$PWD/test-results:/test-results" '
        '"acceptance:$(Build.BuildId)"'
    )


def _manual_validation_job(service: TemplateService, ctx: PipelineContext) -> dict[str, Any]:
    return {
        "displayName": "Approve promotion to production",
        # ManualValidation runs only in an agentless job; the job must outlive the task's own timeout. A string
        # for the same reason as `batch` in CI: job-level scalars may be runtime expressions.
        "pool": "server",
        "timeoutInMinutes": str(ctx.approval_timeout_minutes + 60),
        "steps": [
            {
                "task": "ManualValidation@1",
                "displayName": "Approve promotion",
                "timeoutInMinutes": ctx.approval_timeout_minutes,
                "inputs": {
                    "notifyUsers": ",".join(ctx.promotion_approvers) or "$(Build.RequestedForEmail)",
                    **({"approvers": ",".join(ctx.promotion_approvers)} if ctx.promotion_approvers else {}),
                    "allowApproversToApproveTheirOwnRuns": False,
                    "instructions": (
                        f"{service.name} from CI run $(resources.pipeline.{CI_RESOURCE}.runName) passed its "
                        "acceptance tests in staging. Resume to promote that image to the production registry "
                        "and deploy it to production; reject to stop here."
                    ),
                    "onTimeout": "reject",
                },
            }
        ],
    }


def _promotion_job(service: TemplateService, ctx: PipelineContext) -> dict[str, Any]:
    return {
        "displayName": "Import the image into the production registry",
        "steps": [
            {
                "template": PROMOTE_TEMPLATE,
                "parameters": {
                    "azureServiceConnection": ctx.production_service_connection,
                    "sourceRegistry": ctx.nonprod_registry_name,
                    "targetRegistry": ctx.prod_registry_name,
                    "repository": service.name,
                    "tag": CI_RUN_ID,
                },
            }
        ],
    }


def cd_template(service: TemplateService, ctx: PipelineContext) -> dict[str, Any]:
    return {
        "parameters": parameters(),
        "pool": pool(ctx),
        "stages": [
            _deploy_stage(
                service,
                ctx,
                stage="Staging",
                depends_on=None,
                environment=ctx.staging_environment,
                cluster=ctx.staging_cluster,
                manifest=STAGING_MANIFEST,
                login_server=ctx.nonprod_registry_login_server,
                connection=ctx.azure_service_connection,
            ),
            _one_job_stage("AcceptanceTests", after="Staging", job=_acceptance_job(service, ctx)),
            _one_job_stage("ManualValidation", after="AcceptanceTests", job=_manual_validation_job(service, ctx)),
            _one_job_stage("Promote", after="ManualValidation", job=_promotion_job(service, ctx)),
            _deploy_stage(
                service,
                ctx,
                stage="Production",
                depends_on="Promote",
                environment=ctx.production_environment,
                cluster=ctx.production_cluster,
                manifest=PRODUCTION_MANIFEST,
                login_server=ctx.prod_registry_login_server,
                connection=ctx.production_service_connection,
            ),
        ],
    }
