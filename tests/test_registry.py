from __future__ import annotations

from tests.helpers import REGISTRY, registry
from tools.capture import Capture


def test_prod_registry_is_premium_zone_redundant_with_retention(prod: Capture) -> None:
    production = registry(prod, "prod")
    assert production.inputs["sku"] == {"name": "Premium"}
    assert production.inputs["zoneRedundancy"] == "Enabled"
    assert production.inputs["policies"]["retentionPolicy"] == {"days": 30, "status": "enabled"}
    assert production.protect


def test_dev_registries_are_cheaper_and_unprotected(dev: Capture) -> None:
    assert registry(dev, "nonprod").inputs["sku"] == {"name": "Basic"}
    assert registry(dev, "prod").inputs["sku"] == {"name": "Standard"}
    assert "policies" not in registry(dev, "prod").inputs
    assert not any(r.protect for r in dev.of_type(REGISTRY))


def test_registry_names_are_distinct_lowercase_alphanumerics(estate: Capture) -> None:
    names = {role: registry(estate, role).inputs["registryName"] for role in ("nonprod", "prod")}
    assert names["nonprod"] != names["prod"]
    for role, name in names.items():
        assert name.isalnum()
        assert name.islower()
        assert name.endswith(role)
