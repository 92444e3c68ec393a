"""The files of the pipeline templates repository: one estate's PR, CI and CD templates per build kind, the step
templates they include, the manifest renderer, and the repository's own build validation."""

from __future__ import annotations

import json
from typing import Any

from components.service_files.cd import cd_template
from components.service_files.ci import ci_template, pool, pr_template
from components.service_files.context import PipelineContext
from components.service_files.entry import BUILDS, released_templates, stage_template
from components.service_files.layout import (
    HEADER,
    MANIFEST_RENDERER,
    PLATFORM_SOURCE_DIR,
    STEP_TEMPLATES_PATH,
    TEMPLATES_ALIAS,
    TEMPLATES_RELEASE_REF,
    TEMPLATES_VALIDATION_PIPELINE,
    TEMPLATES_VALIDATION_TEMPLATE,
)
from components.service_files.manifests import manifest_parameters
from components.service_files.spec import ServiceSpec, TemplateService
from components.service_files.yaml_text import dump

# A service with every optional part, so the validation renders each kind of object the renderer can emit.
_SAMPLE = ServiceSpec(
    name="sample",
    expose="internal",
    host="sample.example.internal",
    tls_certificate_uri="https://kv-example.vault.azure.net/certificates/sample",
    staging_host="sample-staging.example.internal",
    staging_tls_certificate_uri="https://kv-example.vault.azure.net/certificates/sample-staging",
    calls=(("callee", 8080),),
    callers=("caller",),
)
_SAMPLE_CLIENT_IDS = {
    "staging": "00000000-0000-0000-0000-000000000001",
    "production": "00000000-0000-0000-0000-000000000002",
}

README = """# Pipeline templates

Managed by the aks-estate Pulumi stack: every file here is rendered and committed by it, and changes to them are made
in the stack's repository (`pipelines/platform/`, `components/service_files/`), reviewed there, and arrive here on
`pulumi up`. Service pipelines read this repository at `{release}`, which the stack moves to the newest commit of
`main` only when the stack's `templatesRelease` setting changes: a template change rolls out deliberately, to every
service at once, without a commit to any service repository.

- `pipelines/{{pr,ci,cd}}-{{python,container}}.yml`: what the services' entry pipelines extend. The staging and
  production environments and the service connections that push images or deploy accept only runs that extend these
  (required-template checks).
- `pipelines/steps/`: the steps those templates include.
- `manifests/render.py`: the Kubernetes manifests of a service, rendered by CI from its entry pipeline's parameters.
- `{validation}`: this repository's build validation; it extends `{validation_template}` at `{release}`, as the
  agent queue's required-template check demands of every run on the project's pool.
"""


def validation_template(ctx: PipelineContext) -> dict[str, Any]:
    """Build validation of this repository's pull requests: the pull request's renderer runs for a sample service
    with every optional part, for both stages, and every document it writes parses."""
    parameters = json.dumps(manifest_parameters(_SAMPLE, _SAMPLE_CLIENT_IDS), separators=(",", ":"))
    render = [
        f"python3 {MANIFEST_RENDERER} --stage {stage} --registry example.azurecr.io "
        f'--connection-string "InstrumentationKey=00000000-0000-0000-0000-000000000000" --output "{stage}.yaml"'
        for stage in ("staging", "production")
    ]
    check = (
        'python3 -c \'import json, sys; [json.loads(d) for f in sys.argv[1:] for d in open(f).read().split("---") '
        "if d.strip()]' staging.yaml production.yaml"
    )
    return {
        "pool": pool(ctx),
        "steps": [
            # The pipeline's own repository: the pull request's merge commit, whose renderer is under review.
            {"checkout": "self"},
            {
                "bash": "\n".join(["set -euo pipefail", f"python3 -m py_compile {MANIFEST_RENDERER}", *render, check]),
                "displayName": "Render the manifests of a sample service",
                "workingDirectory": "$(Build.SourcesDirectory)",
                "env": {"SERVICE_MANIFEST": parameters},
            },
        ],
    }


def validation_pipeline(ctx: PipelineContext) -> dict[str, Any]:
    """The validation's entry: it runs on the project's pool, whose required-template check admits only runs that
    extend a released template, so its steps come from `release` and a pull request cannot replace them (only the
    renderer they run, which is what the validation is for)."""
    return {
        "trigger": "none",
        "resources": released_templates(ctx),
        "extends": {"template": f"{TEMPLATES_VALIDATION_TEMPLATE}@{TEMPLATES_ALIAS}"},
    }


def templates_repository_files(ctx: PipelineContext) -> dict[str, str]:
    """Repository path -> content of every file of the templates repository, sorted by path."""
    files = {
        "README.md": README.format(
            release=TEMPLATES_RELEASE_REF,
            validation=TEMPLATES_VALIDATION_PIPELINE,
            validation_template=TEMPLATES_VALIDATION_TEMPLATE,
        )
    }
    for build in BUILDS:
        service = TemplateService(build)
        files[stage_template("pr", build)] = dump(pr_template(service, ctx))
        files[stage_template("ci", build)] = dump(ci_template(service, ctx))
        files[stage_template("cd", build)] = dump(cd_template(service, ctx))
    for step in sorted((PLATFORM_SOURCE_DIR / "steps").glob("*.yml")):
        files[f"{STEP_TEMPLATES_PATH}/{step.name}"] = HEADER + step.read_text(encoding="utf-8")
    files[MANIFEST_RENDERER] = (PLATFORM_SOURCE_DIR / MANIFEST_RENDERER).read_text(encoding="utf-8")
    files[TEMPLATES_VALIDATION_TEMPLATE] = dump(validation_template(ctx))
    files[TEMPLATES_VALIDATION_PIPELINE] = dump(validation_pipeline(ctx))
    return dict(sorted(files.items()))
