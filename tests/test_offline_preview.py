"""The offline preview as a user runs it: a separate process, real files, real exit codes."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from components.config import ConfigError
from tests.helpers import GIT, GIT_FILE, only, put, stack_file_with
from tools import capture, offline_preview
from tools.capture import ROOT, SECRET, SECRET_CONFIG_PLACEHOLDER, Capture
from tools.mocks import EstateMocks

SECRET_CONFIG = "integration-api-key"


def _preview(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.offline_preview", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def prod_with_secret(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prod stack plus a `secure:` value, as `pulumi config set --secret --path` writes it."""
    secrets = {SECRET_CONFIG: {"secure": "v1:AAAAAAAAAAAAAAAA:ciphertext"}}
    return stack_file_with(tmp_path_factory.mktemp("config"), "prod", put("aks-estate:ciSecrets", secrets))


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory, prod_with_secret: Path) -> tuple[Path, Path]:
    """The same preview in a process of its own and in this one: two interpreters, each with its own hash seed."""
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    result = _preview("--stack", "prod", "--config-file", str(prod_with_secret), "--out", str(first))
    assert result.returncode == 0, result.stderr
    assert "to create" in result.stdout
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert (
            offline_preview.main(["--stack", "prod", "--config-file", str(prod_with_secret), "--out", str(second)]) == 0
        )
    assert "to create" in printed.getvalue()
    return first, second


