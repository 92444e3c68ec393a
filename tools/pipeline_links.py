"""The pipeline <-> Azure DevOps link check: every object a committed YAML names exists and its user may use it.

Azure Pipelines resolves names when a run is queued, in the definition's own project: a pool through the project's
queue of that name, a service connection, environment (and `<environment>.<resource>`), variable group or repository
resource by name, a pipeline resource by definition name, a template by path in the repository that holds it. Each
protected one (queue, endpoint, environment, variable group, repository) must also authorize that definition
(terraform-provider-azuredevops `resource_pipeline_authorization.go`, types endpoint/queue/variablegroup/environment/
repository), or the run stops at "needs permission". Marketplace tasks exist only where their extension is installed.

`check` walks each definition's YAML from its entry file through every template it includes, substituting template
parameters the way template expressions do, and reports every name that does not resolve, every protected object
used without authorization, every authorization that no YAML uses (least privilege both ways), every run a
required-template check would stop, and every queue used without such a check.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tools.capture import Capture
from tools.devops_index import Definition, DevOpsIndex, build_index

_MACRO = re.compile(r"\$\((\w+)\)")
# The inputs through which a built-in task names a service connection, with their aliases, from each task's
# task.json in microsoft/azure-pipelines-tasks (inputs of type `connectedService:*`).
CONNECTION_INPUTS: dict[str, tuple[str, ...]] = {
    "AzureCLI@2": ("connectedServiceNameARM", "azureSubscription"),
    "AzureKeyVault@2": ("ConnectedServiceName", "azureSubscription"),
    "Docker@2": ("containerRegistry",),
    "KubernetesManifest@1": (
        "azureSubscriptionEndpoint",
        "azureSubscriptionConnection",
        "kubernetesServiceEndpoint",
        "kubernetesServiceConnection",
        "dockerRegistryEndpoint",
    ),
}
# Tasks known to take no service connection; a task in neither table is reported so the tables stay complete.
CONNECTIONLESS_TASKS = frozenset(
    {
        "Bash@3",
        "Cache@2",
        "CmdLine@2",
        "DownloadPipelineArtifact@2",
        "ManualValidation@1",
        "MicrosoftSecurityDevOps@1",
        "PublishPipelineArtifact@1",
        "PublishTestResults@2",
        "UsePythonVersion@0",
    }
)
# Marketplace tasks and the extension (publisher, extension) that provides each.
EXTENSION_TASKS: dict[str, tuple[str, str]] = {
    "MicrosoftSecurityDevOps@1": ("ms-securitydevops", "microsoft-security-devops-azdevops"),
}
_PARAMETER = re.compile(r"\$\{\{\s*parameters\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_LIST_SECTIONS = ("stages", "jobs", "steps", "variables")


def builtin_tasks(schema_path: Path) -> frozenset[str]:
    """The tasks every organisation has: Microsoft's published Azure Pipelines schema enumerates them (the one
    check-jsonschema vendors as `vendor.azure-pipelines`), and no marketplace task."""
    document = json.loads(schema_path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def names(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            yield from (value for value in node.get("enum", []) if isinstance(value, str) and "@" in value)
            for value in node.values():
                yield from names(value)
        elif isinstance(node, list):
            for value in node:
                yield from names(value)

    def visit(node: Any) -> None:
        # The step schema's `task` property is an anyOf of one-value enums, one per task version.
        if isinstance(node, dict):
            if isinstance(node.get("task"), dict):
                found.update(names(node["task"]))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(document)
    return frozenset(found)


@dataclass(frozen=True)
class Finding:
    file: str
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '(document)'}: {self.problem}"


@dataclass
class _Run:
    """What one definition's YAML uses, gathered while its templates are expanded."""

    definition: Definition
    label: str
    findings: list[Finding] = field(default_factory=list)
    used: set[tuple[str, str]] = field(default_factory=set)  # (type, resource id)
    pipeline_aliases: set[str] = field(default_factory=set)
    # Pools named by a macro, `$(variable)`: resolved at queue time from the variable groups the pipeline links.
    macro_pools: list[tuple[str, str, str]] = field(default_factory=list)  # (variable, file, path)
    repository_aliases: dict[str, str] = field(default_factory=dict)  # alias -> repository id
    repository_refs: dict[str, tuple[str, str]] = field(default_factory=dict)  # alias -> ("project/name", ref)
    checked_out: set[tuple[str, str]] = field(default_factory=set)  # (repository id, ref) the run resolves
    # The template the entry extends, as a required-template check names one: ("project/name", ref, path).
    extends: tuple[str, str, str] | None = None


