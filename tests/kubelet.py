"""How the kubelet lays out a secret volume and whom the container process runs as, from a pod spec.

Each rule follows kubernetes' own source (paths in kubernetes/kubernetes):
- pkg/volume/secret/secret.go, `SetUpAt`: the payload's files get the item mode or the volume's `defaultMode`
  (`MakePayload`), written by the AtomicWriter (pkg/volume/util/atomic_writer.go) into a timestamped directory that
  `..data` points to, each key a symlink `<key> -> ..data/<key>`; then `volume.SetVolumeOwnership` with the pod's
  fsGroup. The secret mounter reports itself read-only (`GetAttributes`: ReadOnly true).
- pkg/volume/volume_linux.go, `SetVolumeOwnership`: "If fsGroup is nil nothing is done" (files stay root:root with
  their mode); otherwise `changeFilePermission` skips symlinks, `Lchown`s every path to group fsGroup and ORs in
  `roMask` (0440) for a read-only volume, plus setgid and `execMask` (0110) on directories.
- pkg/kubelet/kuberuntime/security_context.go, `determineEffectiveSecurityContext`: the container runs as runAsUser and
  runAsGroup, and the pod's fsGroup is appended to its supplemental groups.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RO_MASK = 0o440
EXEC_MASK = 0o110
_DATA_DIR = "..2026_12_01_00_00_00.000000000"


@dataclass(frozen=True)
class Identity:
    uid: int
    gid: int
    supplemental_groups: tuple[int, ...]


def container_identity(pod_spec: Mapping[str, Any], container: Mapping[str, Any]) -> Identity:
    """The process identity; a container's own securityContext overrides the pod's runAsUser/runAsGroup."""
    pod = pod_spec.get("securityContext") or {}
    own = container.get("securityContext") or {}
    uid = int(own.get("runAsUser", pod.get("runAsUser", 0)))
    gid = int(own.get("runAsGroup", pod.get("runAsGroup", 0)))
    groups = [int(g) for g in pod.get("supplementalGroups") or []]
    if pod.get("fsGroup") is not None:
        groups.append(int(pod["fsGroup"]))
    return Identity(uid, gid, tuple(groups))


def lay_out_secret_volume(directory: Path, data: Mapping[str, str], default_mode: int, fs_group: int | None) -> None:
    """Write `data` as the kubelet writes a secret volume into `directory` (which must not exist yet)."""
    # The secret volume wraps an emptyDir, whose directory is 0777 (pkg/volume/emptydir/empty_dir.go, `perm`); the
    # AtomicWriter's timestamped directory is chmod 0755 (`newTimestampDir`).
    directory.mkdir(parents=True)
    directory.chmod(0o777)
    payload = directory / _DATA_DIR
    payload.mkdir()
    payload.chmod(0o755)
    for key, value in data.items():
        file = payload / key
        file.write_text(value, encoding="utf-8")
        file.chmod(default_mode)
    (directory / "..data").symlink_to(_DATA_DIR)
    for key in data:
        (directory / key).symlink_to(f"..data/{key}")
    if fs_group is None:
        return
    for path in [directory, *sorted(directory.rglob("*"))]:
        if path.is_symlink():
            continue
        os.lchown(path, -1, fs_group)
        mask = RO_MASK | (stat.S_ISGID | EXEC_MASK if path.is_dir() else 0)
        path.chmod(stat.S_IMODE(path.stat().st_mode) | mask)
