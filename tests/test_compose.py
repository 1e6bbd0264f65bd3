from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from gatekeeper.sources import LoadContext, compose
from gatekeeper.tree import MemoryTree
from tests.conftest import Run

COMPOSE = """\
services:
  web:
    image: ghcr.io/acme/web:1.0
    environment:
      - LOG_LEVEL=debug
      - API_TOKEN
  db:
    image: ${DB_IMAGE}
    environment:
      POSTGRES_PASSWORD: example
      DEBUG: true
  app:
    build: .
"""


def test_environment_vars_are_normalised_and_located() -> None:
    loaded = compose.load("compose.yaml", COMPOSE.encode(), LoadContext())
    assert loaded.problems == []
    (document,) = loaded.documents
    assert document.kind == "Compose"
    web = document.obj["services"]["web"]
    db = document.obj["services"]["db"]
    assert web["environment_vars"] == [
        {"name": "LOG_LEVEL", "value": "debug"},
        {"name": "API_TOKEN", "value": None},
    ]
    assert db["environment_vars"][1] == {"name": "DEBUG", "value": "true"}
    locate = document.locator.locate
    assert locate(("services", "web", "environment_vars", 1)).line == 6
    assert locate(("services", "db", "environment_vars", 0)).line == 10
    assert locate(("services", "db", "image")).line == 8


def test_images_skip_variables_and_build_only_services() -> None:
    (document,) = compose.load("compose.yaml", COMPOSE.encode(), LoadContext()).documents
    assert compose.images(document) == [("ghcr.io/acme/web:1.0", ("services", "web", "image"))]


def test_not_a_mapping_is_a_problem() -> None:
    loaded = compose.load("compose.yaml", b"[1, 2]\n", LoadContext())
    assert [(p.code, p.line) for p in loaded.problems] == [("GK-PARSE-ERROR", 1)]


def test_wrong_shapes_are_problems() -> None:
    text = b"services:\n  a: 5\n  b:\n    image: [x]\n    privileged: true\n"
    loaded = compose.load("compose.yaml", text, LoadContext())
    assert [(p.line, p.message) for p in loaded.problems] == [
        (2, "invalid compose file: services.a must be a mapping"),
        (4, "invalid compose file: services.b.image must be a string"),
    ]
    (document,) = loaded.documents
    assert document.obj["services"]["a"] == {}


def test_extends_and_include_are_judged_as_compose_merges_them() -> None:
    """A service extending a privileged base (in another file or the same one) is privileged,
    located at the base's line; an included file's services are judged in that file."""
    files = {
        "compose.yaml": (
            "include:\n  - extra/db.yaml\n  - compose.other.yaml\n"
            "services:\n"
            "  web:\n    image: web:1\n    extends: {file: common/base.yaml, service: base}\n"
            "  api:\n    extends: web\n    network_mode: bridge\n"
        ),
        "common/base.yaml": (
            "services:\n  base:\n    image: base:1\n    privileged: true\n    network_mode: host\n"
        ),
        "extra/db.yaml": "services:\n  db:\n    image: db:1\n    privileged: true\n",
        "compose.other.yaml": "services: {}\n",
    }
    tree = MemoryTree({name: text.encode() for name, text in files.items()})
    loaded = compose.load("compose.yaml", files["compose.yaml"].encode(), LoadContext(tree=tree))
    assert loaded.problems == []
    main, included = loaded.documents  # compose.other.yaml is scanned on its own
    assert included.file == "extra/db.yaml"
    assert included.locator.locate(("services", "db", "privileged")).line == 4
    web, api = main.obj["services"]["web"], main.obj["services"]["api"]
    assert (web["image"], web["privileged"], web["network_mode"]) == ("web:1", True, "host")
    assert (api["image"], api["privileged"], api["network_mode"]) == ("web:1", True, "bridge")
    where = main.locator.locate(("services", "api", "privileged"))
    assert (where.file, where.line) == ("common/base.yaml", 4)
    assert main.locator.locate(("services", "api", "network_mode")).file == "compose.yaml"
    assert compose.owners("common/base.yaml", LoadContext(tree=tree)) == ["compose.yaml"]
    assert compose.owners("extra/db.yaml", LoadContext(tree=tree)) == ["compose.yaml"]


def test_a_base_or_include_that_is_not_there_is_a_problem() -> None:
    text = (
        "include: [../outside.yaml]\nservices:\n"
        "  web:\n    extends: {file: nowhere.yaml, service: base}\n"
    )
    tree = MemoryTree({"compose.yaml": text.encode()})
    loaded = compose.load("compose.yaml", text.encode(), LoadContext(tree=tree))
    assert sorted((p.line, p.message) for p in loaded.problems) == [
        (1, "invalid compose file: include ../outside.yaml is not a file of this repository"),
        (4, "invalid compose file: services.web extends a service not in this repository"),
    ]