def _substitute(node: Any, parameters: Mapping[str, Any]) -> Any:
    if isinstance(node, str):
        whole = _PARAMETER.fullmatch(node.strip())
        if whole and whole[1] in parameters:
            return parameters[whole[1]]
        return _PARAMETER.sub(lambda m: str(parameters.get(m[1], m[0])), node)
    if isinstance(node, dict):
        return {key: _substitute(value, parameters) for key, value in node.items()}
    if isinstance(node, list):
        return [_substitute(value, parameters) for value in node]
    return node


def _defaults(document: dict[str, Any]) -> dict[str, Any]:
    return {p["name"]: p["default"] for p in document.get("parameters") or [] if isinstance(p, dict) and "default" in p}


def expand(files: Mapping[str, str], path: str) -> Any:
    """The pipeline at `path` as Azure Pipelines compiles it from `files`: an `extends:` replaced by the template it
    names (with the entry's parameters; `@alias` templates are looked up in `files` too, so pass the templates
    repository's files merged in) and every template include replaced by the template's steps, jobs or stages with
    its parameters substituted (for reading what runs)."""

    def load(file: str, parameters: Mapping[str, Any]) -> Any:
        document = yaml.safe_load(files[file])
        return _substitute(
            {k: v for k, v in document.items() if k != "parameters"}, {**_defaults(document), **parameters}
        )

    def inline(node: Any, file: str) -> Any:
        if isinstance(node, dict):
            return {key: inline(value, file) for key, value in node.items()}
        if not isinstance(node, list):
            return node
        items: list[Any] = []
        for item in node:
            if isinstance(item, dict) and "template" in item and "@" not in str(item["template"]):
                included = posixpath.normpath(posixpath.join(posixpath.dirname(file), item["template"]))
                body = inline(load(included, item.get("parameters") or {}), included)
                items.extend(next(body[key] for key in _LIST_SECTIONS if key in body))
            else:
                items.append(inline(item, file))
        return items

    document = load(path, {})
    extends = document.pop("extends", None)
    if isinstance(extends, dict):
        template = str(extends["template"]).partition("@")[0].lstrip("/")
        document = {**document, **load(template, extends.get("parameters") or {})}
        path = template
    return inline(document, path)


