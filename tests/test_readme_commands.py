"""The README's real path, command by command, against what the real CLI accepts (issue 16).

Where each rule comes from:
- Backend URL: pulumi `pkg/backend/diy/backend.go` opens the login URL with go-cloud's azblob opener and stores that URL
  as the current backend; go-cloud `blob/azureblob/azureblob.go` takes the account from the `storage_account` query
  parameter (or AZURE_STORAGE_ACCOUNT in the environment of *that* command only), refuses any other query parameter
  ("unknown query parameter"), and `NewServiceURL` fails with "azureblob: Options.AccountName is required" without one.
  So the account belongs in the URL. Each stack has its own container `state-<stack>` (the IaC contract).
- Secrets: one Key Vault key per stack, `azurekeyvault://<vault>.vault.azure.net/keys/pulumi-<stack>`, given at
  `pulumi stack init` (it is recorded in the stack file).
- Policy pack: the CLI runs a local pack from its own virtualenv and does not create it; `pulumi install` in the pack's
  directory does (policy/requirements.txt), and `policy/venv/` must not be committed.
- Azure DevOps: terraform-provider-azuredevops `azuredevops/provider.go` `GetAuthProvider` uses a personal access token
  first when one is configured, otherwise Entra ID credentials with `use_cli` (ARM_USE_CLI) on by default: `az login`.
"""

from __future__ import annotations

import re
import shlex
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from tools.capture import ROOT

SECTION = "## The real path"
_KEY_URL = re.compile(r"azurekeyvault://<vault>\.vault\.azure\.net/keys/pulumi-(?P<stack>[a-z0-9-]+)")
INSTALL = "(cd policy && pulumi install)"


def real_path(readme: str) -> str:
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    return readme[start : end if end != -1 else len(readme)]


def subsection(readme: str, heading: str) -> str:
    """One `### ` part of the real path: the estate's stacks are set up under FIRST_UP, their roles listed under
    PREREQUISITES (the bootstrap's own state, under "Bootstrap", follows other rules)."""
    section = real_path(readme)
    start = section.index(heading)
    end = section.find("\n### ", start + len(heading))
    return section[start : end if end != -1 else len(section)]


FIRST_UP = "### First `pulumi up`"
PREREQUISITES = "### Prerequisites"


def code_blocks(section: str) -> list[list[str]]:
    """Each bash block's commands, comments dropped."""
    blocks = re.findall(r"```bash\n(.*?)```", section, re.DOTALL)
    return [[line.split(" #", 1)[0].strip() for line in block.splitlines() if line.strip()] for block in blocks]


def _words(command: str) -> list[str]:
    return shlex.split(command, comments=True)


def login_problems(words: list[str]) -> tuple[str | None, list[str]]:
    if any("=" in word and word.split("=", 1)[0].isupper() for word in words[: words.index("pulumi")]):
        return None, [f"{shlex.join(words)}: the account must be in the URL, not the command's environment"]
    url = urlparse(words[-1])
    query = parse_qs(url.query)
    stack = url.netloc.removeprefix("state-")
    problems = []
    if url.scheme != "azblob" or not url.netloc.startswith("state-") or url.path:
        problems.append(f"{words[-1]}: the backend must be the stack's container azblob://state-<stack>")
    if set(query) != {"storage_account"} or not query["storage_account"][0]:
        problems.append(f"{words[-1]}: the URL must name the account as its only query parameter storage_account")
    return stack, problems


def init_problems(line: str, words: list[str], logged_in: str | None) -> list[str]:
    stack = words[3]
    problems = []
    if logged_in != stack:
        problems.append(f"{line}: stack {stack} must live in its own container state-{stack}")
    provider = words[words.index("--secrets-provider") + 1] if "--secrets-provider" in words else ""
    match = _KEY_URL.fullmatch(provider)
    if not match or match["stack"] != stack:
        problems.append(f"{line}: the stack's secrets provider must be its own key pulumi-{stack}")
    return problems


def block_problems(block: list[str]) -> list[str]:
    """One bash block, in order: which backend is current, whether the pack is installed, whether a stack file has
    uncommitted `pulumi config set` changes."""
    problems: list[str] = []
    logged_in: str | None = None
    installed = False
    configured: str | None = None
    for line in block:
        if "personalAccessToken" in line or "AZDO_PERSONAL_ACCESS_TOKEN" in line:
            problems.append(f"{line}: no personal access token; the provider signs in with az login")
        words = _words(line)
        if "login" in words and words[words.index("login") - 1] == "pulumi":
            logged_in, found = login_problems(words)
            problems += found
        if words[:3] == ["pulumi", "stack", "init"]:
            problems += init_problems(line, words, logged_in)
            configured = words[3]
        if words[:3] == ["pulumi", "config", "set"]:
            configured = configured or logged_in
        if words[:2] == ["git", "add"] and f"Pulumi.{configured}.yaml" in words:
            configured = None
        installed = installed or line == INSTALL
        if "--policy-pack" in words:
            if not installed:
                problems.append(f"{line}: {INSTALL} must come before every --policy-pack policy")
            if configured:
                problems.append(f"{line}: commit Pulumi.{configured}.yaml after `pulumi config set`")
    return problems


