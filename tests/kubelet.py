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
- pkg/volume/projected/projected.go, `collectData`: a serviceAccountToken file gets mode 0600 when the mounter has an
  FsUser or FsGroup ("When FsGroup is set, we depend on SetVolumeOwnership to change from 0600 to 0640"), else the
  volume's defaultMode (0644 by API default), and is owned by FsUser (pkg/volume/util/atomic_writer.go chowns a
  projection's file to its FsUser); FsUser is the pod's effective runAsUser when every container shares it
  (pkg/volume/util/util.go, `FsUserFrom`). Then `SetVolumeOwnership` as above (the projected mounter is read-only).
- The AKS workload identity webhook (Azure/azure-workload-identity pkg/webhook/webhook.go) projects the token into
  `/var/run/secrets/azure/tokens/azure-identity-token` of pods labelled `azure.workload.identity/use: "true"` and sets
  AZURE_CLIENT_ID (the service account's `azure.workload.identity/client-id`), AZURE_TENANT_ID,
  AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST.
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


TOKEN_MOUNT = "/var/run/secrets/azure/tokens"
TOKEN_FILE = "azure-identity-token"
PROJECTED_DEFAULT_MODE = 0o644


def fs_user(pod_spec: Mapping[str, Any]) -> int | None:
    """`FsUserFrom`: the runAsUser every container of the pod runs as, or None when they differ or none is set."""
    users = {container_identity(pod_spec, c).uid for c in pod_spec.get("containers") or []}
    set_somewhere = (pod_spec.get("securityContext") or {}).get("runAsUser") is not None or any(
        (c.get("securityContext") or {}).get("runAsUser") is not None for c in pod_spec.get("containers") or []
    )
    return users.pop() if set_somewhere and len(users) == 1 else None


def workload_identity_injection(pod_spec: Mapping[str, Any], client_id: str, tenant_id: str) -> dict[str, str]:
    """The variables the webhook adds to each container of a labelled pod."""
    return {
        "AZURE_CLIENT_ID": client_id,
        "AZURE_TENANT_ID": tenant_id,
        "AZURE_FEDERATED_TOKEN_FILE": f"{TOKEN_MOUNT}/{TOKEN_FILE}",
        "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/",
    }


def lay_out_projected_token(directory: Path, token: str, pod_spec: Mapping[str, Any]) -> None:
    """Write the service account token volume as the kubelet writes it for `pod_spec` into `directory`."""
    user = fs_user(pod_spec)
    group = (pod_spec.get("securityContext") or {}).get("fsGroup")
    mode = 0o600 if user is not None or group is not None else PROJECTED_DEFAULT_MODE
    lay_out_secret_volume(directory, {TOKEN_FILE: token}, mode, group)
    if user is not None:
        os.lchown(directory / _DATA_DIR / TOKEN_FILE, user, -1)


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