class _Walker:
    def __init__(self, estate: DevOpsIndex, builtin: frozenset[str], run: _Run) -> None:
        self.estate, self.builtin, self.run = estate, builtin, run
        self.project = run.definition.project_id

    def report(self, file: str, path: str, problem: str) -> None:
        self.run.findings.append(Finding(file, path, f"{problem} (in pipeline {self.run.definition.name!r})"))

    def resolve(self, kind: str, name: str, file: str, path: str, what: str) -> str | None:
        found = self.estate.named.get((kind, self.project, name))
        if found is None:
            self.report(file, path, f"{what} {name!r} does not exist in the definition's project")
        return found

    def load(self, repository_id: str, path: str, file: str, at: str) -> Any:
        content = self.estate.files.get(repository_id, {}).get(path)
        if content is None:
            self.report(file, at, f"template {path!r} is not in repository {self._repo_name(repository_id)!r}")
            return None
        return yaml.safe_load(content)

    def _repo_name(self, repository_id: str) -> str:
        return self.estate.repositories.get(repository_id, ("", repository_id))[1]

    def entry(self) -> None:
        definition = self.run.definition
        document = self.load(definition.repository_id, definition.yml_path, self.run.label, "")
        if isinstance(document, dict):
            # Runtime parameters are template expressions too; a run queued without overrides takes the defaults.
            document = _substitute(document, _defaults(document))
            self.resources(document.get("resources") or {}, self.run.label)
            self.visit(document, definition.repository_id, definition.yml_path, "")

    def resources(self, resources: dict[str, Any], file: str) -> None:
        for index, pipeline in enumerate(resources.get("pipelines") or []):
            path = f"resources.pipelines[{index}]"
            self.run.pipeline_aliases.add(pipeline["pipeline"])
            sources = [d for d in self.estate.definitions if d.project_id == self.project]
            if "project" in pipeline or pipeline.get("source") not in {d.name for d in sources}:
                self.report(file, f"{path}.source", f"pipeline resource {pipeline.get('source')!r} is no definition")
        for index, repository in enumerate(resources.get("repositories") or []):
            path = f"resources.repositories[{index}]"
            project, _, name = str(repository.get("name", "")).rpartition("/")
            matches = [
                rid
                for rid, (owner, rname) in self.estate.repositories.items()
                if owner == self.project and rname == name
            ]
            # Azure Repos resolves "project/repository"; a bare name means the pipeline's own project.
            if project and project != self.estate.projects.get(self.project):
                matches = []
            if repository.get("type") != "git" or not matches:
                self.report(file, f"{path}.name", f"repository resource {repository.get('name')!r} does not resolve")
                continue
            alias = repository["repository"]
            self.run.repository_aliases[alias] = matches[0]
            self.run.checked_out.add((matches[0], str(repository.get("ref", ""))))
            self.run.repository_refs[alias] = (
                f"{self.estate.projects.get(self.project, '')}/{name}",
                str(repository.get("ref", "")),
            )
            self.run.used.add(("repository", matches[0]))

    def include(self, item: dict[str, Any], repository_id: str, file: str, path: str) -> None:
        reference, _, alias = str(item["template"]).partition("@")
        if alias and alias != "self":
            target = self.run.repository_aliases.get(alias)
            if target is None:
                self.report(file, f"{path}.template", f"template repository alias {alias!r} is not a resource")
                return
            template_path = reference.lstrip("/")
        else:
            target = repository_id
            template_path = posixpath.normpath(posixpath.join(posixpath.dirname(file), reference))
        document = self.load(target, template_path, file, f"{path}.template")
        if not isinstance(document, dict):
            return
        parameters = {**_defaults(document), **(item.get("parameters") or {})}
        body = _substitute({k: v for k, v in document.items() if k != "parameters"}, parameters)
        self.visit(body, target, template_path, "")

    def visit(self, node: Any, repository_id: str, file: str, path: str) -> None:
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, dict) and "template" in item:
                    self.include(item, repository_id, file, f"{path}[{index}]")
                else:
                    self.visit(item, repository_id, file, f"{path}[{index}]")
            return
        if not isinstance(node, dict):
            return
        if isinstance(node.get("extends"), dict):
            reference, _, alias = str(node["extends"].get("template", "")).partition("@")
            if alias in self.run.repository_refs:
                self.run.extends = (*self.run.repository_refs[alias], reference.lstrip("/"))
            self.include(node["extends"], repository_id, file, f"{path}.extends")
        self.inspect(node, file, path)
        for key, value in node.items():
            if key not in ("resources", "extends", "parameters"):
                self.visit(value, repository_id, file, f"{path}.{key}" if path else key)

    def inspect(self, node: dict[str, Any], file: str, path: str) -> None:
        at = f"{path}." if path else ""
        if "pool" in node:
            self.pool(node["pool"], file, f"{at}pool")
        if "deployment" in node and "environment" in node:
            self.environment(node["environment"], file, f"{at}environment")
        if "group" in node and path.rsplit(".", maxsplit=1)[-1].startswith("variables"):
            found = self.resolve("variablegroup", str(node["group"]), file, f"{at}group", "variable group")
            if found:
                self.run.used.add(("variablegroup", found))
        if "task" in node:
            self.task(node, file, path)
        for key, allowed in (("checkout", {"self", "none"}), ("download", {"current", "none"})):
            value = node.get(key)
            aliases = self.run.pipeline_aliases if key == "download" else set(self.run.repository_aliases)
            if isinstance(value, str) and value not in allowed | aliases:
                self.report(file, f"{at}{key}", f"{key} names {value!r}, which is no resource of this pipeline")

    def pool(self, pool: Any, file: str, path: str) -> None:
        name = pool if isinstance(pool, str) else pool.get("name") if isinstance(pool, dict) else None
        # `server` is the agentless pool; `vmImage` alone is Microsoft-hosted, whose queue every project has.
        at = f"{path}.name" if isinstance(pool, dict) else path
        macro = _MACRO.fullmatch(str(name or ""))
        if macro:
            self.run.macro_pools.append((macro[1], file, at))
        elif name and name != "server":
            found = self.resolve("queue", str(name), file, at, "pool")
            if found:
                self.run.used.add(("queue", found))

    def macro_pools(self) -> None:
        """Each `$(variable)` pool name as a queued run resolves it, from the variable groups the pipeline links."""
        linked = [self.estate.group_variables.get(rid, {}) for kind, rid in self.run.used if kind == "variablegroup"]
        for variable, file, path in self.run.macro_pools:
            values = {group[variable] for group in linked if variable in group}
            if len(values) != 1:
                self.report(file, path, f"pool variable $({variable}) is set by {len(values)} linked variable groups")
                continue
            found = self.resolve("queue", values.pop(), file, path, "pool")
            if found:
                self.run.used.add(("queue", found))

    def environment(self, value: Any, file: str, path: str) -> None:
        if isinstance(value, dict):
            name, resource = str(value.get("name", "")), value.get("resourceName")
        else:
            name, _, resource = str(value).partition(".")
        environment = self.resolve("environment", name, file, path, "environment")
        if environment is None:
            return
        self.run.used.add(("environment", environment))
        if resource:
            endpoint = self.estate.environment_resources.get((environment, str(resource)))
            if endpoint is None:
                self.report(file, path, f"environment {name!r} has no resource {resource!r}")
            else:
                # A deployment to a Kubernetes resource runs with that resource's service connection.
                self.run.used.add(("endpoint", endpoint))

    def task(self, node: dict[str, Any], file: str, path: str) -> None:
        task = str(node["task"])
        at = f"{path}.task" if path else "task"
        if task not in self.builtin:
            extension = EXTENSION_TASKS.get(task)
            if extension is None or extension not in self.estate.extensions:
                self.report(file, at, f"marketplace task {task!r}: the stack neither installs nor adopts its extension")
        if task not in CONNECTION_INPUTS and task not in CONNECTIONLESS_TASKS:
            self.report(file, at, f"task {task!r} is unknown to the link check: add its connection inputs")
            return
        inputs = node.get("inputs") or {}
        for key in CONNECTION_INPUTS.get(task, ()):
            if key in inputs:
                found = self.resolve("endpoint", str(inputs[key]), file, f"{path}.inputs.{key}", "service connection")
                if found:
                    self.run.used.add(("endpoint", found))


