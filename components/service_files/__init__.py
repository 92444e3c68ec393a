"""What the stack commits to Azure Repos; pure Python, no Pulumi.

The pipeline templates repository (`platform.templates_repository_files`): the PR, CI and CD templates, their step
templates (static files under `pipelines/platform/steps/`) and the manifest renderer. Each service repository gets
three thin entry pipelines (`entry.entry_pipelines`) that extend them. Tests and the offline preview call both
directly.
"""

from __future__ import annotations

from components.service_files.entry import entry_pipelines
from components.service_files.platform import templates_repository_files

__all__ = ["entry_pipelines", "templates_repository_files"]
