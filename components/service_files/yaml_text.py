"""YAML as the committed files carry it: safe dumping, scripts as literal blocks, no anchors, a managed-by header."""

from __future__ import annotations

from typing import Any

import yaml

from components.service_files.layout import HEADER, YAML_WIDTH


class _Dumper(yaml.SafeDumper):
    """Safe dumping, with scripts as literal blocks and no anchors (Azure Pipelines YAML does not support them)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_Dumper.add_representer(str, _represent_str)


def dump(document: dict[str, Any]) -> str:
    return HEADER + yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=YAML_WIDTH)


def dump_all(documents: list[dict[str, Any]]) -> str:
    return HEADER + yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, width=YAML_WIDTH)
