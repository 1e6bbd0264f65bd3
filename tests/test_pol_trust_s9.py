"""Red-team bypasses of the ninth session in Dockerfiles: what the builder makes of a
Dockerfile that the check read differently (r05: the build args and target CI and compose
give it). Each was a pull request that got a green check while the image ran as root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gatekeeper.change import scan_change
from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import load_policy_file
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext, dockerfile, dockerfile_builds
from gatekeeper.tree import MemoryTree
from tests.conftest import REPO
from tests.test_change import Repo

USER_POLICY = REPO / "policies" / "dockerfile" / "user-not-root.yaml"
DOCKERFILE = (
    "FROM alpine:3.20 AS debug\nUSER root\n\nFROM alpine:3.20\nARG APP_UID=10001\nUSER $APP_UID\n"
)


def workflow(run: str) -> str:
    return (
        "on: push\njobs:\n  image:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - uses: actions/checkout@v4\n      - run: {run}\n"
    )


def scan_tree(files: dict[str, str], entry: str = "docker/Dockerfile") -> list[tuple[Any, ...]]:
    tree = {name: text.encode() for name, text in files.items()}
    engine = Engine([load_policy_file(USER_POLICY)])
    found = scan([(entry, tree[entry])], engine, 1, LoadContext(tree=MemoryTree(tree))).findings
    return sorted((f.policy_id, f.file, f.line, f.message) for f in found)


def test_a_build_arg_or_target_given_by_a_workflow_is_judged() -> None:
    """`docker build --build-arg APP_UID=0` makes the last stage root; `--target debug` ships
    the root stage; a value only known when the workflow runs is left out."""
    plain = {"docker/Dockerfile": DOCKERFILE}
    assert scan_tree(plain) == []
    for run, line, message in [
        ("docker build --build-arg APP_UID=0 -f docker/Dockerfile .", 6, "runs as 0"),
        # the context from the folder `cd` went to (shell_dirs): x/../docker
        ("cd x && docker buildx build --build-arg=APP_UID=0 ../docker", 6, "runs as 0"),
        ("podman build --target debug -t web docker", 2, "target stage debug runs as root"),
    ]:
        files = {**plain, ".github/workflows/image.yml": workflow(run)}
        ((policy, file, at, said),) = scan_tree(files)
        assert (policy, file, at) == ("DOCKER-USER-NOT-ROOT", "docker/Dockerfile", line), run
        assert message in said
    unknown = workflow("docker build --build-arg APP_UID=${{ inputs.uid }} --target $T docker")
    assert scan_tree({**plain, ".github/workflows/image.yml": unknown}) == []
    missing = workflow("docker build --target nosuchstage docker")  # the build fails
    assert scan_tree({**plain, ".github/workflows/image.yml": missing}) == []


def test_a_target_built_only_to_export_its_files_is_no_image() -> None:
    """`docker build --target bin --output type=local,dest=dist` copies the stage's files
    out (Docker's documented way to export a binary; argo-rollouts' release script builds
    its build stage so): no container runs it, and "target stage ... runs as root" was a
    blocking high. An output that is an image (`type=image`, `--load`, `--push`), or one CI
    computes, is judged as before."""
    plain = {"docker/Dockerfile": DOCKERFILE}
    for run in [
        "docker build --target debug --output type=local,dest=dist docker",
        "docker buildx build --target debug -o dist docker",
        "podman build --target debug --output=type=tar,dest=out.tar docker",
    ]:
        assert scan_tree({**plain, ".github/workflows/image.yml": workflow(run)}) == [], run
    for run in [
        "docker buildx build --target debug -o type=image,name=web docker",
        "docker buildx build --target debug -o dist --push docker",
        "docker buildx build --target debug --load -o type=local,dest=dist docker",
        "docker build --target debug --output ${{ inputs.output }} docker",
    ]:
        files = {**plain, ".github/workflows/image.yml": workflow(run)}
        assert [f[:3] for f in scan_tree(files)] == [
            ("DOCKER-USER-NOT-ROOT", "docker/Dockerfile", 2)
        ], run
    action = (
        "on: push\njobs:\n  image:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: docker/build-push-action@v6\n"
        "        with:\n          context: docker\n          target: debug\n"
        "          outputs: type=local,dest=dist\n"
    )
    files = {"docker/Dockerfile": DOCKERFILE, ".github/workflows/image.yml": action}
    assert scan_tree(files) == []
    files[".github/workflows/image.yml"] = action + "          push: true\n"
    assert [f[:3] for f in scan_tree(files)] == [("DOCKER-USER-NOT-ROOT", "docker/Dockerfile", 2)]


def test_build_push_action_and_compose_build_sections_are_judged() -> None:
    action = (
        "on: push\njobs:\n  image:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: docker/build-push-action@v6\n"
        "        with:\n          context: docker\n          build-args: |\n"
        "            OTHER=1\n            APP_UID=0\n"
    )
    files = {"docker/Dockerfile": DOCKERFILE, ".github/workflows/image.yml": action}
    assert [f[:3] for f in scan_tree(files)] == [("DOCKER-USER-NOT-ROOT", "docker/Dockerfile", 6)]
    compose = "services:\n  web:\n    build: {context: docker, target: debug}\n"
    files = {"docker/Dockerfile": DOCKERFILE, "compose.yaml": compose}
    assert [f[:3] for f in scan_tree(files)] == [("DOCKER-USER-NOT-ROOT", "docker/Dockerfile", 2)]
    compose = (
        "services:\n  web:\n    build:\n      context: docker\n      args: ['APP_UID=${UID:-0}']\n"
    )
    tree = MemoryTree({"docker/Dockerfile": DOCKERFILE.encode(), "compose.yaml": compose.encode()})
    assert dockerfile_builds.builds(tree) == [
        dockerfile_builds.Build("docker/Dockerfile", "compose.yaml:3", "", {"APP_UID": "0"})
    ]
    context = LoadContext(tree=tree)
    assert dockerfile.owners("compose.yaml", context) == ["docker/Dockerfile"]
    assert dockerfile.owners("docker/Dockerfile", context) == []


def test_red_team_s12_t09_docker_bake_targets_give_build_args() -> None:
    """`docker buildx bake` (docker/bake-action) builds each target of docker-bake.hcl or
    .json with its args and target, over those of the targets it inherits: APP_UID=0 there
    passed green. A Bake variable (`${UID}`) is unknown and left out."""
    bake = (
        'variable "UID" {\n  default = "0"\n}\n'  # 1-3
        'target "base" {\n  args = { APP_UID = "0", OTHER = "1" }\n}\n'  # 4-6
        'target "web" {\n'  # 7
        '  inherits   = ["base"]\n'  # 8
        '  context    = "docker"\n'  # 9
        '  args       = { OTHER = "2" }\n'  # 10
        "}\n"  # 11
        'target "unknown" {\n  context = "docker"\n  args = { APP_UID = "${UID}" }\n}\n'
    )
    files = {"docker/Dockerfile": DOCKERFILE, "docker-bake.hcl": bake}
    assert [f[:3] for f in scan_tree(files)] == [("DOCKER-USER-NOT-ROOT", "docker/Dockerfile", 6)]
    tree = MemoryTree({name: text.encode() for name, text in files.items()})
    web = dockerfile_builds.Build(
        "docker/Dockerfile", "docker-bake.hcl:7", "", {"APP_UID": "0", "OTHER": "2"}
    )
    assert web in dockerfile_builds.builds(tree)  # any target may be built: `bake base` too
    bake_json = '{"target": {"debug": {"context": "docker", "target": "debug"}}}\n'
    files = {"docker/Dockerfile": DOCKERFILE, "ci/docker-bake.json": bake_json}
    assert [f[:3] for f in scan_tree(files)] == []  # context relative to the file: ci/docker
    files = {"ci/docker/Dockerfile": DOCKERFILE, "ci/docker-bake.json": bake_json}
    found = scan_tree(files, "ci/docker/Dockerfile")
    assert [f[:3] for f in found] == [("DOCKER-USER-NOT-ROOT", "ci/docker/Dockerfile", 2)]


def test_a_pull_request_changing_only_the_build_args_rejudges_the_dockerfile(
    tmp_path: Path,
) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write("Dockerfile", "FROM alpine:3.20\nHEALTHCHECK CMD true\nARG UID=10001\nUSER $UID\n")
    repo.write(".github/workflows/image.yml", workflow("docker build -t web ."))
    repo.commit("base")
    repo.branch("pr")
    repo.write(".github/workflows/image.yml", workflow("docker build --build-arg UID=0 -t web ."))
    repo.commit("pr")
    findings = scan_change(repo.root, "main").verdict.findings
    assert ("DOCKER-USER-NOT-ROOT", "Dockerfile", 4) in [
        (f.policy_id, f.file, f.line) for f in findings
    ]


def test_a_branch_taken_from_the_second_helm_revision_is_judged() -> None:
    """r22: `{{ if gt .Release.Revision 1 }}` is every upgrade after the first install: the
    upgrade rendering has Revision 2 (one that never asks keeps rendering once)."""
    from tests.test_helm_cluster_apis import CHART, deployment
    from tests.test_helm_lookup import findings

    for condition in ("gt (int .Release.Revision) 1", "ne .Release.Revision 1"):
        files = {"web/Chart.yaml": CHART, "web/templates/deploy.yaml": deployment(condition)}
        assert [(f.line, f.extra["variants"]) for f in findings(files)] == [
            (17, ["helm web --is-upgrade"])
        ], condition


def test_a_syntax_directive_naming_another_frontend_is_said_not_judged() -> None:
    """A `# syntax=` line hands the file to another BuildKit frontend image: what it builds
    is not what is judged here, so it is a finding at that line, not silence."""

    def problems(text: str) -> list[tuple[str, int]]:
        loaded = dockerfile.load("Dockerfile", text.encode(), LoadContext())
        return [(p.code, p.line) for p in loaded.problems]

    body = "FROM alpine:3.20\nUSER 10001\n"
    for judged in (
        "# syntax=docker/dockerfile:1\n",
        "# syntax = docker.io/docker/dockerfile:1.7-labs@sha256:" + "0" * 64 + "\n",
        "#!/usr/bin/env buildctl\n# escape=`\n#syntax=docker/dockerfile-upstream:master\n",
        "\n# syntax=ghcr.io/acme/frontend:1\n",  # not a directive after a blank line
        "  # syntax=ghcr.io/acme/frontend:1\n",  # nor indented
    ):
        assert problems(judged + body) == [], judged
    for other, line in (
        ("# syntax=ghcr.io/acme/frontend:1\n", 1),
        ("# check=skip=all\n# syntax=tonistiigi/dockerfile:latest\n", 2),
        ("// syntax=docker/dockerfile-evil:1\n", 1),
    ):
        assert ("GK-DOCKERFILE-FRONTEND", line) in problems(other + body), other


def test_a_compose_inline_dockerfile_is_judged_at_its_lines() -> None:
    """`build.dockerfile_inline` is a Dockerfile Compose builds: judged as one, at the lines
    of the compose file that hold it (a quoted string: at its key)."""
    compose = (
        "services:\n"
        "  web:\n"
        "    build:\n"
        "      context: .\n"
        "      dockerfile_inline: |\n"
        "        FROM alpine:3.20\n"
        "        USER 10001\n"
        "        USER root\n"
        "  api:\n"
        '    build: {dockerfile_inline: "FROM alpine:3.20\\nUSER \\"0\\""}\n'
        "  ok:\n"
        '    build: {dockerfile_inline: "FROM alpine:3.20\\nUSER 10001"}\n'
    )
    engine = Engine([load_policy_file(USER_POLICY)])
    data = compose.encode()
    context = LoadContext(tree=MemoryTree({"compose.yaml": data}))
    found = scan([("compose.yaml", data)], engine, 1, context).findings
    assert sorted((f.policy_id, f.line, f.name) for f in found) == [
        ("DOCKER-USER-NOT-ROOT", 8, "compose.yaml services.web"),
        ("DOCKER-USER-NOT-ROOT", 10, "compose.yaml services.api"),
    ]
