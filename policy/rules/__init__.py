"""Every policy of the pack, in the order `pulumi preview` lists them."""

from __future__ import annotations

from typing import Any

from . import azure, devops

POLICIES: list[Any] = [*azure.POLICIES, *devops.POLICIES]
