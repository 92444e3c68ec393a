"""No connection a service's own code runs with may reach production: the trust-level half of the pipeline links.

AzureCLI@2 signs in with its connection and runs its script inside that `az` session (microsoft/azure-pipelines-tasks
Tasks/AzureCLIV2/azureclitask.ts `runMain`: `loginAzureRM` before `tool.exec`), and a job's steps share one agent
workspace, so a job that has the service's repository checked out can use every connection its tasks name. A job
checks the run's own repository out unless its `checkout` steps leave `self` out; deployment jobs check out nothing
unless told (learn.microsoft.com/azure/devops/pipelines/repos/multi-repo-checkout, "If no checkout step is present,
the default behavior is as if checkout: self were the first step"; .../process/deployment-jobs, "A deployment job
doesn't automatically clone the source repo"). `production_reach` follows each such job's connections to the identity
each signs in as (its client ID) and that identity's role assignments.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tools.azure_rbac import covers
from tools.capture import Capture
from tools.devops_index import AZDO, Definition, DevOpsIndex, build_index
from tools.pipeline_links import CONNECTION_INPUTS, Finding, expand


def jobs(document: Any) -> Iterator[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """Each job of an expanded pipeline as (name, job, its steps); a pipeline of bare steps is one job."""
    if isinstance(document, dict):
        if "steps" in document and "job" not in document and "deployment" not in document:
            yield "(pipeline)", document, [s for s in document["steps"] if isinstance(s, dict)]
        for key in ("stages", "jobs"):
            for item in document.get(key) or []:
                if not isinstance(item, dict):
                    continue
                if "job" in item or "deployment" in item:
                    steps: list[Any] = item.get("steps") or []
                    for hook in ((item.get("strategy") or {}).get("runOnce") or {}).values():
                        steps = [*steps, *((hook or {}).get("steps") or [])]
                    yield (
                        str(item.get("job") or item.get("deployment")),
                        item,
                        [s for s in steps if isinstance(s, dict)],
                    )
                else:
                    yield from jobs(item)


def runs_repository_code(job: dict[str, Any], steps: list[dict[str, Any]]) -> bool:
    if job.get("pool") == "server":
        return False
    checkouts = [str(step["checkout"]) for step in steps if "checkout" in step]
    if not checkouts:
        return "deployment" not in job
    return "self" in checkouts


def connections(steps: list[dict[str, Any]]) -> set[str]:
    return {
        str((step.get("inputs") or {})[key])
        for step in steps
        if "task" in step
        for key in CONNECTION_INPUTS.get(str(step["task"]), ())
        if key in (step.get("inputs") or {})
    }


def expanded_definitions(estate: DevOpsIndex) -> Iterator[tuple[Definition, Any | None]]:
    """Each pipeline definition with its YAML expanded (templates inlined, parameters substituted), or None where the
    inventory does not hold its file (the pipeline link check names that too)."""
    every_file = {path: text for files in estate.files.values() for path, text in files.items()}
    for definition in sorted(estate.definitions, key=lambda d: d.name):
        files = {**every_file, **estate.files.get(definition.repository_id, {})}
        yield definition, expand(files, definition.yml_path) if definition.yml_path in files else None


def endpoint_principals(capture: Capture) -> dict[str, str | None]:
    """Endpoint ID -> the principal ID of the identity it signs in as (the user-assigned identity whose client ID the
    connection holds); None for a principal the stack does not hold."""
    principals = {
        str(r.outputs.get("clientId")): str(r.outputs.get("principalId"))
        for r in capture.of_type("azure-native:managedidentity:UserAssignedIdentity")
    }
    found: dict[str, str | None] = {}
    for r in capture.resources:
        if r.type.removeprefix(AZDO).startswith("serviceEndpoint"):
            client = ({**r.outputs, **r.inputs}.get("credentials") or {}).get("serviceprincipalid")
            if client is not None:
                found[r.id] = principals.get(str(client))
    return found


def endpoint_scopes(capture: Capture) -> dict[str, list[tuple[str, str]] | None]:
    """Endpoint ID -> (role definition, scope) of every role assignment of the identity it signs in as; None for a
    connection that signs in as a principal the stack does not hold, whose rights cannot be read here."""
    grants: dict[str, list[tuple[str, str]]] = {}
    for r in capture.of_type("azure-native:authorization:RoleAssignment"):
        role = str(r.inputs["roleDefinitionId"]).rsplit("/", 1)[-1]
        grants.setdefault(str(r.inputs["principalId"]), []).append((role, str(r.inputs["scope"])))
    return {
        endpoint: None if principal is None else grants.get(principal, [])
        for endpoint, principal in endpoint_principals(capture).items()
    }


def production_reach(capture: Capture, production_ids: frozenset[str]) -> list[Finding]:
    """Every way a service's own code could act on production: a job that runs repository code using a connection
    whose identity holds a role scoped to (or under) one of `production_ids`; and a connection that reaches production
    without a required-template check, or whose check admits a template that never uses it there (a CI template,
    whose jobs run the service's code) or that uses it in a job running repository code."""
    if not production_ids:
        raise ValueError("production_reach needs the production cluster's and registry's resource IDs")
    estate = build_index(capture, {})
    scopes = endpoint_scopes(capture)
    findings = [
        Finding(name, "", "signs in as a principal the stack does not hold: its rights cannot be checked")
        for (kind, _, name), rid in sorted(estate.named.items())
        if kind == "endpoint" and rid in scopes and scopes[rid] is None
    ]

    def reach(endpoint: str) -> list[str]:
        return sorted(
            f"{role} on {scope}"
            for role, scope in scopes.get(endpoint) or []
            # A role on a scope holds on everything below it (Azure RBAC inherits downward): a grant on the vault
            # reaches a certificate in it as surely as one on the certificate.
            # A grant on something below a target (a namespace of the production cluster) acts on it too.
            if any(covers(scope, target) or covers(target, scope) for target in production_ids)
        )

    def code_jobs_using(document: Any, project: str, endpoint: str) -> tuple[bool, list[str]]:
        used, exposed = False, []
        for name, job, steps in jobs(document):
            if endpoint in {estate.named.get(("endpoint", project, c)) for c in connections(steps)}:
                used = True
                if runs_repository_code(job, steps):
                    exposed.append(name)
        return used, exposed

    by_name = {
        f"{estate.projects.get(project, '')}/{name}": rid for rid, (project, name) in estate.repositories.items()
    }
    for definition, document in expanded_definitions(estate):
        if document is None:
            # What cannot be read cannot be cleared.
            findings.append(Finding(definition.yml_path, "", f"pipeline {definition.name!r}: its YAML is not held"))
            continue
        for endpoint in sorted({rid for (kind, _, _), rid in estate.named.items() if kind == "endpoint"}):
            reached = reach(endpoint)
            _, exposed = code_jobs_using(document, definition.project_id, endpoint)
            for job in exposed if reached else []:
                findings.append(
                    Finding(
                        definition.yml_path,
                        f"job {job}",
                        f"pipeline {definition.name!r} runs repository code with a connection whose identity holds "
                        f"{reached}",
                    )
                )
    for (kind, project, name), endpoint in sorted(estate.named.items()):
        if kind != "endpoint" or not reach(endpoint):
            continue
        admitted = estate.required_templates.get(("endpoint", endpoint))
        if not admitted:
            findings.append(Finding(name, "", "reaches production but no required-template check guards it"))
            continue
        for repository, _, path in sorted(admitted):
            files = estate.files.get(by_name.get(repository, ""), {})
            if path not in files:
                findings.append(Finding(name, path, f"admits {path}, which is not in {repository}"))
                continue
            used, exposed = code_jobs_using(expand(files, path), project, endpoint)
            if not used:
                findings.append(
                    Finding(
                        name, path, f"admits {path}, which never uses it: a run extending it needs no production rights"
                    )
                )
            for job in exposed:
                findings.append(Finding(name, path, f"admits {path}, whose job {job} runs repository code with it"))
    return findings