def readme_problems(readme: str, gitignore: str, stack_files: dict[str, str]) -> list[str]:
    blocks = code_blocks(subsection(readme, FIRST_UP))
    problems = [problem for block in blocks for problem in block_problems(block)]
    first = blocks[0] if blocks else []
    before_login = first[: next((i for i, line in enumerate(first) if "pulumi login" in line), 0)]
    if not any(line.startswith("az login") for line in before_login):
        problems.append("the real path must sign in with az login before pulumi login")
    if not any("config set azure-native:subscriptionId" in line for line in first):
        problems.append("the real path must set azure-native:subscriptionId")
    if "policy/venv/" not in gitignore.splitlines():
        problems.append(".gitignore must ignore policy/venv/")
    for role in ("Storage Blob Data Contributor", "Key Vault Crypto User"):
        if role not in " ".join(subsection(readme, PREREQUISITES).split()):
            problems.append(f"the real path must name the data-plane role {role}")
    for name, content in stack_files.items():
        value = (yaml.safe_load(content).get("config") or {}).get("azure-native:subscriptionId")
        try:
            uuid.UUID(str(value))
        except ValueError:
            problems.append(f"{name} must name azure-native:subscriptionId (a GUID), not {value!r}")
    return problems


def _inputs() -> tuple[str, str, dict[str, str]]:
    stack_files = {name: (ROOT / name).read_text() for name in ("Pulumi.dev.yaml", "Pulumi.prod.yaml")}
    return (ROOT / "README.md").read_text(), (ROOT / ".gitignore").read_text(), stack_files


def test_the_readmes_real_path_follows_the_clis_rules() -> None:
    readme, gitignore, stack_files = _inputs()
    assert readme_problems(readme, gitignore, stack_files) == []
    # The check read the commands: both stacks' logins and inits are there.
    commands = [line for block in code_blocks(subsection(readme, FIRST_UP)) for line in block]
    assert sum("pulumi stack init" in line for line in commands) == 2
    assert sum(line.startswith("pulumi login 'azblob://state-") for line in commands) == 2


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "pulumi login 'azblob://state-dev?storage_account=<account>'",
            "AZURE_STORAGE_ACCOUNT=<account> pulumi login azblob://state-dev",
            "the account must be in the URL",
        ),
        ("pulumi login 'azblob://state-dev?storage_account=<account>'", "pulumi login azblob://state-dev", "query"),
        ("azblob://state-prod?storage_account=<account>", "azblob://state?storage_account=<account>", "container"),
        ("azblob://state-prod?storage_account", "azblob://state-dev?storage_account", "own container state-prod"),
        ("keys/pulumi-prod'", "keys/pulumi-dev'", "own key pulumi-prod"),
        ("pulumi stack init dev --secrets-provider", "pulumi stack init dev --x", "own key pulumi-dev"),
        ("(cd policy && pulumi install)      #", "pulumi plugin install      #", "must come before every"),
        ("git add Pulumi.prod.yaml && ", "", "commit Pulumi.prod.yaml"),
        ("pulumi config set aks-estate:devopsOrganization myorg", "export AZDO_PERSONAL_ACCESS_TOKEN=x", "no personal"),
        (
            "az login                                  #",
            "az version                                #",
            "az login before",
        ),
        ("pulumi config set azure-native:subscriptionId <subscription-id>   #", "#", "azure-native:subscriptionId"),
        ("*Key Vault Crypto User*", "*Key Vault Reader*", "Key Vault Crypto User"),
    ],
)
def test_a_broken_readme_command_is_reported(old: str, new: str, expected: str) -> None:
    readme, gitignore, stack_files = _inputs()
    assert old in real_path(readme)
    broken = readme.replace(old, new, 1)
    assert any(expected in problem for problem in readme_problems(broken, gitignore, stack_files))


def test_policy_venv_ignored_and_stack_files_name_their_subscription() -> None:
    readme, gitignore, stack_files = _inputs()
    unignored = gitignore.replace("policy/venv/\n", "")
    assert ".gitignore must ignore policy/venv/" in readme_problems(readme, unignored, stack_files)
    unnamed = {
        **stack_files,
        "Pulumi.prod.yaml": stack_files["Pulumi.prod.yaml"].replace("azure-native:subscriptionId", "x"),
    }
    assert any("Pulumi.prod.yaml must name" in problem for problem in readme_problems(readme, gitignore, unnamed))
