"""One service's Azure Repos repository with the files the stack commits into it.

Files are committed one `GitRepositoryFile` at a time, each waiting for the previous one: every file is its own push
to `refs/heads/main`, and Azure Repos rejects a push whose parent is no longer the branch head (TF401028, "has already
been updated by another client"). The provider retries that error only within the create timeout (ten minutes by
default, terraform-provider-azuredevops `resource_git_repository_file.go`), so a few dozen files racing for one branch
can exhaust it; chained, each push starts from the head the previous one left. Other repositories are separate refs
and commit in parallel.

Branch policies on `main` turn direct pushes away, so after they exist the identity that runs `pulumi up` needs the
"Bypass policies when pushing" Git permission on these repositories to update a managed file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_azuredevops as azuredevops

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


def repository_contents(managed: Mapping[str, str], starter: Mapping[str, str]) -> dict[str, str]:
    """The stack's own files plus the starter's, sorted by path; one path from both would be two owners of a file."""
    clashes = sorted(set(managed) & set(starter))
    if clashes:
        raise ValueError(f"the service starter template must not contain files the stack renders itself: {clashes}")
    return dict(sorted({**starter, **managed}.items()))


@dataclass(frozen=True)
class ServiceRepositoryArgs:
    project_id: pulumi.Input[str]
    repository_name: str
    files: Mapping[str, str]
    # Paths of `files` that only seed the repository (the starter service): committed once, then the team's code.
    seeded: frozenset[str] = frozenset()
    # A Git URL to import the team's existing code from when the repository is created, and the ID of the project's
    # Git service connection that can read it when it is private.
    import_from: str | None = None
    import_connection_id: str | None = None
    # Refuse to delete the repository at all (prod): `pulumi state unprotect` first.
    protect: bool = False


class ServiceRepository(pulumi.ComponentResource):
    """A Git repository initialized with `main` and every file of `files` committed to it."""

    # Resolves once every file is committed: definitions read the files and policies would refuse later pushes.
    repository_id: pulumi.Output[str]
    web_url: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceRepositoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("aks-estate:devops:ServiceRepository", name, None, opts)
        repository = azuredevops.Git(
            f"{name}-repository",
            project_id=args.project_id,
            name=args.repository_name,
            # A Clean initialization pushes its first commit to the default branch, so `main` exists at once.
            default_branch=MAIN_BRANCH,
            initialization=azuredevops.GitInitializationArgs(
                init_type="Import",
                source_type="Git",
                source_url=args.import_from,
                service_connection_id=args.import_connection_id,
            )
            if args.import_from
            else azuredevops.GitInitializationArgs(init_type="Clean"),
            # The team's code and history: a service taken out of config leaves the stack, never Azure DevOps. The
            # provider replaces a repository whose initialization changes (terraform-provider-azuredevops
            # `resource_git_repository.go`, CustomizeDiff forces new on init_type, source_type and source_url): a
            # later change of how new repositories are seeded must never replace one holding a team's history.
            opts=pulumi.ResourceOptions(
                parent=self, retain_on_delete=True, protect=args.protect, ignore_changes=["initialization"]
            ),
        )
        commits: list[azuredevops.GitRepositoryFile] = []
        for path, content in args.files.items():
            # A seed file changed through pull requests must not be pushed back on the next `pulumi up --refresh`;
            # the pipelines and manifests stay the stack's to keep in step. No file is ever deleted by the stack:
            # one it stops managing is released as it is (a delete would be a commit the branch policies refuse).
            seed = path in args.seeded
            commits.append(
                azuredevops.GitRepositoryFile(
                    f"{name}-file-{path}",
                    repository_id=repository.id,
                    branch=MAIN_BRANCH,
                    file=path,
                    content=content,
                    commit_message=f"aks-estate: manage {path}",
                    # An imported repository may already hold the stack's files: the stack's version wins.
                    overwrite_on_create=path == INITIAL_COMMIT_FILE or args.import_from is not None,
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        depends_on=commits[-1:],
                        ignore_changes=["content"] if seed else None,
                        retain_on_delete=True,
                    ),
                )
            )
        self.repository_id = pulumi.Output.all(repository.id, commits[-1].id).apply(lambda ids: str(ids[0]))
        self.web_url = repository.web_url
        self.register_outputs({"repositoryId": self.repository_id, "webUrl": self.web_url})