def runs(estate: DevOpsIndex, builtin: frozenset[str]) -> Iterator[_Run]:
    for definition in sorted(estate.definitions, key=lambda d: d.name):
        repository = estate.repositories.get(definition.repository_id, ("", "?"))[1]
        run = _Run(definition, f"{repository}:{definition.yml_path}")
        walker = _Walker(estate, builtin, run)
        walker.entry()
        walker.macro_pools()
        yield run


def _branch_control(estate: DevOpsIndex, run: _Run, names: Mapping[str, str]) -> Iterator[Finding]:
    """A branch control check validates the branch of every repository a run uses (the pipeline's own and each
    repository resource's ref) against its allowed list, and with verifyBranchProtection that each is protected by a
    branch policy (learn.microsoft.com/azure/devops/pipelines/process/approvals, "Branch control")."""
    refs = {(run.definition.repository_id, run.definition.branch), *run.checked_out}
    for _, rid in sorted(run.used):
        # On an environment or a service connection alike: the check runs for every stage that uses the resource.
        control = estate.branch_controls.get(rid)
        if control is None:
            continue
        allowed, verify = control
        for repository_id, ref in sorted(refs):
            repository = names.get(repository_id, repository_id)
            if ref not in allowed:
                problem = f"runs {repository} at {ref}, which the branch control of {names.get(rid, rid)} refuses"
                yield Finding(run.label, "", f"pipeline {run.definition.name!r} {problem} (allowed: {sorted(allowed)})")
            elif verify and (repository_id, ref) not in estate.protected:
                problem = f"runs {repository} at {ref}, which no branch policy protects"
                yield Finding(
                    run.label,
                    "",
                    f"pipeline {run.definition.name!r} {problem}: the branch control of {names.get(rid, rid)} "
                    "verifies protection and fails",
                )


