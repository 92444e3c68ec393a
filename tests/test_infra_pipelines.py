"""The IaC repository's own pipelines: schema-valid, checkov-clean, every name they use one of the IaC contract's,
each stack reached only through its own identity, state container and secrets key, prod previews of pull requests
behind an approval, the prod diff of the merged commit shown before the prod approval, and drift on a schedule."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import validators
from tools import pipeline_links
from tools.capture import ROOT, Capture

INFRA = ROOT / "pipelines" / "infra"
ENTRY_FILES = ("pr.azure-pipelines.yml", "deploy.azure-pipelines.yml", "drift.azure-pipelines.yml")

# The IaC contract (shared with bootstrap/, which creates these objects): the only names the pipelines may use.
CONTRACT: dict[str, frozenset[str]] = {
    "service connection": frozenset(
        f"aks-estate-iac-{role}-{stack}" for role in ("preview", "deploy") for stack in ("dev", "prod")
    ),
    "environment": frozenset({"aks-estate-iac-dev", "aks-estate-iac-prod", "aks-estate-iac-prod-preview"}),
    "variable group": frozenset({"aks-estate-iac"}),
    # The prod estate's Managed DevOps Pool, by the variable group's name for it (bootstrap/names.py).
    "pool": frozenset({"$(agentPool)"}),
}


def _files() -> dict[str, str]:
    return {str(path.relative_to(INFRA)): path.read_text() for path in sorted(INFRA.rglob("*.yml"))}


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{path}[{index}]")


def used_names(files: Mapping[str, str], entry: str) -> list[tuple[str, str, str]]:
    """(kind, name, YAML path) of every connection, environment, variable group and pool the compiled pipeline uses,
    and of every task the link checker cannot read connections from."""
    found: list[tuple[str, str, str]] = []
    for path, node in _walk(pipeline_links.expand(files, entry)):
        if "pool" in node:
            pool = node["pool"]
            found.append(("pool", f"vmImage:{pool['vmImage']}" if "vmImage" in pool else str(pool.get("name")), path))
        if "deployment" in node:
            found.append(("environment", str(node.get("environment")), path))
        if "group" in node and path.rsplit(".", 1)[-1].startswith("variables"):
            found.append(("variable group", str(node["group"]), path))
        if "task" in node:
            task = str(node["task"])
            if task not in pipeline_links.CONNECTION_INPUTS and task not in pipeline_links.CONNECTIONLESS_TASKS:
                found.append(("unknown task", task, path))
            for key in pipeline_links.CONNECTION_INPUTS.get(task, ()):
                if key in (node.get("inputs") or {}):
                    found.append(("service connection", str(node["inputs"][key]), path))
    return found


def contract_violations(files: Mapping[str, str]) -> list[str]:
    problems = []
    for entry in ENTRY_FILES:
        for kind, name, path in used_names(files, entry):
            if name not in CONTRACT.get(kind, frozenset()):
                problems.append(f"{entry}: {path}: {kind} {name!r} is not in the IaC contract")
    return problems


def pulumi_runs(files: Mapping[str, str], entry: str) -> list[dict[str, Any]]:
    """Each Pulumi command of the compiled pipeline: command, stack, connection, and the job's environment."""
    runs = []
    expanded = pipeline_links.expand(files, entry)
    stages = expanded.get("stages") or [{"stage": "", "jobs": expanded["jobs"]}]
    for stage in stages:
        for job in stage["jobs"]:
            steps = job["strategy"]["runOnce"]["deploy"]["steps"] if "deployment" in job else job["steps"]
            for step in steps:
                if step.get("task") == "AzureCLI@2":
                    runs.append(
                        {
                            "stage": stage["stage"],
                            "command": step["env"]["COMMAND"],
                            "stack": step["env"]["STACK"],
                            "connection": step["inputs"]["azureSubscription"],
                            "environment": job.get("environment"),
                        }
                    )
    return runs


def checkov_trees(_: Capture) -> dict[str, validators.CheckovTree]:
    """What checkov reads for this module (tests/conftest.py `checkov`)."""
    return {"infra": validators.pipelines_tree(_files())}


@pytest.mark.validators
def test_schema_valid_and_checkov_clean(checkov: dict[str, dict[str, validators.ValidatorResult]]) -> None:
    validators.check_jsonschema_azure_pipelines(_files())
    validators.clean(checkov["test_infra_pipelines"]["infra"])


