"""Azure Repos repositories the stack creates, and the files it commits into them.

Files are committed one `GitRepositoryFile` at a time, each waiting for the previous one: every file is its own push
to `refs/heads/main`, and Azure Repos rejects a push whose parent is no longer the branch head (TF401028, "has already
been updated by another client"). The provider retries that error only within the create timeout (ten minutes by
default, terraform-provider-azuredevops `resource_git_repository_file.go`), so files racing for one branch can exhaust
it; chained, each push starts from the head the previous one left. Other repositories are separate refs and commit in
parallel.

A service repository costs one operation to seed: it is forked from the starter repository (`init_type = "Fork"` with
`parent_repository_id`, a server-side copy that needs no credential, resource_git_repository.go), imported from the
team's own code, or created clean; the stack then commits only the three thin entry pipelines.

Branch policies on `main` turn direct pushes away, so after they exist the identity that runs `pulumi up` needs the
"Bypass policies when pushing" Git permission on these repositories to update a managed file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_azuredevops as azuredevops

from components.component import Component

MAIN_BRANCH = "refs/heads/main"
STARTER_TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "service"
# Tool caches that a local test or lint run of the template leaves behind; they are no part of the starter.
CACHE_DIRECTORIES = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".hypothesis"})
CACHE_SUFFIXES = frozenset({".pyc"})
# The Clean initialization commits this one file (its content is the project name) to create the branch; a managed
# file of the same path replaces it instead of failing on `overwrite_on_create=False`.
INITIAL_COMMIT_FILE = "README.md"


def starter_files(root: Path = STARTER_TEMPLATE_DIR) -> dict[str, str]:
    """Repository path -> content of every file of the starter service, sorted by path, caches left out."""
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or CACHE_DIRECTORIES.intersection(relative.parts) or path.suffix in CACHE_SUFFIXES:
            continue
        try:
            files[relative.as_posix()] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValueError(
                f"{path} is not UTF-8 text: Azure Repos file commits carry text only, so the starter cannot hold it"
            ) from None
    return files


def commit_files(
    name: str,
    repository_id: pulumi.Input[str],
    files: Mapping[str, pulumi.Input[str]],
    parent: pulumi.Resource,
    *,
    overwrite_on_create: bool = False,
) -> list[azuredevops.GitRepositoryFile]:
    """Every file of `files` committed to `main` in turn."""
    commits: list[azuredevops.GitRepositoryFile] = []
    for path, content in files.items():
        # No file is ever deleted by the stack: one it stops managing is released as it is (a delete would be a
        # commit the branch policies refuse, and the file may be the team's by now).
        commits.append(
            azuredevops.GitRepositoryFile(
                f"{name}-file-{path}",
                repository_id=repository_id,
                branch=MAIN_BRANCH,
                file=path,
                content=content,
                commit_message=f"aks-estate: manage {path}",
                overwrite_on_create=overwrite_on_create or path == INITIAL_COMMIT_FILE,
                opts=pulumi.ResourceOptions(
                    parent=parent,
                    depends_on=commits[-1:],
                    retain_on_delete=True,
                ),
            )
        )
    return commits


def after(repository_id: pulumi.Output[str], commits: list[azuredevops.GitRepositoryFile]) -> pulumi.Output[str]:
    """The repository's ID, resolving once the last commit is in: what reads the files must wait for them."""
    if not commits:
        return repository_id
    return pulumi.Output.all(repository_id, commits[-1].id).apply(lambda ids: str(ids[0]))


@dataclass(frozen=True)
class ServiceRepositoryArgs:
    project_id: pulumi.Input[str]
    repository_name: str
    # The entry pipelines; everything else in the repository is the team's.
    files: Mapping[str, pulumi.Input[str]]
    # The starter repository to fork a new repository from (the starter service), once its files are committed.
    fork_from: pulumi.Input[str] | None = None
    # A Git URL to import the team's existing code from when the repository is created, and the ID of the project's
    # Git service connection that can read it when it is private.
    import_from: str | None = None
    import_connection_id: str | None = None
    # Refuse to delete the repository at all (prod): `pulumi state unprotect` first.
    protect: bool = False


class ServiceRepository(Component):
    """A service's Git repository, seeded in one operation, with the stack's entry pipelines committed to it."""

    # Resolves once every file is committed: definitions read the files and policies would refuse later pushes.
    repository_id: pulumi.Output[str]
    web_url: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceRepositoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:ServiceRepository", name, opts)
        if args.import_from:
            initialization = azuredevops.GitInitializationArgs(
                init_type="Import",
                source_type="Git",
                source_url=args.import_from,
                service_connection_id=args.import_connection_id,
            )
        elif args.fork_from is not None:
            initialization = azuredevops.GitInitializationArgs(init_type="Fork")
        else:
            # A Clean initialization pushes its first commit to the default branch, so `main` exists at once.
            initialization = azuredevops.GitInitializationArgs(init_type="Clean")
        repository = azuredevops.Git(
            f"{name}-repository",
            project_id=args.project_id,
            name=args.repository_name,
            default_branch=MAIN_BRANCH,
            initialization=initialization,
            parent_repository_id=args.fork_from if not args.import_from else None,
            # The team's code and history: a service taken out of config leaves the stack, never Azure DevOps. The
            # provider replaces a repository whose initialization changes (terraform-provider-azuredevops
            # `resource_git_repository.go`, CustomizeDiff forces new on init_type, source_type and source_url): how a
            # repository was seeded matters only when it is created, and must never replace one holding history.
            opts=pulumi.ResourceOptions(
                parent=self,
                retain_on_delete=True,
                protect=args.protect,
                ignore_changes=["initialization", "parentRepositoryId"],
            ),
        )
        # An imported repository may already hold the stack's files: the stack's version wins.
        commits = commit_files(name, repository.id, args.files, self, overwrite_on_create=args.import_from is not None)
        self.repository_id = after(repository.id, commits)
        self.web_url = repository.web_url
        self.register_outputs({"repositoryId": self.repository_id, "webUrl": self.web_url})
