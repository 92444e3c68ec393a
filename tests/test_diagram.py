from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools import diagram
from tools.capture import ROOT, Capture


@pytest.fixture(scope="module")
def source(prod: Capture) -> str:
    return str(diagram.build(prod).source)


def test_groups_follow_the_architecture(source: str) -> None:
    for group in (
        "cluster_registries",
        "cluster_staging",
        "cluster_production",
        "cluster_secrets",
        "cluster_monitoring",
    ):
        assert f"subgraph {group}" in source


def test_key_relations_come_from_the_inventory(source: str) -> None:
    assert source.count("label=AcrPull") == 2
    assert '"promote: az acr import, same digest"' in source
    assert source.count("label=logs") == 5
    assert source.count('label="Container Insights"') == 2
    assert '"Key Vault Secrets User"' in source


def test_each_kubelet_pull_edge_points_at_its_own_registry(source: str) -> None:
    pulls = [line for line in source.splitlines() if "label=AcrPull" in line]
    assert any("cluster-staging" in line and "registry-nonprod" in line for line in pulls)
    assert any("cluster-production" in line and "registry-prod" in line for line in pulls)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (tools/setup.sh installs it)")
def test_svg_is_rendered(prod: Capture, tmp_path: Path) -> None:
    written = diagram.write(prod, tmp_path)
    assert [path.name for path in written] == ["diagram.dot", "diagram.svg"]
    assert (tmp_path / "diagram.svg").read_text().lstrip().startswith("<?xml")


def test_the_readme_diagram_is_the_current_prod_estate(source: str) -> None:
    committed = (ROOT / "docs" / "estate-prod.dot").read_text()
    assert committed == source, "regenerate: python -m tools.offline_preview --stack prod; copy out/prod/diagram.*"


def test_promotion_runs_from_the_non_production_registry_to_production_only(source: str) -> None:
    (promotion,) = [line for line in source.splitlines() if "promote" in line]
    assert promotion.split("->")[0].strip().strip('"').startswith("estate-registry-nonprod")
    assert promotion.split("->")[1].split("[")[0].strip().strip('"').startswith("estate-registry-prod")


def test_each_environment_points_at_its_own_clusters_namespace(source: str) -> None:
    links = [line for line in source.splitlines() if 'label="deploys into"' in line]
    assert len(links) == 2
    for line in links:
        stage = "staging" if "environment-staging" in line else "production"
        assert f"tenants-{stage}-orders-namespace" in line.split("->")[1]