def test_every_name_used_is_one_of_the_contracts() -> None:
    files = _files()
    assert contract_violations(files) == []
    # The check must have read the names through the templates, or it proves nothing.
    used = {(kind, name) for entry in ENTRY_FILES for kind, name, _ in used_names(files, entry)}
    assert {name for kind, name in used if kind == "service connection"} == CONTRACT["service connection"]
    assert {name for kind, name in used if kind == "environment"} == CONTRACT["environment"]


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "pr.azure-pipelines.yml",
            "serviceConnection: aks-estate-iac-preview-dev",
            "serviceConnection: aks-estate-iac-preview",
            "service connection",
        ),
        ("deploy.azure-pipelines.yml", "environment: aks-estate-iac-prod\n", "environment: prod\n", "environment"),
        ("drift.azure-pipelines.yml", "group: aks-estate-iac", "group: aks-estate-iac-secrets", "variable group"),
        ("pr.azure-pipelines.yml", "name: $(agentPool)", "vmImage: ubuntu-latest", "pool"),
        ("deploy.azure-pipelines.yml", "name: $(agentPool)", "name: aks-estate-agents", "pool"),
        ("templates/pulumi-cli.yml", "task: Cache@2", "task: KubeloginInstaller@0", "unknown task"),
    ],
)
def test_a_name_outside_the_contract_is_reported(file: str, old: str, new: str, expected: str) -> None:
    files = _files()
    assert old in files[file]
    broken = {**files, file: files[file].replace(old, new, 1)}
    assert any(f": {expected} " in problem for problem in contract_violations(broken))


def test_each_command_runs_as_its_stacks_identity() -> None:
    files = _files()
    for entry in ENTRY_FILES:
        for run in pulumi_runs(files, entry):
            role = "preview" if run["command"] == "preview" else "deploy"
            assert run["connection"] == f"aks-estate-iac-{role}-{run['stack']}", (entry, run)


def test_pull_requests_verify_then_preview_dev_and_prod_only_after_a_reviewer_allows_it() -> None:
    pipeline = yaml.safe_load((INFRA / "pr.azure-pipelines.yml").read_text())
    assert pipeline["trigger"] == "none"
    assert [stage["stage"] for stage in pipeline["stages"]] == ["Verify", "PreviewDev", "PreviewProd"]
    assert pipeline["stages"][0]["jobs"][0]["steps"] == [{"template": "templates/verify.yml"}]
    runs = pulumi_runs(_files(), "pr.azure-pipelines.yml")
    assert {(run["command"], run["stack"]) for run in runs} == {("preview", "dev"), ("preview", "prod")}
    for run in runs:
        if run["stack"] == "prod":
            assert run["environment"] == "aks-estate-iac-prod-preview", run


def test_merges_deploy_dev_preview_prod_for_the_commit_then_apply_it_after_the_approval() -> None:
    pipeline = yaml.safe_load((INFRA / "deploy.azure-pipelines.yml").read_text())
    assert pipeline["trigger"]["branches"]["include"] == ["main"]
    assert pipeline["trigger"]["batch"] == "false"
    assert pipeline["pr"] == "none"
    stages = {stage["stage"]: stage for stage in pipeline["stages"]}
    assert list(stages) == ["Verify", "Dev", "PreviewProd", "Prod"]
    assert [stages[name]["dependsOn"] for name in ("Dev", "PreviewProd", "Prod")] == ["Verify", "Dev", "PreviewProd"]
    assert stages["Dev"]["lockBehavior"] == "sequential"
    assert stages["Prod"]["lockBehavior"] == "runLatest"
    runs = [
        (r["stage"], r["command"], r["stack"], r["environment"])
        for r in pulumi_runs(_files(), "deploy.azure-pipelines.yml")
    ]
    assert runs == [
        ("Dev", "up", "dev", "aks-estate-iac-dev"),
        ("PreviewProd", "preview", "prod", None),
        ("Prod", "up", "prod", "aks-estate-iac-prod"),
    ]


def test_drift_runs_on_a_schedule_from_main_for_each_stack_as_its_deployer() -> None:
    pipeline = yaml.safe_load((INFRA / "drift.azure-pipelines.yml").read_text())
    assert pipeline["trigger"] == "none"
    assert pipeline["pr"] == "none"
    (schedule,) = pipeline["schedules"]
    assert schedule["branches"] == {"include": ["main"]}
    assert schedule["always"] == "true"
    runs = {(r["command"], r["stack"], r["connection"]) for r in pulumi_runs(_files(), "drift.azure-pipelines.yml")}
    assert runs == {("drift", "dev", "aks-estate-iac-deploy-dev"), ("drift", "prod", "aks-estate-iac-deploy-prod")}