@pytest.mark.slow
def test_two_runs_write_identical_bytes(two_runs: tuple[Path, Path]) -> None:
    first, second = two_runs
    for name in ("resources.json", "outputs.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


@pytest.mark.slow
def test_inventory_has_the_contracted_fields(two_runs: tuple[Path, Path]) -> None:
    resources = json.loads((two_runs[0] / "resources.json").read_text())
    fields = {"urn", "id", "type", "name", "parent", "custom", "protect", "retainOnDelete", "dependencies", "inputs"}
    # The two optional lifecycle fields appear only where set; where they appear they are set.
    optional = {"deleteBeforeReplace", "ignoreChanges", "replacementTrigger", "replaceWith"}
    assert all(fields <= set(entry) <= fields | optional for entry in resources)
    assert all(
        entry.get("deleteBeforeReplace", True) is True and entry.get("ignoreChanges", [1]) for entry in resources
    )
    urns = {entry["urn"] for entry in resources}
    for entry in resources:
        assert entry["parent"] is None or entry["parent"] in urns
        # A resource replaced with others names them by URN, every one in the inventory.
        assert set(entry.get("replaceWith", [])) <= urns
        assert entry.get("replaceWith", [1])
        assert set(entry["dependencies"]) <= urns


@pytest.mark.slow
def test_no_secret_value_reaches_the_inventory(two_runs: tuple[Path, Path], prod: Capture) -> None:
    text = "".join((two_runs[0] / name).read_text() for name in ("resources.json", "outputs.json", "summary.md"))
    assert SECRET_CONFIG_PLACEHOLDER not in text
    (app_insights,) = prod.of_type("azure-native:applicationinsights:Component")
    connection_string = app_insights.outputs["connectionString"]
    assert connection_string.startswith("InstrumentationKey=")
    assert connection_string not in text
    resources = json.loads((two_runs[0] / "resources.json").read_text())
    secrets = {e["inputs"]["secretName"]: e["inputs"] for e in resources if e["type"] == "azure-native:keyvault:Secret"}
    assert set(secrets) == {"appinsights-connection-string", SECRET_CONFIG}
    assert all(secret["properties"] == SECRET for secret in secrets.values())
    assert json.loads((two_runs[0] / "outputs.json").read_text())["appInsightsConnectionString"] == SECRET


def test_invalid_config_exits_2_with_one_clear_message_and_writes_nothing(tmp_path: Path) -> None:
    config_file = stack_file_with(tmp_path, "dev", put("aks-estate:namePrefix", "Bad_Prefix"))
    out = tmp_path / "out"
    result = _preview("--stack", "dev", "--config-file", str(config_file), "--out", str(out))
    assert result.returncode == 2
    assert 'aks-estate:namePrefix = "Bad_Prefix": must be 2-10 lowercase letters and digits' in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_invalid_config_registers_nothing() -> None:
    config, secret_keys = capture.load_stack_config(ROOT / "Pulumi.dev.yaml")
    config["aks-estate:services"] = json.dumps([{"name": "ok"}, {"name": "Not-OK"}])
    monitor = capture.CapturingMonitor(EstateMocks())
    with pytest.raises(ConfigError, match=r"services\[1\]\.name"):
        capture.execute(monitor, "dev", config, secret_keys, ROOT / "__main__.py")
    # Only the engine's own root stack resource exists; the program registered nothing.
    assert [r.type for r in monitor.registrations] == ["pulumi:pulumi:Stack"]


def test_every_resource_is_a_child_of_its_component(dev: Capture) -> None:
    # Without parent=self a resource would hang off the stack itself; with it, its name starts with its parent's.
    for registration in dev.resources:
        if registration.type in ("pulumi:pulumi:Stack", "aks-estate:estate:Estate"):
            continue
        assert registration.parent, f"{registration.name} is not parented"
        parent = dev.by_urn(registration.parent)
        assert parent.type.startswith("aks-estate:"), f"{registration.name} hangs off {parent.type}"
        assert registration.name.startswith(parent.name), f"{registration.name} is not named after {parent.name}"


@pytest.mark.slow
def test_summary_lists_the_estate_outputs_and_remaining_manual_steps(two_runs: tuple[Path, Path]) -> None:
    summary = (two_runs[0] / "summary.md").read_text()
    assert "| `aks-estate:containers:Cluster` | `azure-native:containerservice:ManagedCluster` | 2 |" in summary
    assert '"appInsightsConnectionString": "[secret]"' in summary
    assert "Authorize the Defender for DevOps connector" in summary


def test_in_cluster_objects_wait_for_their_own_clusters_provider(shop: Capture) -> None:
    providers = {r.urn: r for r in shop.of_type("pulumi:providers:kubernetes")}
    assert len(providers) == 2
    for registration in shop.resources:
        if registration.type.startswith("kubernetes:"):
            (provider,) = [urn for urn in registration.dependencies if urn in providers]
            stage = "staging" if "staging" in registration.name else "production"
            assert stage in providers[provider].name


def test_a_policy_violation_fails_the_preview_naming_the_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The config model already refuses what the pack's rules refuse, so a rule the estate breaks is injected here. The
    # preview judges either program alike; the bootstrap's is the shorter run, and its vault holds the state's key.
    def refuse_vaults(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type == "azure-native:keyvault:Vault":
            report("this test refuses every vault", None)

    rule = ResourceValidationPolicy(name="test-refuse-vaults", description="test", validate=refuse_vaults)
    monkeypatch.setattr(offline_preview, "POLICIES", [rule])
    assert offline_preview.main(["--program", "bootstrap", "--stack", "main", "--out", str(tmp_path)]) == 3
    streams = capsys.readouterr()
    assert "test-refuse-vaults: this test refuses every vault" in streams.err
    assert "1 mandatory rules, 1 violations" in streams.out
    assert "**test-refuse-vaults**" in (tmp_path / "summary.md").read_text()


def test_progress_counts_registrations_on_one_terminal_line(dev: Capture, capsys: pytest.CaptureFixture[str]) -> None:
    show = offline_preview._progress()
    for registration in dev.resources[:3]:
        show(registration)
    err = capsys.readouterr().err
    assert err.count("\r") == 3
    assert "\n" not in err
    assert err.rsplit("\r", 1)[-1].startswith("      3 registered  ")


def test_the_firewall_step_is_listed_only_for_a_public_vault_that_denies_by_default(
    dev: Capture, prod: Capture
) -> None:
    # Prod's vault is private and dev's open: neither needs a list (tests/test_hardening.py plants a public prod vault).
    step = offline_preview.MANUAL_STEPS["azure-native:keyvault:Vault"]
    assert step not in offline_preview.render_summary(prod, "Pulumi.prod.yaml", [])
    assert step not in offline_preview.render_summary(dev, "Pulumi.dev.yaml", [])


def test_the_admin_group_step_is_listed_only_where_a_cluster_runs_the_internal_ingress_controller(
    dev: Capture, prod: Capture, shop: Capture, boot: Capture
) -> None:
    # The controller is the one object the stack writes through an API server; without it the deploy identity needs
    # no Kubernetes role, and a member of the admin group is cluster admin of every cluster naming the group.
    step = offline_preview.MANUAL_STEPS["pulumi:providers:kubernetes"]
    assert step in offline_preview.render_summary(shop, "Pulumi.dev.yaml", [])
    for capture_, name in ((dev, "Pulumi.dev.yaml"), (prod, "Pulumi.prod.yaml"), (boot, "Pulumi.main.yaml")):
        assert "adminGroupObjectIds" not in offline_preview.render_summary(capture_, name, [])


def test_the_agent_pool_steps_follow_the_pool_the_stack_runs_on(dev: Capture, prod: Capture) -> None:
    # The existing organisation pool (and the vault IP rules its egress needs) is a step only for a stack that names
    # one; the stack's own Managed DevOps Pool leaves the one-time provider registration and pool rights.
    existing = offline_preview.MANUAL_STEPS["azuredevops:index/queue:Queue"]
    managed = offline_preview.MANUAL_STEPS["azure-native:devopsinfrastructure:Pool"]
    prod_summary = offline_preview.render_summary(prod, "Pulumi.prod.yaml", [])
    dev_summary = offline_preview.render_summary(dev, "Pulumi.dev.yaml", [])
    assert managed in prod_summary
    assert existing not in prod_summary
    assert "keyVaultAllowedIpRanges" not in prod_summary
    assert existing not in dev_summary
    assert managed not in dev_summary
    # Planted: a queue for an existing organisation pool in the inventory brings its step back.
    queue = dataclasses.replace(
        only(prod, "azuredevops:index/project:Project"),
        urn="urn:pulumi:prod::aks-estate::azuredevops:index/queue:Queue::queue",
        type="azuredevops:index/queue:Queue",
    )
    planted = Capture(prod.stack, [*prod.resources, queue], prod.outputs)
    assert existing in offline_preview.render_summary(planted, "Pulumi.prod.yaml", [])


@pytest.mark.slow
def test_the_inventory_records_each_resources_lifecycle(two_runs: tuple[Path, Path], prod: Capture) -> None:
    entries = {e["urn"]: e for e in json.loads((two_runs[0] / "resources.json").read_text())}
    for registration in prod.resources:
        entry = entries[registration.urn]
        assert entry["protect"] is registration.protect
        assert entry["retainOnDelete"] is registration.retain_on_delete
        assert entry.get("ignoreChanges", []) == list(registration.ignore_changes)
    # What the program asks for, read back from the inventory: repositories and committed files outlive the stack.
    repositories = [e for e in entries.values() if e["type"] == GIT]
    assert len(repositories) == 3
    assert all(repository["retainOnDelete"] and repository["protect"] for repository in repositories)
    files = [e for e in entries.values() if e["type"] == GIT_FILE]
    assert files
    assert all(file["retainOnDelete"] for file in files)


def test_a_lifecycle_option_reaches_the_inventory_only_where_set() -> None:
    bare = capture.Registration("urn:x", "id", "t:t:T", "x", None, True, False, (), {})
    assert bare.as_json()["retainOnDelete"] is False
    assert "deleteBeforeReplace" not in bare.as_json()
    assert "ignoreChanges" not in bare.as_json()
    set_ = dataclasses.replace(bare, retain_on_delete=True, delete_before_replace=True, ignore_changes=("content",))
    assert set_.as_json()["retainOnDelete"] is True
    assert set_.as_json()["deleteBeforeReplace"] is True
    assert set_.as_json()["ignoreChanges"] == ["content"]


def test_a_service_repository_outlives_the_stack_and_is_protected_in_prod(dev: Capture, prod: Capture) -> None:
    # Removing a service from config must never delete the team's code or history.
    for estate, protected in ((dev, False), (prod, True)):
        (repository,) = [r for r in estate.of_type(GIT) if r.inputs["name"] == "orders"]
        assert repository.retain_on_delete
        assert repository.protect is protected


@pytest.mark.slow
def test_the_summary_names_what_removing_a_service_deletes_and_keeps(two_runs: tuple[Path, Path]) -> None:
    summary = (two_runs[0] / "summary.md").read_text()
    section = summary.split("## Removing a service from config", 1)[1].split("## ", 1)[0]
    assert "- `orders`:" in section
    refused = section.split("  - Refused: the update stops until `pulumi state unprotect`: ", 1)[1].split("\n", 1)[0]
    assert f"1 `{GIT}`" in refused
    left = section.split("Left in place", 1)[1].split("\n", 1)[0]
    assert f"3 `{GIT_FILE}`" in left
    # A namespace with the service's workloads in it is the team's as much as the code is.
    assert "2 `azure-native:containerservice:ManagedNamespace`" in refused


def test_the_removal_summary_follows_the_lifecycle_fields(dev: Capture, prod: Capture) -> None:
    # Planted mistake: the repository loses retainOnDelete; the summary must then say it is deleted.
    effects = offline_preview.removal_effects(dev)["orders"]
    assert effects["retained"][GIT] == 1
    assert effects["protected"][GIT] == 0
    (repository,) = [r for r in dev.of_type(GIT) if r.inputs["name"] == "orders"]
    broken = Capture(
        stack="dev",
        resources=[dataclasses.replace(r, retain_on_delete=False) if r is repository else r for r in dev.resources],
        outputs=dev.outputs,
    )
    assert offline_preview.removal_effects(broken)["orders"]["deleted"][GIT] == 1
    assert offline_preview.removal_effects(prod)["orders"]["protected"][GIT] == 1


def test_a_resource_belongs_to_the_service_named_last_in_its_name(dev: Capture) -> None:
    (namespace,) = [r for r in dev.of_type("azure-native:containerservice:ManagedNamespace") if "production" in r.name]
    assert offline_preview.service_of(namespace, frozenset({"orders"})) == "orders"
    # A service named like a stage loses to the service that follows it in the name.
    assert offline_preview.service_of(namespace, frozenset({"production", "orders"})) == "orders"
    assert offline_preview.service_of(namespace, frozenset({"payments", "rders"})) is None
    # Of two services at the same place, the longer one (hyphenated) wins: "orders-api" is not "orders".
    api = dataclasses.replace(namespace, name=namespace.name.replace("-orders-", "-orders-api-"))
    assert offline_preview.service_of(api, frozenset({"orders", "orders-api", "api"})) == "orders-api"


Refused = Callable[[str, Path | str], str]


@pytest.fixture
def refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Refused:
    """What the preview says refusing a stack file (a path, or its text); in this process, as the exit code and the
    message are main()'s (test_invalid_config_exits_2_with_one_clear_message_and_writes_nothing runs the command)."""

    def run(stack: str, config: Path | str) -> str:
        if isinstance(config, str):
            config_file = tmp_path / f"Pulumi.{stack}.yaml"
            config_file.write_text(config)
        else:
            config_file = config
        out = tmp_path / "out"
        assert offline_preview.main(["--stack", stack, "--config-file", str(config_file), "--out", str(out)]) == 2
        assert not out.exists()
        lines = capsys.readouterr().err.splitlines()
        assert lines[0] == "error: invalid stack configuration:"
        return "\n".join(lines[1:])

    return run


def test_a_stack_configured_as_another_environment_is_refused(tmp_path: Path, refused: Refused) -> None:
    message = refused("prod", (ROOT / "Pulumi.dev.yaml").read_text())
    assert message == (
        "  aks-estate:environment = \"dev\": must be \"prod\" in stack 'prod': a stack whose name contains 'prod' as "
        "a word builds that environment (stacks named otherwise may choose either)"
    )


def test_a_yaml_syntax_error_names_the_file_line_and_column(tmp_path: Path, refused: Refused) -> None:
    text = (
        (ROOT / "Pulumi.dev.yaml")
        .read_text()
        .replace("  aks-estate:location: westeurope\n", "  aks-estate:location: [westeurope\n")
    )
    line = text.splitlines().index("  aks-estate:location: [westeurope") + 1
    config_file = tmp_path / "Pulumi.dev.yaml"
    config_file.write_text(text)
    message = refused("dev", config_file)
    assert message.startswith(f"  {config_file}:")
    assert "is not valid YAML" in message
    where = message.split(": is not valid YAML", 1)[0].strip()
    _, reported_line, column = where.rsplit(":", 2)
    assert int(reported_line) >= line
    assert int(column) >= 1
    assert len(message.splitlines()) == 1


def test_a_plaintext_token_in_the_stack_file_is_refused(tmp_path: Path, refused: Refused) -> None:
    def plaintext(config: dict[str, Any]) -> None:
        config["azuredevops:personalAccessToken"] = "pat-value-1234"

    message = refused("dev", stack_file_with(tmp_path, "dev", plaintext))
    assert message.startswith("  azuredevops:personalAccessToken = [not shown]: must not sit in the stack file")
    assert "pat-value-1234" not in message


def test_one_plaintext_entry_among_secure_ci_secrets_is_refused(tmp_path: Path, refused: Refused) -> None:
    def mixed(config: dict[str, Any]) -> None:
        config["aks-estate:ciSecrets"] = {"one": {"secure": "v1:AAAA:x"}, "two": "secret-value-5678"}

    message = refused("prod", stack_file_with(tmp_path, "prod", mixed))
    assert message.startswith("  aks-estate:ciSecrets.two = [not shown]: must be set with `pulumi config set --secret")
    assert "secret-value-5678" not in message
    assert "ciSecrets.one" not in message


def test_a_service_named_after_a_system_namespace_is_refused(tmp_path: Path, refused: Refused) -> None:
    def kube_system(config: dict[str, Any]) -> None:
        config["aks-estate:services"] = [{"name": "kube-system"}]

    message = refused("dev", stack_file_with(tmp_path, "dev", kube_system))
    assert message.startswith('  aks-estate:services[0].name = "kube-system": is a namespace Kubernetes or AKS owns')
    assert len(message.splitlines()) == 1


def test_an_unquoted_version_is_refused_with_a_hint_to_quote_it(tmp_path: Path, refused: Refused) -> None:
    text = (ROOT / "Pulumi.dev.yaml").read_text().replace('kubernetesVersion: "1.35"', "kubernetesVersion: 1.30", 1)
    message = refused("dev", text)
    assert message == (
        "  aks-estate:clusters.staging.kubernetesVersion = 1.3: must be quoted in the stack file, e.g. "
        'kubernetesVersion: "1.30": unquoted, YAML reads a version as a number and drops its trailing zero'
    )


def test_the_engine_path_refuses_plaintext_secrets_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `pulumi up` never runs load_stack_config: from_pulumi must find both on its own.
    config, secret_keys = capture.load_stack_config(ROOT / "Pulumi.prod.yaml")
    monitor = capture.CapturingMonitor(EstateMocks())
    with pytest.raises(ConfigError, match=r"azuredevops:personalAccessToken = \[not shown\]"):
        capture.execute(
            monitor, "prod", {**config, "azuredevops:personalAccessToken": "pat"}, secret_keys, ROOT / "__main__.py"
        )
    # The language host marks the whole map secret; the stack file in the working directory shows the plain entry.
    mixed = stack_file_with(
        tmp_path, "prod", lambda c: c.update({"aks-estate:ciSecrets": {"a": {"secure": "v1:x"}, "b": "plain-value"}})
    )
    monkeypatch.chdir(mixed.parent)
    with pytest.raises(ConfigError, match=r"aks-estate:ciSecrets\.b = \[not shown\]"):
        capture.execute(monitor, "prod", config, [*secret_keys, "aks-estate:ciSecrets"], ROOT / "__main__.py")
    assert [r.type for r in monitor.registrations] == ["pulumi:pulumi:Stack"] * 2