def test_host_paths_are_normalised_located_and_named_volumes_followed() -> None:
    text = (
        "services:\n"
        "  web:\n"
        "    volumes:\n"
        "      - ./data:/data\n"
        "      - //var/./run/:/r\n"
        "      - ${SOCK:-/run/docker.sock}:/s\n"
        "      - root:/host\n"
        "      - cache:/cache\n"
        "volumes:\n"
        "  root: {driver_opts: {o: bind, device: /home/..}}\n"
        "  cache: {}\n"
    )
    (document,) = compose.load("compose.yaml", text.encode(), LoadContext()).documents
    found = document.obj["services"]["web"]["host_paths"]
    assert [(m["source"], m["written"]) for m in found] == [
        ("/var/run", "//var/./run/"),
        ("/run/docker.sock", "/run/docker.sock"),
        ("/", "/home/.."),
    ]
    lines = [document.locator.locate(("services", "web", "host_paths", i)).line for i in range(3)]
    assert lines == [5, 6, 7]


def test_the_pinning_message_says_which_pin_is_missing(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """A tagged image fails only for want of a digest: the message says so, not "not pinned"
    (podinfo's `grafana/loki:3.0.0` read as if it had no pin at all)."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  a: {image: 'grafana/loki:3.0.0'}\n"
        "  b: {image: postgres}\n"
        "  c: {image: 'redis:latest'}\n"
        "  d: {image: 'localhost:5000/proxy'}\n"
        "  e: {image: 'redis@sha256:abc'}\n"
    )
    run = gatekeeper("scan", ".", "--format", "json", cwd=tmp_path)
    said = {
        finding["line"]: finding["message"]
        for finding in json.loads(run.stdout)["findings"]
        if finding["policy_id"] == "COMPOSE-IMAGE-PINNED"
    }
    assert said == {
        2: "image grafana/loki:3.0.0 is pinned by tag only, not by digest (requireDigest)",
        3: "image postgres has no tag (it means latest)",
        4: "image redis:latest uses the latest tag",
        5: "image localhost:5000/proxy has no tag (it means latest)",
        6: "image redis@sha256:abc is not pinned by a sha256 digest",
    }


def test_every_document_of_a_compose_file_is_a_layer_judged() -> None:
    """compose-go merges the documents of one file as layers (`compose publish` writes
    such files): a second document's privileged service was never judged, as only the first
    document was read, and an empty first document made the file "empty" (noise3)."""
    text = (
        "services:\n  web:\n    image: ghcr.io/acme/web:1.0\n"
        "---\n"
        "services:\n  web:\n    privileged: true\n"  # line 5-7
        "---\n"
    )
    loaded = compose.load("compose.yaml", text.encode(), LoadContext())
    assert loaded.problems == []
    first, second = loaded.documents
    assert (first.index, second.index) == (0, 1)
    assert second.obj["services"]["web"]["privileged"] is True
    assert second.locator.locate(("services", "web", "privileged")).line == 7
    leading = compose.load("compose.yaml", b"---\n---\nservices:\n  a: {privileged: true}\n")
    assert leading.problems == []
    assert [d.obj["services"]["a"]["privileged"] for d in leading.documents] == [True]
    scalar = compose.load("compose.yaml", b"services: {}\n---\n- a\n")
    assert [(p.code, p.line) for p in scalar.problems] == [("GK-PARSE-ERROR", 3)]


def test_a_compose_file_of_comments_alone_is_no_error() -> None:
    """opentelemetry-demo's compose.extras.yaml holds only comments: the seam its forks fill,
    loaded last with `-f`. It was a blocking "compose file is empty"; Compose merges it as
    no layer, and nothing in it is deployed or could hide. A default name (compose.yaml),
    which Compose reads alone, stays an error when empty."""
    text = b"# Extras layer: override this file in your fork.\n#\n# services:\n#   x: {}\n"
    loaded = compose.load("compose.extras.yaml", text, LoadContext())
    assert (loaded.documents, loaded.problems) == ([], [])
    assert compose.load("docker-compose.override.yml", b"---\n", LoadContext()).problems == []
    # What Compose reads alone by default, empty, fails it: still said.
    alone = compose.load("compose.yaml", text, LoadContext()).problems
    assert [(p.code, p.line, p.message) for p in alone] == [
        ("GK-PARSE-ERROR", 1, "compose file is empty")
    ]


_PINNED = "alpine:3.19@sha256:" + "0" * 64


def test_a_dockerfile_not_named_like_one_is_judged_where_compose_builds_it(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`build.dockerfile: docker/prod` (or `evil.build`, relative to the context, written in
    a second document) is built and run by `docker compose up --build`, but no adapter
    scanned it: USER root passed green (noise4). Judged at its own lines, once; a pull
    request changing only that file judges it again (a new root user is new)."""
    import subprocess

    (tmp_path / "docker").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "docker" / "prod").write_text(f"FROM {_PINNED}\nUSER 1000\n")
    (tmp_path / "app" / "evil.build").write_text(f"FROM {_PINNED}\nUSER root\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  web: {build: {context: ., dockerfile: docker/prod}}\n"
        "  worker: {build: {context: ., dockerfile: docker/prod, args: {A: '1'}}}\n"
        "  api: {build: app}\n"
        "---\n"
        "services:\n  api: {build: {dockerfile: evil.build}}\n"
    )

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    def root_users(*args: str) -> list[tuple[str, int]]:
        run = gatekeeper("scan", ".", "--format", "json", *args, cwd=tmp_path)
        findings = json.loads(run.stdout)["findings"]
        return [
            (f["file"], f["line"]) for f in findings if f["policy_id"] == "DOCKER-USER-NOT-ROOT"
        ]

    git("init", "-q")
    git("add", "-A")
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "x")
    assert root_users() == [("app/evil.build", 2)]
    git("branch", "base")
    (tmp_path / "docker" / "prod").write_text(f"FROM {_PINNED}\nUSER root\n")
    git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qam", "y")
    assert root_users("--base", "base") == [("docker/prod", 2)]
    tree = MemoryTree({"compose.yaml": (tmp_path / "compose.yaml").read_bytes()})
    assert compose.owners("docker/prod", LoadContext(tree=tree)) == ["compose.yaml"]
    assert compose.owners("docker/Dockerfile", LoadContext(tree=tree)) == []