def test_no_passphrase_no_personal_access_token_no_anonymous_github_api() -> None:
    for name, text in _files().items():
        for forbidden in ("PASSPHRASE", "pulumiConfigPassphrase", "pulumiBackendUrl", "task: KubeloginInstaller"):
            assert forbidden not in text, (name, forbidden)
        for credential in ("ARM_CLIENT_SECRET", "ARM_OIDC_TOKEN", "AZDO_PERSONAL_ACCESS_TOKEN:", "AccessToken:"):
            assert credential not in text, (name, credential)


def test_the_azure_devops_provider_uses_the_pipelines_azure_cli_session() -> None:
    (step,) = [
        s
        for s in yaml.safe_load((INFRA / "templates" / "pulumi.yml").read_text())["steps"]
        if s.get("task") == "AzureCLI@2"
    ]
    # The federated token lives ten minutes; the task renews the CLI session that every provider signs in with.
    assert step["inputs"]["keepAzSessionActive"] is True
    # terraform-provider-azuredevops azuredevops/provider.go: use_cli <- ARM_USE_CLI, use_oidc <- ARM_USE_OIDC.
    assert step["env"]["ARM_USE_CLI"] == "true"
    assert step["env"]["ARM_USE_OIDC"] == "false"
    assert "unset AZDO_PERSONAL_ACCESS_TOKEN" in step["inputs"]["inlineScript"]


def _commands(script: str) -> dict[str, str]:
    return dict(re.findall(r"^\s*(\w+)\) command=\((.*)\) ;;$", script, re.MULTILINE))


def refreshing_preview_errors(script: str) -> list[str]:
    """The `preview)` arm, with the flags every command shares, must not refresh: a refresh reads every resource back
    from its provider, the internal ingress controller (a custom resource) from the API server, and the preview
    identities hold no Kubernetes data role; even Azure Kubernetes Service RBAC Reader's dataActions name no custom
    resource (learn.microsoft.com/azure/role-based-access-control/built-in-roles/containers)."""
    (common,) = re.findall(r"^\s*common=\(([^)]*)\)", script, re.MULTILINE)
    flags = [*_commands(script)["preview"].split(), *common.split()]
    if any(flag == "-r" or (flag.startswith("--refresh") and flag != "--refresh=false") for flag in flags):
        return [
            "the preview command refreshes: a refreshing preview would need a custom-resource read role in every "
            "cluster for the preview identities, which hold no Kubernetes data role (bootstrap/program.py)"
        ]
    return []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("preview) command=(pulumi preview ", "preview) command=(pulumi preview --refresh "),
        ('common=(--stack "$STACK" ', 'common=(--stack "$STACK" -r '),
    ],
)
def test_a_refreshing_preview_is_reported(old: str, new: str) -> None:
    script = _script()
    assert old in script
    (error,) = refreshing_preview_errors(script.replace(old, new, 1))
    assert "a refreshing preview would need a custom-resource read role" in error


def test_previews_never_refresh_and_drift_refreshes_and_expects_no_changes() -> None:
    script = _script()
    commands = _commands(script)
    assert set(commands) == {"preview", "up", "drift"}
    assert refreshing_preview_errors(script) == []
    assert commands["drift"].startswith("pulumi preview --refresh --expect-no-changes")
    assert all('"${common[@]}"' in command for command in commands.values())
    assert 'common=(--stack "$STACK" --policy-pack policy' in script


def permalink_errors(script: str) -> list[str]:
    """pulumi's `--suppress-permalink` is a string flag whose value without `=` is "false" (NoOptDefVal), which turns
    the permalink back on for a diy backend (pulumi/pulumi pkg/cmd/pulumi up.go and preview.go): the flag must be
    given as `=true`, once, in the flags every command shares."""
    (common,) = re.findall(r"^\s*common=\(([^)]*)\)", script, re.MULTILINE)
    flags = common.split()
    errors = [
        f"bare or false flag: {flag}"
        for flag in flags
        if flag in ("--suppress-permalink", "--suppress-permalink=false")
    ]
    if "--suppress-permalink=true" not in flags:
        errors.append("the shared flags lack --suppress-permalink=true")
    return errors


def test_no_command_asks_for_a_state_permalink() -> None:
    assert permalink_errors(_script()) == []


def test_a_bare_suppress_permalink_flag_is_reported() -> None:
    planted = _script().replace("--suppress-permalink=true", "--suppress-permalink")
    assert permalink_errors(planted) == [
        "bare or false flag: --suppress-permalink",
        "the shared flags lack --suppress-permalink=true",
    ]


