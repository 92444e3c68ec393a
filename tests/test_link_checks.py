"""The link checks as the offline preview runs them on any stack config: what counts as production, the summary, and
a broken link failing the preview like a policy violation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from components.identity import EstateAccess, Grant, estate_grants
from tests.helpers import cluster, only, registry
from tools import link_checks, offline_preview
from tools.capture import Capture


def test_production_is_the_production_cluster_and_registry_where_no_certificate_is_served(estate: Capture) -> None:
    assert link_checks.production_targets(estate) == {cluster(estate, "production").id, registry(estate, "prod").id}


def test_a_certificate_production_serves_is_production_too_as_certificate_secret_and_key(shop: Capture) -> None:
    # conftest's shop serves the certificate "shop" in production and "shop-staging" in staging.
    vault = only(shop, "azure-native:keyvault:Vault").id
    served = link_checks.production_targets(shop) - {cluster(shop, "production").id, registry(shop, "prod").id}
    assert served == {f"{vault}/{kind}/shop" for kind in ("certificates", "secrets", "keys")}


def test_outputs_that_name_no_cluster_of_the_inventory_are_refused(prod: Capture) -> None:
    renamed = dataclasses.replace(prod, outputs={**prod.outputs, "clusters": {"production": "aks-elsewhere"}})
    with pytest.raises(ValueError, match="0 clusters named 'aks-elsewhere'"):
        link_checks.production_targets(renamed)


def test_the_summary_states_what_each_check_holds_when_it_finds_nothing(prod: Capture) -> None:
    lines = link_checks.section(link_checks.run(prod))
    assert lines[0] == "## Link checks"
    assert [line.split("**")[1] for line in lines if line.startswith("- **")] == [c.name for c in link_checks.CHECKS]
    assert all(": holds: " in line for line in lines if line.startswith("- **"))


@pytest.mark.slow
def test_a_broken_link_fails_the_offline_preview_naming_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Planted: the pipelines identity, in whose session CI's tests run, may fetch the production cluster's kubeconfig.
    def with_ci_on_production(access: EstateAccess) -> list[Grant]:
        planted = Grant(
            "planted-pipelines-on-production",
            "Azure Kubernetes Service Cluster User Role",
            access.pipelines_principal_id,
            access.clusters["production"].cluster_id,
        )
        return [*estate_grants(access), planted]

    monkeypatch.setattr("components.estate.estate_grants", with_ci_on_production)
    assert offline_preview.main(["--stack", "dev", "--out", str(tmp_path)]) == 3
    streams = capsys.readouterr()
    assert f"link checks: {len(link_checks.CHECKS)} checks," in streams.out
    assert "production-reach: " in streams.err
    assert "runs repository code with a connection whose identity holds" in streams.err
    summary = (tmp_path / "summary.md").read_text()
    assert "- **production-reach**: " in summary
    assert "- **secret-reads**: holds: " in summary
