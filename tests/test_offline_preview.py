"""The offline preview as a user runs it: a separate process, real files, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from components.config import ConfigError
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
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    document["config"]["aks-estate:ciSecrets"] = {SECRET_CONFIG: {"secure": "v1:AAAAAAAAAAAAAAAA:ciphertext"}}
    path = tmp_path_factory.mktemp("config") / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory, prod_with_secret: Path) -> tuple[Path, Path]:
    first, second = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    for out in (first, second):
        result = _preview("--stack", "prod", "--config-file", str(prod_with_secret), "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert "to create" in result.stdout
    return first, second


@pytest.mark.slow
def test_two_runs_write_identical_bytes(two_runs: tuple[Path, Path]) -> None:
    first, second = two_runs
    for name in ("resources.json", "outputs.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


@pytest.mark.slow
def test_inventory_has_the_contracted_fields(two_runs: tuple[Path, Path]) -> None:
    resources = json.loads((two_runs[0] / "resources.json").read_text())
    fields = {"urn", "id", "type", "name", "parent", "custom", "protect", "dependencies", "inputs"}
    assert all(set(entry) == fields for entry in resources)
    urns = {entry["urn"] for entry in resources}
    for entry in resources:
        assert entry["parent"] is None or entry["parent"] in urns
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
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    document["config"]["aks-estate:namePrefix"] = "Bad_Prefix"
    config_file = tmp_path / "Pulumi.dev.yaml"
    config_file.write_text(yaml.safe_dump(document))
    out = tmp_path / "out"
    result = _preview("--stack", "dev", "--config-file", str(config_file), "--out", str(out))
    assert result.returncode == 2
    assert 'aks-estate:namePrefix = "Bad_Prefix": String should match pattern' in result.stderr
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


def test_in_cluster_objects_wait_for_their_own_clusters_provider(prod: Capture) -> None:
    providers = {r.urn: r for r in prod.of_type("pulumi:providers:kubernetes")}
    assert len(providers) == 2
    for registration in prod.resources:
        if registration.type.startswith("kubernetes:"):
            (provider,) = [urn for urn in registration.dependencies if urn in providers]
            stage = "staging" if "staging" in registration.name else "production"
            assert stage in providers[provider].name


@pytest.mark.slow
def test_a_policy_violation_fails_the_preview_naming_the_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The config model already refuses what the pack's rules refuse, so a rule the estate breaks is injected here.
    def refuse_vaults(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type == "azure-native:keyvault:Vault":
            report("this test refuses every vault", None)

    rule = ResourceValidationPolicy(name="test-refuse-vaults", description="test", validate=refuse_vaults)
    monkeypatch.setattr(offline_preview, "POLICIES", [rule])
    assert offline_preview.main(["--stack", "dev", "--out", str(tmp_path)]) == 3
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


def test_the_firewall_step_is_listed_only_for_a_vault_that_denies_by_default(dev: Capture, prod: Capture) -> None:
    step = offline_preview.MANUAL_STEPS["azure-native:keyvault:Vault"]
    assert step in offline_preview.render_summary(prod, "Pulumi.prod.yaml", [])
    assert step not in offline_preview.render_summary(dev, "Pulumi.dev.yaml", [])