def test_the_cli_is_checked_against_the_releases_checksums_and_plugins_are_cached() -> None:
    steps = yaml.safe_load((INFRA / "templates" / "pulumi-cli.yml").read_text())["steps"]
    (cache,) = [step for step in steps if step.get("task") == "Cache@2"]
    assert "requirements*.txt" in cache["inputs"]["key"]
    assert cache["inputs"]["path"] == "$(Pipeline.Workspace)/.pulumi/plugins"
    assert any("variable=PULUMI_HOME]$(Pipeline.Workspace)/.pulumi" in step.get("bash", "") for step in steps)
    install = steps[-1]["bash"]
    assert 'sums="pulumi-${version}-checksums.txt"' in install
    assert install.index("sha256sum --check --ignore-missing") < install.index("tar -xzf")
    kubelogin = (INFRA / "templates" / "kubelogin.yml").read_text()
    assert "sha256sum --check --strict" in kubelogin


# --- the Pulumi step's script, run in bash with a fake CLI: URLs, guards, and the summary on failure ---------------


def _script() -> str:
    steps = yaml.safe_load((INFRA / "templates" / "pulumi.yml").read_text())["steps"]
    (step,) = [s for s in steps if s.get("task") == "AzureCLI@2"]
    return str(step["inputs"]["inlineScript"])


FAKE_PULUMI = """#!/usr/bin/env bash
echo "$*" >> "$CALLS"
case "$1" in
  config) exit "${PAT_SET:-1}" ;;
  preview|up) echo "the diff"; exit "${FAKE_STATUS:-0}" ;;
esac
"""


def run_step(
    tmp_path: Path, script: str, command: str, stack: str = "dev", **env: str
) -> subprocess.CompletedProcess[str]:
    bin_dir, staging = tmp_path / "bin", tmp_path / "staging"
    for directory in (bin_dir, staging, tmp_path / "policy"):
        directory.mkdir(exist_ok=True)
    for name, body in (("pulumi", FAKE_PULUMI), ("git", "#!/usr/bin/env bash\necho abc123\n")):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(stat.S_IRWXU)
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(env.pop("stack_file", "config: {}\n"))
    script = script.replace("$(Build.ArtifactStagingDirectory)", str(staging)).replace(
        "$(Build.SourceVersion)", "abc123"
    )
    environment = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(tmp_path / "calls"),
        "COMMAND": command,
        "STACK": stack,
        "PULUMI_STATE_ACCOUNT": "stiacstate",
        "PULUMI_KEY_VAULT": "kv-iac",
        "AZDO_PERSONAL_ACCESS_TOKEN": "must-be-dropped",
        **env,
    }
    return subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True, check=False
    )


def test_each_stack_logs_in_to_its_own_container_and_creates_with_its_own_key(tmp_path: Path) -> None:
    result = run_step(tmp_path, _script(), "up", "prod")
    assert result.returncode == 0, result.stdout + result.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0] == "login azblob://state-prod?storage_account=stiacstate"
    assert (
        calls[1]
        == "stack select --stack prod --create --secrets-provider azurekeyvault://kv-iac.vault.azure.net/keys/pulumi-prod"
    )
    assert calls[-1].startswith("up --yes --stack prod --policy-pack policy")
    assert calls.index("install") < len(calls) - 1


def test_the_summary_is_published_when_the_command_fails_and_the_step_fails_with_its_code(tmp_path: Path) -> None:
    result = run_step(tmp_path, _script(), "drift", FAKE_STATUS="3")
    assert result.returncode == 3
    assert f"##vso[task.uploadsummary]{tmp_path}/staging/pulumi-drift-dev.md" in result.stdout
    assert "drift (or a failed refresh) in stack dev" in result.stdout
    report = (tmp_path / "staging" / "pulumi-drift-dev.md").read_text()
    assert "exit 3" in report
    assert "the diff" in report
    # Planted mistake: without capturing the exit code, `set -e` stops before the upload (issue 16, item 10).
    broken = _script().replace("set +e\n", "")
    (tmp_path / "broken").mkdir()
    failed = run_step(tmp_path / "broken", broken, "drift", FAKE_STATUS="3")
    assert failed.returncode != 0
    assert "task.uploadsummary" not in failed.stdout


