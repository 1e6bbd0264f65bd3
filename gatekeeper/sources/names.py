"""What the source adapters own by a path's name alone, apart from the adapters themselves.

Importing an adapter costs milliseconds (Helm's, the workflows' and Kustomize's bring their
renderers, shell parsers and regular expressions); a hook on one manifest needs two of seven.
The registry (gatekeeper.sources) asks these name tests which adapter owns a file and which
may own more files for it, and imports an adapter only when it is needed; the adapters use
the same tests, so there is one definition of each.
"""

from __future__ import annotations

import functools
import posixpath
from typing import TYPE_CHECKING

from gatekeeper import lazy_re

if TYPE_CHECKING:
    from gatekeeper.tree import Tree

CHART_FILE = "Chart.yaml"
# Said after the rendering's name (`helm charts/web`) of a chart's test hook's findings, which
# inform and never block (pipeline.advisory): install and upgrade never apply it.
TEST_HOOK_VARIANT = " (a test hook: only `helm test` creates it)"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

WORKFLOW_GITHUB = "GitHubWorkflow"
WORKFLOW_GITLAB = "GitLabCI"
WORKFLOW_ACTION = "GitHubAction"  # action.yml: a composite action's steps run like a job's


def parents(path: str) -> list[str]:
    """The directories above `path`, innermost first (`a/b/c.yaml` -> `a/b`, `a`).

    Stops at the root of an absolute path too, where dirname() no longer changes it.
    """
    found = []
    directory = posixpath.dirname(path)
    while directory and directory not in found:
        found.append(directory)
        directory = posixpath.dirname(directory)
    return found


@functools.lru_cache(maxsize=1 << 10)
def workflow_kind(path: str) -> str:
    """WORKFLOW_GITHUB, WORKFLOW_GITLAB or WORKFLOW_ACTION, or "" for any other file (asked
    of every file four times a scan, twice in a row: the latest answers are remembered, not
    all: 27,000 paths' answers were 5 MB of the 8x corpus's peak)."""
    name = posixpath.basename(path)
    directory = posixpath.dirname(path)
    if directory == ".github/workflows" or directory.endswith("/.github/workflows"):
        return WORKFLOW_GITHUB if name.endswith((".yml", ".yaml")) else ""
    if name == ".gitlab-ci.yml":
        return WORKFLOW_GITLAB
    if name in ("action.yml", "action.yaml"):
        return WORKFLOW_ACTION
    return _ci_kind(name, directory)


# Other CI systems' pipelines (gatekeeper.sources.workflow_ci).
CI_CLOUD_BUILD = "CloudBuild"
CI_AZURE = "AzurePipelines"
CI_BITBUCKET = "BitbucketPipelines"
CI_CIRCLECI = "CircleCI"
CI_DRONE = "DronePipeline"
CI_BUILDKITE = "BuildkitePipeline"
CI_TRAVIS = "TravisCI"
CI_JENKINS = "Jenkinsfile"
CI_WOODPECKER = "WoodpeckerPipeline"
CI_TEKTON = "TektonPipeline"


# Folders of Azure pipelines and their templates (a pipeline may have any name: these are
# where they are kept, `.pipelines` by Microsoft's own repositories).
_AZURE_FOLDERS = frozenset({".azure-pipelines", ".azuredevops", "azure-pipelines", ".pipelines"})


@functools.lru_cache(maxsize=1 << 10)
def ci_kind(path: str) -> str:
    """Another CI system's pipeline (gatekeeper.sources.workflow_ci), or "" (remembered)."""
    return _ci_kind(posixpath.basename(path), posixpath.dirname(path))


