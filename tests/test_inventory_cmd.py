from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.images import parse_image
from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, "str | bytes"], Path]

DIGEST = "sha256:" + "ab" * 32
MANIFESTS = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  template:
    spec:
      initContainers:
        - name: migrate
          image: ghcr.io/acme/migrate:3
      containers:
        - name: web
          image: ghcr.io/acme/web:1.2@{DIGEST}
        - name: proxy
          image: nginx
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: nightly}}
spec:
  schedule: "0 1 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: job
              image: docker.io/library/nginx:latest
          ephemeralContainers:
            - name: debug
              image: busybox:1.36
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: not-a-workload}}
data: {{image: "ghcr.io/acme/ignored:1"}}
"""
DOCKERFILE = """\
FROM golang:1.22 AS build
FROM build AS test
FROM gcr.io/distroless/static@sha256:{hex}
COPY --from=build /app /app
""".format(hex="cd" * 32)
COMPOSE = "services:\n  cache:\n    image: redis:7\n  web:\n    build: .\n"
WORKFLOW = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    container: ghcr.io/acme/ci:2
    steps:
      - run: make test
"""


@pytest.fixture
def repo(write: Write, tmp_path: Path) -> Path:
    write("deploy/app.yaml", MANIFESTS)
    write("images/web/Dockerfile", DOCKERFILE)
    write("compose.yaml", COMPOSE)
    write(".github/workflows/ci.yml", WORKFLOW)
    write(".gitlab-ci.yml", "image: alpine:3.20\nbuild:\n  script: [make]\n")
    write("README.md", "image: not-scanned:1\n")
    return tmp_path


def validate(bom: dict[str, Any], version: str) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    schema = {"1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}[version]
    error = JsonStrictValidator(schema).validate_str(json.dumps(bom))
    assert error is None, error


def test_the_validator_rejects_an_invalid_bom() -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    bad = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "image"}]}
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bad)) is not None


@pytest.mark.parametrize("version", ["1.5", "1.6"])
def test_inventory_of_a_mixed_repo_is_valid_cyclonedx(
    gatekeeper: Gatekeeper, repo: Path, version: str
) -> None:
    run = gatekeeper("inventory", "--spec-version", version, "--output", "sbom.json", cwd=repo)
    assert run.returncode == 0, run.stderr
    bom = json.loads((repo / "sbom.json").read_text())
    validate(bom, version)
    assert bom["specVersion"] == version
    components = {c["bom-ref"]: c for c in bom["components"]}
    locations = {
        ref: sorted(p["value"] for p in c["properties"] if p["name"] == "gatekeeper:location")
        for ref, c in components.items()
    }
    assert locations == {
        "ghcr.io/acme/migrate:3": ["deploy/app.yaml:9"],
        f"ghcr.io/acme/web:1.2@{DIGEST}": ["deploy/app.yaml:12"],
        "docker.io/library/nginx": ["deploy/app.yaml:14"],
        "docker.io/library/nginx:latest": ["deploy/app.yaml:27"],
        "docker.io/library/busybox:1.36": ["deploy/app.yaml:30"],
        "docker.io/library/golang:1.22": ["images/web/Dockerfile:1"],
        "gcr.io/distroless/static@sha256:" + "cd" * 32: ["images/web/Dockerfile:3"],
        "docker.io/library/redis:7": ["compose.yaml:3"],
        "ghcr.io/acme/ci:2": [".github/workflows/ci.yml:5"],
        "docker.io/library/alpine:3.20": [".gitlab-ci.yml:1"],
    }
    web = components[f"ghcr.io/acme/web:1.2@{DIGEST}"]
    assert web["type"] == "container" and web["name"] == "ghcr.io/acme/web"
    assert web["version"] == "1.2"
    assert web["purl"] == (
        f"pkg:oci/web@sha256%3A{'ab' * 32}?repository_url=ghcr.io/acme/web&tag=1.2"
    )
    assert web["hashes"] == [{"alg": "SHA-256", "content": "ab" * 32}]
    static = components["gcr.io/distroless/static@sha256:" + "cd" * 32]
    assert static["version"] == "sha256:" + "cd" * 32
    nginx = components["docker.io/library/nginx"]
    assert "version" not in nginx
    assert nginx["purl"] == "pkg:oci/nginx?repository_url=docker.io/library/nginx"


def test_same_image_spelled_differently_is_one_component(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write("a/Dockerfile", "FROM python:3.12\n")
    write("b/Dockerfile", "FROM docker.io/library/python:3.12\n")
    run = gatekeeper("inventory", cwd=tmp_path)
    (component,) = json.loads(run.stdout)["components"]
    assert [p["value"] for p in component["properties"]] == [
        "a/Dockerfile:1",
        "b/Dockerfile:1",
        "dockerfile",
    ]


def test_an_image_volume_is_in_the_inventory(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """The kubelet pulls an image volume's reference and mounts its files (red team s11 r07)."""
    write(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
        "  containers: [{name: a, image: ghcr.io/acme/a:1}]\n"
        "  volumes:\n    - name: plugins\n      image: {reference: ghcr.io/acme/plugins:2}\n",
    )
    run = gatekeeper("inventory", cwd=tmp_path)
    components = json.loads(run.stdout)["components"]
    usages = {c["name"]: next(p["value"] for p in c["properties"]) for c in components}
    assert usages == {"ghcr.io/acme/a": "pod.yaml:5", "ghcr.io/acme/plugins": "pod.yaml:8"}


def test_unloadable_file_is_reported_and_exits_1(
    gatekeeper: Gatekeeper, repo: Path, write: Write
) -> None:
    write("deploy/broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata: [\n")
    run = gatekeeper("inventory", "deploy", cwd=repo)
    assert run.returncode == 1
    assert "deploy/broken.yaml:4: GK-PARSE-ERROR" in run.stderr
    assert "Traceback" not in run.stderr
    validate(json.loads(run.stdout), "1.6")


@pytest.mark.parametrize(
    ("reference", "registry", "repository", "tag", "digest"),
    [
        ("nginx", "docker.io", "library/nginx", "", ""),
        ("acme/app:1", "docker.io", "acme/app", "1", ""),
        ("localhost:5000/app", "localhost:5000", "app", "", ""),
        (
            "registry.example.com:443/a/b:2@sha256:x",
            "registry.example.com:443",
            "a/b",
            "2",
            "sha256:x",
        ),
        ("index.docker.io/library/redis:7", "docker.io", "library/redis", "7", ""),
    ],
)
def test_parse_image(reference: str, registry: str, repository: str, tag: str, digest: str) -> None:
    ref = parse_image(reference)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )


def test_usage_errors_exit_2(gatekeeper: Gatekeeper, tmp_path: Path) -> None:
    assert gatekeeper("inventory", "missing", cwd=tmp_path).returncode == 2
    assert gatekeeper("inventory", "--spec-version", "1.4", cwd=tmp_path).returncode == 2