def test_a_personal_access_token_in_the_stack_config_or_another_key_stops_the_run(tmp_path: Path) -> None:
    assert run_step(tmp_path, _script(), "preview", PAT_SET="0").returncode != 0
    other = "secretsprovider: azurekeyvault://kv-iac.vault.azure.net/keys/pulumi-prod\n"
    result = run_step(tmp_path, _script(), "preview", "dev", stack_file=other)
    assert result.returncode != 0
    assert "names secrets provider" in result.stdout
    # The environment's token never reaches pulumi: the fake CLI would otherwise see it.
    ok = run_step(
        tmp_path,
        _script().replace("pulumi login", 'test -z "${AZDO_PERSONAL_ACCESS_TOKEN:-}"; pulumi login'),
        "preview",
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_ci_runs_what_the_readme_and_ci_script_run() -> None:
    commands = [
        step.get("script", "") for step in yaml.safe_load((INFRA / "templates" / "verify.yml").read_text())["steps"]
    ]
    ci_script = (ROOT / ".ci" / "run").read_text()
    assert ".venv/bin/mypy" in commands
    assert ".venv/bin/mypy" in ci_script
    assert any(command.startswith(".venv/bin/python -m pytest") for command in commands)


def _offline_diff_step(files: Mapping[str, str]) -> dict[str, Any] | None:
    expanded = pipeline_links.expand(files, "pr.azure-pipelines.yml")
    return next(
        (step for _, step in _walk(expanded) if "--previous" in str(step.get("bash", ""))),
        None,
    )


def test_pull_requests_publish_the_offline_diff_beside_the_previews() -> None:
    files = _files()
    step = _offline_diff_step(files)
    assert step is not None
    script = step["bash"]
    # The target branch's inventory is the previous one; each stack's diff reaches the run's summary page.
    assert 'git worktree add --detach "$base" FETCH_HEAD' in script
    assert '--previous "$report/$stack-before"' in script
    assert "##vso[task.uploadsummary]$report/$stack/summary.md" in script
    # Planted: the pull request's pipeline without the job has no such step.
    entry = files["pr.azure-pipelines.yml"]
    without = {
        **files,
        "pr.azure-pipelines.yml": entry.replace("- template: templates/offline-diff.yml", "- script: echo"),
    }
    assert _offline_diff_step(without) is None


FAKE_GIT = '#!/bin/bash\nif [ "$1" = worktree ]; then mkdir -p "$4"; fi\n'
# The preview as the step sees it: this branch's run (with --previous) exits with the stack's FAKE_<STACK> status.
FAKE_PREVIEW = """#!/bin/bash
out=""; stack=""; previous=0
while [ $# -gt 0 ]; do
  case "$1" in --out) out="$2"; shift;; --stack) stack="$2"; shift;; --previous) previous=1; shift;; esac; shift
done
mkdir -p "$out" && echo "# $stack" > "$out/summary.md"
status_variable="FAKE_${stack^^}"
if [ "$previous" = 1 ]; then exit "${!status_variable:-0}"; fi
"""


def run_offline_diff(tmp_path: Path, script: str, **statuses: str) -> subprocess.CompletedProcess[str]:
    bin_dir, sources = tmp_path / "bin", tmp_path / "src"
    for path, body in ((bin_dir / "git", FAKE_GIT), (sources / ".venv" / "bin" / "python", FAKE_PREVIEW)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
        path.chmod(stat.S_IRWXU)
    for macro, value in {
        "$(System.PullRequest.TargetBranch)": "refs/heads/main",
        "$(Agent.TempDirectory)": str(tmp_path / "agent"),
        "$(Build.ArtifactStagingDirectory)": str(tmp_path / "staging"),
        "$(Build.SourcesDirectory)": str(sources),
    }.items():
        script = script.replace(macro, value)
    environment = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "SYSTEM_ACCESSTOKEN": "x", **statuses}
    return subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=environment, capture_output=True, text=True, check=False
    )


def test_a_failing_stack_preview_still_publishes_both_summaries_and_fails_the_step(tmp_path: Path) -> None:
    step = _offline_diff_step(_files())
    assert step is not None
    result = run_offline_diff(tmp_path, step["bash"], FAKE_DEV="3")
    assert result.returncode == 3, result.stdout + result.stderr
    uploads = [line for line in result.stdout.splitlines() if "task.uploadsummary" in line]
    assert [upload.rsplit("/", 2)[-2] for upload in uploads] == ["dev", "prod"]
    # Invalid config (2) stops at once: there is no summary to publish.
    (tmp_path / "invalid").mkdir()
    assert run_offline_diff(tmp_path / "invalid", step["bash"], FAKE_PROD="2").returncode == 2
    # Planted: without capturing the status, `set -e` stops at dev's finding, before any summary reaches the page.
    (tmp_path / "planted").mkdir()
    planted = run_offline_diff(tmp_path / "planted", step["bash"].replace("|| status=$?", ""), FAKE_DEV="3")
    assert planted.returncode == 3
    assert "task.uploadsummary" not in planted.stdout
