"""Which VM sizes can hold a node's OS disk ephemerally: the table and the rule the node pool config applies.

An ephemeral OS disk lives on the VM's local storage: AKS places it in the VM's cache, or in its temporary (resource)
disk when the cache is too small or absent, and refuses a pool whose OS disk fits neither
(learn.microsoft.com/azure/aks/concepts-storage#ephemeral-os-disk: "Standard_DS2_v2 ... only has 86 GiB of cache
size"; with `osDiskType: Ephemeral` "they receive a validation error"). The config refuses such a pool before AKS does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple


class LocalDisks(NamedTuple):
    cache_gib: int | None
    temp_gib: int | None


# GiB of each size's cache and temporary disk, None where the size has none. Sources: the Ddsv5 series page
# (learn.microsoft.com/azure/virtual-machines/sizes/general-purpose/ddsv5-series, "Local storage": temp disk 75, 150,
# 300, 600 GiB; no cache size listed), the DSv2 series page (.../sizes/memory-optimized/dsv2-series: cache 86/172 GiB,
# temp 14/28 GiB; the AKS page above quotes the 86), and the Dsv5 series page (.../general-purpose/dsv5-series: "No
# local storage", so no ephemeral OS disk at all). All of them support encryption at host.
VM_LOCAL_DISKS: dict[str, LocalDisks] = {
    "Standard_D2ds_v5": LocalDisks(None, 75),
    "Standard_D4ds_v5": LocalDisks(None, 150),
    "Standard_D8ds_v5": LocalDisks(None, 300),
    "Standard_D16ds_v5": LocalDisks(None, 600),
    "Standard_DS2_v2": LocalDisks(86, 14),
    "Standard_DS3_v2": LocalDisks(172, 28),
    "Standard_D2s_v5": LocalDisks(None, None),
    "Standard_D4s_v5": LocalDisks(None, None),
    "Standard_D8s_v5": LocalDisks(None, None),
}


def ephemeral_os_disk_violations(vm_size: str, os_disk_size_gb: int) -> list[tuple[str, Any, str]]:
    """An ephemeral OS disk must fit the size's cache or temporary disk; a size the table does not know is refused."""
    disks = VM_LOCAL_DISKS.get(vm_size)
    if disks is None:
        known = ", ".join(sorted(VM_LOCAL_DISKS))
        return [
            (
                "vmSize",
                vm_size,
                "is not a size whose cache and temporary disk the estate knows, so an ephemeral OS disk on it cannot "
                f"be checked (components/config_hardening.py, VM_LOCAL_DISKS; known: {known})",
            )
        ]
    largest = max(disks.cache_gib or 0, disks.temp_gib or 0)
    if os_disk_size_gb <= largest:
        return []
    cache = f"{disks.cache_gib} GiB" if disks.cache_gib else "none"
    temp = f"{disks.temp_gib} GiB" if disks.temp_gib else "none"
    return [
        (
            "osDiskSizeGb",
            os_disk_size_gb,
            f"does not fit an ephemeral OS disk on {vm_size}: its cache is {cache} and its temporary disk "
            f"{temp}; choose a smaller osDiskSizeGb, a size with more local storage, or osDiskType Managed",
        )
    ]


def unhardened_nodes(clusters: Iterable[tuple[str, Any]]) -> Iterator[tuple[str, Any, str]]:
    """(key, value, rule) for every pool of the (stage, cluster config) pairs without an ephemeral OS disk or
    encryption at host, which a prod stack requires (checkov CKV_AZURE_226, CKV_AZURE_227)."""
    for stage, cluster in clusters:
        for pool_key, pool in (("systemPool", cluster.system_pool), ("userPool", cluster.user_pool)):
            if pool.os_disk_type != "Ephemeral":
                yield f"clusters.{stage}.{pool_key}.osDiskType", pool.os_disk_type, _PROD_NODES + "ephemeral OS disks"
            if not pool.encryption_at_host:
                yield f"clusters.{stage}.{pool_key}.encryptionAtHost", False, _PROD_NODES + "encryption at host"


_PROD_NODES = "a prod stack's nodes run with "