def _ci_kind(name: str, folder: str) -> str:
    """ci_kind of the file `name` in `folder` (split once: asked of every file, thrice)."""
    if "cloudbuild" in name.lower() and name.endswith((".yaml", ".yml", ".json")):
        return CI_CLOUD_BUILD  # cloudbuild.yaml, cloudbuild-prod.yaml, deploy.cloudbuild.yml
    yaml = name.endswith((".yml", ".yaml"))
    parent = posixpath.basename(folder)
    if yaml and (
        name.startswith(("azure-pipelines", ".vsts-ci."))  # azure-pipelines-prod.yml
        or name.endswith((".azure-pipelines.yml", ".azure-pipelines.yaml"))
        or parent in _AZURE_FOLDERS
    ):
        return CI_AZURE
    if name == "bitbucket-pipelines.yml":
        return CI_BITBUCKET
    if parent == ".circleci" and name.endswith((".yml", ".yaml")):
        return CI_CIRCLECI  # config.yml and a dynamic configuration's continue_config.yml
    if name in (".drone.yml", ".drone.yaml"):
        return CI_DRONE
    if name in (".woodpecker.yml", ".woodpecker.yaml") or (yaml and parent == ".woodpecker"):
        return CI_WOODPECKER  # Woodpecker CI (Drone's fork): .woodpecker.yml, .woodpecker/*
    if yaml and ".tekton" in folder.split("/"):
        return CI_TEKTON  # Tekton Pipelines-as-Code: .tekton/*.yaml, run on repository events
    if yaml and (parent == ".buildkite" or name.startswith("buildkite.")):
        return CI_BUILDKITE  # .buildkite/pipeline.yml (and pipeline.*.yml), buildkite.yml
    if name == ".travis.yml":
        return CI_TRAVIS
    if name == "Jenkinsfile" or name.startswith("Jenkinsfile.") or name.endswith(
        (".jenkinsfile", ".Jenkinsfile")
    ):
        return CI_JENKINS
    return ""


# Files a step may run or read recipes from, besides any script: data files are not.
RECIPE_FILES = frozenset(
    {"Makefile", "makefile", "GNUmakefile", "justfile", "Justfile", ".justfile", "package.json",
     "Taskfile.yml", "Taskfile.yaml", "taskfile.yml", "taskfile.yaml"}
)  # fmt: skip
# What workflow_scripts follows besides those: scripts by their suffix, or a `#!` line.
SCRIPT_SUFFIXES = frozenset(
    {".sh", ".bash", ".zsh", ".ksh", ".py", ".js", ".mjs", ".cjs", ".ts", ".pl", ".rb", ".php",
     ".ps1"}
)  # fmt: skip


def followable(path: str, tree: Tree) -> bool:
    """Whether a workflow may run `path` (checked before the tree's workflows are loaded:
    CODEOWNERS, LICENSE or a Dockerfile changed alone should not cost that)."""
    name = posixpath.basename(path)
    if name in RECIPE_FILES or posixpath.splitext(name)[1] in SCRIPT_SUFFIXES:
        return True
    if posixpath.splitext(name)[1]:
        return False
    try:  # `./release`: a script without a suffix starts with `#!`
        return tree.read(path)[:2] == b"#!"
    except OSError:
        return False


# `Dockerfile.<suffix>` names a variant (Dockerfile.prod, Dockerfile.alpine) unless the suffix is
# another format's extension: dockerfile.py is the Python module that writes Dockerfiles.
NOT_A_VARIANT = frozenset(
    {
        # documentation, backups, editor files
        "md", "txt", "rst", "adoc", "html", "orig", "bak", "swp", "tmp", "old", "dockerignore",
        # source code and its tests
        "py", "pyc", "pyi", "go", "js", "mjs", "cjs", "ts", "tsx", "jsx", "rb", "rs", "java",
        "kt", "scala", "cs", "php", "pl", "lua", "c", "h", "cc", "cpp", "hpp", "swift", "sh",
        "bash", "zsh", "ps1", "bat", "cmd", "snap", "spec", "test",
        # data, configuration and templates (rendered elsewhere, not built as they are)
        "json", "yaml", "yml", "toml", "ini", "cfg", "conf", "xml", "csv", "lock", "sum",
        "j2", "jinja", "jinja2", "tpl", "tmpl", "template", "mustache", "hbs", "erb", "gotmpl",
        "sample", "example", "dist", "in",
    }
)  # fmt: skip


def is_dockerfile(path: str) -> bool:
    """Dockerfile, Containerfile (any case), `<name>.Dockerfile`, `Dockerfile.<variant>`, and
    `Dockerfile-<variant>`/`Dockerfile_<variant>` (`docker build -f docker/Dockerfile-api`)."""
    name = posixpath.basename(path).lower()
    if name in ("dockerfile", "containerfile"):
        return True
    for base in ("dockerfile", "containerfile"):
        if name[len(base) : len(base) + 1] in ("-", "_") and name.startswith(base):
            suffix = name.rpartition(".")[2] if "." in name else ""
            return suffix not in NOT_A_VARIANT
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        return False
    if suffix in ("dockerfile", "containerfile"):
        return True  # api.Dockerfile
    first = name.split(".", 1)[0]
    return first in ("dockerfile", "containerfile") and suffix not in NOT_A_VARIANT