def test_an_extends_base_and_build_args_are_read_from_every_document() -> None:
    """compose-go reads every `---` document of the file an `extends` names (and of the
    file whose build args it passes), merged: a base made privileged in a second document,
    and `APP_UID: "0"` given there, were read from the first document alone (noise4)."""
    from gatekeeper.sources import dockerfile_builds

    files = {
        "compose.yaml": (
            "services:\n  web:\n    extends: {file: base.yml, service: base}\n"
            "  app:\n    build: {context: ., args: {APP_UID: '1000'}}\n"
            "---\nservices:\n  app:\n    build:\n      args: {APP_UID: '0'}\n"
        ),
        "base.yml": (
            "services:\n  base: {image: a}\n---\nservices:\n  base:\n    privileged: true\n"
        ),
    }
    tree = MemoryTree({name: text.encode() for name, text in files.items()})
    loaded = compose.load("compose.yaml", files["compose.yaml"].encode(), LoadContext(tree=tree))
    assert loaded.problems == []
    web = loaded.documents[0].obj["services"]["web"]
    assert (web["image"], web["privileged"]) == ("a", True)
    where = loaded.documents[0].locator.locate(("services", "web", "privileged"))
    assert (where.file, where.line) == ("base.yml", 6)
    assert dockerfile_builds.builds(tree) == [
        dockerfile_builds.Build("Dockerfile", "compose.yaml:9", "", {"APP_UID": "0"})
    ]


def test_home_credentials_and_sockets_below_a_variable_are_host_paths(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """A pull request binding the deploying host's cloud keys, kubeconfig or SSH keys through
    its home folder, or the Docker socket through a variable or a nested default, was green:
    COMPOSE-HOST-PATH read `~/.aws` and `$XDG_RUNTIME_DIR/docker.sock` as project paths
    (red team s20 trust13 s05). A home cache stays green."""
    from tests.conftest import git_in

    git_in(tmp_path, "init", "-q", "-b", "main")
    service = "services:\n  web:\n    image: ghcr.io/acme/web:1.0\n    volumes:\n"
    (tmp_path / "compose.yaml").write_text(service + "      - ./data:/data\n")
    git_in(tmp_path, "add", "-A")
    git_in(tmp_path, "commit", "-qm", "base")
    git_in(tmp_path, "checkout", "-q", "-b", "pr")
    mounts = [
        "~/.aws:/root/.aws:ro",
        "$HOME/.kube:/root/.kube",
        "{type: bind, source: '${HOME}/.ssh', target: /root/.ssh}",
        "/home/deploy/.docker/config.json:/root/.docker/config.json",
        "$XDG_RUNTIME_DIR/docker.sock:/var/run/docker.sock",
        "${A:-${B:-/var/run/docker.sock}}:/var/run/docker.sock",
        "~/.cache/pip:/root/.cache/pip",
    ]
    listed = "".join(f"      - {m}\n" if m.startswith("{") else f'      - "{m}"\n' for m in mounts)
    (tmp_path / "compose.yaml").write_text(service + listed)
    git_in(tmp_path, "commit", "-qam", "mounts")
    run = gatekeeper("scan", "--base", "main", "--format", "json", cwd=tmp_path)
    found = [
        (f["line"], f["blocking"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "COMPOSE-HOST-PATH"
    ]
    assert sorted(found) == [(line, True) for line in range(5, 11)], run.stdout
    assert run.returncode == 1
