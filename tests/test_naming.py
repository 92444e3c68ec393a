from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components import naming

prefixes = st.from_regex(naming.PREFIX_PATTERN, fullmatch=True)
environments = st.sampled_from(["dev", "prod"])
services = st.from_regex(naming.SERVICE_NAME_PATTERN, fullmatch=True).filter(
    lambda name: 2 <= len(name) <= naming.SERVICE_NAME_MAX
)


@given(prefix=prefixes, environment=environments)
def test_every_shared_name_obeys_its_rule_for_any_accepted_prefix(prefix: str, environment: str) -> None:
    # Constructing the names checks each against its rule; this asserts the construction never raises and that
    # names which must be distinct are.
    names = naming.EstateNames(prefix, environment).all()
    distinct = [value for key, value in names.items() if not key.startswith(("federatedCredential",))]
    assert len(set(distinct)) == len(distinct)


@given(service=services)
def test_every_service_name_obeys_its_rule_for_any_accepted_service(service: str) -> None:
    names = naming.ServiceNames(service).all()
    assert names["namespace"] == service


@given(prefix=prefixes, environment=environments)
def test_registries_clusters_and_vaults_never_collide_between_stacks(prefix: str, environment: str) -> None:
    other = "prod" if environment == "dev" else "dev"
    mine, theirs = naming.EstateNames(prefix, environment).all(), naming.EstateNames(prefix, other).all()
    # A subnet's name is scoped to its own stack's virtual network, whose name differs.
    assert not {v for k, v in mine.items() if not k.startswith("subnet.")} & set(theirs.values())


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("Key Vault", "kv-" + "a" * 22),
        ("Key Vault", "1kv-abc"),
        ("Key Vault", "kv--abc"),
        ("container registry", "cr-abc"),
        ("container registry", "cr"),
        ("AKS node pool", "System"),
        ("Kubernetes namespace", "Orders"),
        ("AKS DNS prefix", "-abc"),
        ("Log Analytics workspace", "log"),
    ],
)
def test_rules_reject_names_azure_rejects(kind: str, name: str) -> None:
    with pytest.raises(naming.InvalidNameError, match=re.escape(kind)):
        naming.checked(kind, name)
