"""Every policy of the pack, in the order `pulumi preview` lists them, with every exemption applied."""

from __future__ import annotations

from typing import Any

from . import bootstrap, clusters, devops, identity, monitoring, network, pool, registries, vault
from .common import Exemption, exempting

AREAS = (clusters, registries, vault, identity, monitoring, network, pool, devops, bootstrap)
# Each area states its exemptions beside its rules (`EXEMPTIONS`); the bootstrap's name other areas' rules.
EXEMPTIONS: tuple[Exemption, ...] = tuple(exemption for area in AREAS for exemption in getattr(area, "EXEMPTIONS", ()))
POLICIES: list[Any] = [exempting(policy, EXEMPTIONS) for area in AREAS for policy in area.POLICIES]