def is_chart(path: str) -> bool:
    return posixpath.basename(path) == CHART_FILE


def is_kustomization(path: str) -> bool:
    return posixpath.basename(path) in KUSTOMIZATION_FILES


# How a kustomize base's render error names the builds it fails (gatekeeper.sources.kustomize
# says it; gatekeeper.overlaps merges the errors of one root cause): here, so that a scan
# with a render error of a chart does not import the Kustomize adapter to look for it.
KUSTOMIZE_BREAKS = " (breaks the build of "

# Docker Compose files (gatekeeper.sources.compose), and the names it looks for beside or
# above a file that one may include or build.
COMPOSE_DEFAULT_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_COMPOSE_NAMES = lazy_re.compile(r"^(docker-)?compose(\.[\w.-]+)?\.ya?ml$")


def is_compose_file(path: str) -> bool:
    return bool(_COMPOSE_NAMES.match(posixpath.basename(path).lower()))


# Terragrunt configurations (gatekeeper.sources.terragrunt), and the Terraform files whose
# owners gatekeeper.sources.terraform looks for (the code a variable file gives values to).
TERRAGRUNT_NAMES = ("terragrunt.hcl", "terragrunt.hcl.json", "terragrunt.stack.hcl")
TERRAFORM_OWNED_SUFFIXES = (".tfvars", ".tfvars.json", ".tf", ".tofu")


TF_SUFFIXES = (".tf", ".tf.json", ".tofu", ".tofu.json")


def is_terraform(path: str) -> bool:
    """Terraform (and OpenTofu) code, a plan in JSON, a Terragrunt configuration
    (gatekeeper.sources.terraform). `.terraform/` holds the providers and modules
    `terraform init` downloaded: not the repository's code."""
    if ".terraform" in path.split("/"):
        return False
    return path.endswith(TF_SUFFIXES) or is_plan_name(path) or is_terragrunt(path)


def is_plan_name(path: str) -> bool:
    """`plan.json`, `tfplan.json`, `x.tfplan.json`, `x.plan.json`: what plans are called."""
    return posixpath.basename(path).lower().endswith("plan.json")


def is_terragrunt(path: str) -> bool:
    """A Terragrunt configuration (sources.terragrunt: terragrunt.hcl, its JSON spelling, a
    stack), not one of its cache's copies."""
    return posixpath.basename(path) in TERRAGRUNT_NAMES and ".terragrunt-cache" not in path


HELMFILES = frozenset({"helmfile.yaml", "helmfile.yml", "helmfile.yaml.gotmpl"})
FLEET_FILES = frozenset({"fleet.yaml", "fleet.yml"})
SKAFFOLD_FILES = frozenset({"skaffold.yaml", "skaffold.yml"})
_RELEASE_FILES = HELMFILES | FLEET_FILES | SKAFFOLD_FILES


def is_release_file(path: str) -> bool:
    """helmfile, Fleet and Skaffold files (gatekeeper.sources.release_files)."""
    name = posixpath.basename(path)
    if name in _RELEASE_FILES:
        return True
    folder = posixpath.basename(posixpath.dirname(path))
    return folder == "helmfile.d" and name.endswith((".yaml", ".yml", ".gotmpl"))


PULUMI_PROGRAMS = frozenset({"Pulumi.yaml", "Pulumi.yml", "Main.yaml", "Main.yml"})


def is_pulumi_program(path: str) -> bool:
    """A Pulumi YAML program's file, by name (gatekeeper.sources.pulumi reads its runtime)."""
    return posixpath.basename(path) in PULUMI_PROGRAMS


def is_tanka_entry(path: str) -> bool:
    """A Jsonnet file: maybe a Tanka inline environment (gatekeeper.sources.tanka): `tk
    apply` takes a folder's main.jsonnet or any file named (red team s11)."""
    return path.endswith((".jsonnet", ".libsonnet"))