def check(
    capture: Capture, builtin: frozenset[str], extra_files: Mapping[str, Mapping[str, str]] | None = None
) -> list[Finding]:
    """Every link problem of the inventory's pipelines. `extra_files` supplies, by repository name, the files of
    repositories whose content the stack does not commit (e.g. the IaC repository, pushed from this checkout)."""
    estate = build_index(capture, extra_files or {})
    names = {rid: f"{kind} {name!r}" for (kind, _, name), rid in estate.named.items()}
    names |= {rid: f"repository {name!r}" for rid, (_, name) in estate.repositories.items()}
    findings: list[Finding] = []
    # An authorization without a pipeline opens the resource to every pipeline of the project.
    open_to_all = {(kind, rid) for pid, kind, rid in estate.authorized if not pid}
    for run in runs(estate, builtin):
        findings.extend(run.findings)
        granted = {(kind, rid) for pid, kind, rid in estate.authorized if pid == run.definition.id}
        pipeline = repr(run.definition.name)
        for kind, rid in sorted(run.used - granted - open_to_all):
            what = names.get(rid, f"{kind} {rid}")
            findings.append(Finding(run.label, "", f"pipeline {pipeline} uses {what} but is not authorized for it"))
        for kind, rid in sorted(granted - run.used):
            what = names.get(rid, f"{kind} {rid}")
            findings.append(Finding(run.label, "", f"pipeline {pipeline} is authorized for {what} that it never uses"))
        findings.extend(_branch_control(estate, run, names))
        for kind, rid in sorted(run.used):
            admitted = estate.required_templates.get((kind, rid))
            if admitted is None and kind == "queue":
                # Every definition's YAML lives in a repository its project's members change: a service repository
                # directly, any repository through a pull request, whose build validation runs the pull request's
                # own YAML. The queue's authorization admits the definition whatever its YAML says; only a check on
                # the queue holds what runs on the pool to the reviewed templates (azure-devops-docs
                # docs/pipelines/security/templates.md, "Configure a template check on your agent pool").
                findings.append(
                    Finding(
                        run.label,
                        "",
                        f"pipeline {pipeline} uses {names.get(rid, f'queue {rid}')}, which carries no "
                        "required-template check: whoever edits the pipeline's YAML runs any step on that pool",
                    )
                )
            if admitted is not None and run.extends not in admitted:
                what = names.get(rid, f"{kind} {rid}")
                extends = (
                    "extends no template"
                    if run.extends is None
                    else f"extends {run.extends[2]} of {run.extends[0]} at {run.extends[1]}"
                )
                findings.append(
                    Finding(
                        run.label,
                        "extends",
                        f"pipeline {pipeline} uses {what}, whose required-template check admits only "
                        f"{sorted(path for _, _, path in admitted)} at {sorted({ref for _, ref, _ in admitted})}, "
                        f"but it {extends}",
                    )
                )
    return findings
