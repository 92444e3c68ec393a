"""The files of the pipeline templates repository: one estate's PR, CI and CD templates per build kind, the step
templates they include, the manifest renderer, and the repository's own build validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components.requirements_lock import canonical, entries
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
_REGISTRY = "example.azurecr.io"
_CONNECTION_STRING = "InstrumentationKey=00000000-0000-0000-0000-000000000000"
# The lock of the stack's own dependencies, which renders every other YAML file of this repository.
PROGRAM_LOCK = PLATFORM_SOURCE_DIR.parents[1] / "requirements.txt"
# Each written stream must parse (a Kubernetes object per document) to what `manifests()` returns for the same
# arguments: a scalar the renderer's emitter mis-quotes changes type on the way, and kubectl would apply that instead.
_PARSE_CHECK = f"""python - <<'EOF'
import json, os, sys
import yaml
sys.path.insert(0, "manifests")
import render
service = json.loads(os.environ["SERVICE_MANIFEST"])
for stage in ("staging", "production"):
    with open(f"{{stage}}.yaml", encoding="utf-8") as stream:
        written = list(yaml.safe_load_all(stream))
    if written != render.manifests(service, stage, {_REGISTRY!r}, {_CONNECTION_STRING!r}):
        sys.exit(f"{{stage}}.yaml does not parse to the objects the renderer built")
    print(f"{{stage}}.yaml:", ", ".join(f"{{o['kind']}}/{{o['metadata']['name']}}" for o in written))
EOF"""

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


def locked_requirement(name: str, lock: Path = PROGRAM_LOCK) -> str:
    """The pip-compile entry of `name` in `lock`: its `==` pin and every hash, as pip reads it with --require-hashes."""
    entry = entries(lock.read_text(encoding="utf-8")).get(canonical(name))
    if entry is None:
        raise ValueError(f"{lock.name} has no {name}== entry")
    return entry.as_requirement()


def validation_template(ctx: PipelineContext) -> dict[str, Any]:
    """Build validation of this repository's pull requests: the pull request's renderer runs for a sample service
    with every optional part, for both stages, and the YAML stream it writes (what CI publishes and CD deploys)
    parses, with PyYAML, to exactly the objects the renderer built."""
    parameters = json.dumps(manifest_parameters(_SAMPLE, _SAMPLE_CLIENT_IDS), separators=(",", ":"))
    render = [
        f"python3 {MANIFEST_RENDERER} --stage {stage} --registry {_REGISTRY} "
        f'--connection-string "{_CONNECTION_STRING}" --output "{stage}.yaml"'
        for stage in ("staging", "production")
    ]
    requirements = "$(Agent.TempDirectory)/validation-requirements.txt"
    install = "\n".join(
        [
            "set -euo pipefail",
            f"cat > \"{requirements}\" <<'EOF'",
            locked_requirement("pyyaml"),
            "EOF",
            f'python -m pip install --disable-pip-version-check --require-hashes --no-deps -r "{requirements}"',
        ]
    )
    return {
        "pool": pool(ctx),
        "steps": [
            # The pipeline's own repository: the pull request's merge commit, whose renderer is under review.
            {"checkout": "self"},
            {
                "task": "UsePythonVersion@0",
                "displayName": f"Use Python {ctx.python_version}",
                "inputs": {"versionSpec": ctx.python_version},
            },
            # The parser the stack itself is locked to (requirements.txt), installed by hash: the renderer needs no
            # PyYAML, its check does.
            {"bash": install, "displayName": "Install the YAML parser"},
            {
                "bash": "\n".join(
                    ["set -euo pipefail", f"python3 -m py_compile {MANIFEST_RENDERER}", *render, _PARSE_CHECK]
                ),
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
