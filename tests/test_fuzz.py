"""Seeded mutation fuzzing of every source: whatever a change puts in a file, loading it and
evaluating the built-in policies on it raise nothing (a raise is exit 3, or a finding at line
1 instead of at the line at fault) and end.

The suite runs a few cases per source; a longer campaign runs by hand:

    GATEKEEPER_FUZZ_CASES=3000 .venv/bin/python -m pytest -q tests/test_fuzz.py
"""

from __future__ import annotations

import os
import posixpath
import random

import pytest

from gatekeeper import sources
from gatekeeper.bundle import build_engine
from gatekeeper.config import Config
from gatekeeper.evaluate import Engine
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import REPO

CASES = int(os.environ.get("GATEKEEPER_FUZZ_CASES", "25"))
SEED = int(os.environ.get("GATEKEEPER_FUZZ_SEED", "10"))
# Fragments that broke parsers before, or that each format gives meaning to.
TOKENS = [
    "{", "}", "[", "]", "- ", ": ", "? ", "&a ", "*a", "<<: *a", "!!int ''", "!!bool x",
    "!!float", "!!binary", "!!set", "!<tag:x>", "%TAG ! x", "---", "...", "|", ">-", "'", '"',
    "\t", "#", "${", "$(", "`", "\\", "<<EOF", "EOF", "&&", "||", ";", "{{", "}}", "{{-",
    "null", "~", "true", "0x", "1e999", "-", "=", "%{", "[[", "]]", "\ufeff", "\u2028",
    "apiVersion: v1", "kind: Pod", "kind: List", "items:", "spec:", "containers:",
    "include:", "local: x.yml", "resources:", "patches:", "jobs:", "steps:", "run: |",
    "FROM", "RUN", "USER root", "ARG", "ENV", "COPY --from=", "resource", "module", "data",
    "dynamic", "for_each", "count", "values:", "planned_values", "resource_changes",
]  # fmt: skip


def _files(directory: str, *names: str, under: str = "") -> dict[str, bytes]:
    """Fixture files of `directory`, named `under/name` in the fuzzed tree."""
    return {posixpath.join(under, n): (REPO / directory / n).read_bytes() for n in names}


HELM = _files(
    "tests/data/helm/web",
    "Chart.yaml",
    "values.yaml",
    "templates/deployment.yaml",
    "templates/_helpers.tpl",
    under="web",
)
MODULE = _files("tests/data/terraform/module", "s3.tf", "s3-controls.tf", "network.tf")
DEMO = "examples/demo-repo"


POD = b"""\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  template:
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
      - name: web
        image: ghcr.io/acme/web:1.0
        env: [{name: A, value: b}]
        securityContext: {privileged: false, capabilities: {add: [NET_ADMIN]}}
        resources: {limits: {memory: 1Gi}}
      volumes: [{name: v, hostPath: {path: /var}}]
"""
APPLICATION = b"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: app, namespace: argocd}
spec:
  destination: {server: https://kubernetes.default.svc, namespace: shop}
  source: {path: deploy, directory: {recurse: true}}
"""
KUSTOMIZATION = b"""\
namespace: shop
resources: [pod.yaml]
patches:
- path: patch.yaml
configMapGenerator:
- name: c
  literals: [a=b]
images:
- name: ghcr.io/acme/web
  newTag: "2.0"
"""
GITLAB = b"""\
stages: [build, deploy]
include: [{local: ci/x.yml}]
default: {before_script: [echo hi]}
deploy:
  stage: deploy
  image: alpine:3
  script:
    - kubectl apply -f k8s/
    - |
      helm upgrade --install x ./c
"""
COMPOSE = b"""\
services:
  web:
    image: nginx:1.27
    privileged: true
    environment: {A: b}
    volumes: ["/:/host"]
"""
ACTION = b"""\
name: a
runs:
  using: composite
  steps:
    - run: kubectl apply -f x
      shell: bash
    - uses: actions/checkout@v4
"""

# source: (the file fuzzed, the other files of its tree)
SEEDS: dict[str, tuple[str, dict[str, bytes]]] = {
    "kubernetes": ("deploy/web.yaml", {"deploy/web.yaml": POD}),
    "gitops": ("app.yaml", {"app.yaml": APPLICATION, "deploy/web.yaml": POD}),
    "helm-template": ("web/templates/deployment.yaml", HELM),
    "helm-values": ("web/values.yaml", HELM),
    "kustomize": (
        "kustomization.yaml",
        {"kustomization.yaml": KUSTOMIZATION, "pod.yaml": POD, "patch.yaml": POD[:120]},
    ),
    "terraform": ("s3.tf", MODULE),
    "plan": ("tfplan.json", _files("tests/data/terraform/plan", "tfplan.json")),
    "dockerfile": ("Dockerfile", _files(DEMO, "Dockerfile")),
    "github": (".github/workflows/deploy.yml", _files(DEMO, ".github/workflows/deploy.yml")),
    "gitlab": (".gitlab-ci.yml", {".gitlab-ci.yml": GITLAB, "ci/x.yml": GITLAB[40:]}),
    "action": ("action.yml", {"action.yml": ACTION}),
    "compose": ("compose.yaml", {"compose.yaml": COMPOSE}),
}
# Values of the wrong type or that their tag cannot hold, put where a value was.
VALUES = ["[1]", "{}", "null", "1", "''", "[[]]", "{a: {b: [c]}}", "-1", "*a", "&a [*a]"]
VALUES += ["!!int ''", "!!bool maybe", "!!float ''", "!!int", "!!binary x"]
# Rendering starts a process: fewer cases for the sources that render.
RENDERED = {"helm-template": 4, "helm-values": 4, "kustomize": 4, "gitops": 2}


def _mutate(data: bytes, rng: random.Random) -> bytes:
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(lines) + 1)
        line = lines[at] if at < len(lines) else ""
        choice = rng.randrange(8)
        if choice == 0 and lines:
            del lines[min(at, len(lines) - 1)]
        elif choice == 1:
            lines.insert(at, line)
        elif choice == 2:
            column = rng.randint(0, len(line))
            lines[at : at + 1] = [line[:column] + rng.choice(TOKENS) + line[column:]]
        elif choice == 3:
            lines.insert(at, " " * rng.randint(0, 12) + rng.choice(TOKENS))
        elif choice == 4 and ": " in line:
            key = line.split(": ", 1)[0]
            value = rng.choice(VALUES)
            lines[at : at + 1] = [f"{key}: {value}"]
        elif choice == 5:
            depth = rng.choice([10, 100, 460, 490, 600])
            if rng.random() < 0.5:
                lines.insert(at, "x: " + "[" * depth + "]" * depth)
            else:  # mappings nest one call deep per level where sequences nest two
                lines.insert(at, "x: " + "{a: " * depth + "null" + "}" * depth)
        elif choice == 6 and lines:
            other = rng.randrange(len(lines))
            lines[at : at + 1], lines[other : other + 1] = lines[other : other + 1], [line]
        else:
            lines = lines[: rng.randint(0, len(lines))]
    return "\n".join(lines).encode("utf-8", "surrogateescape")


@pytest.fixture(scope="module")
def engine() -> Engine:
    return build_engine(Config(), [], True, [])


def _cases(source: str) -> int:
    return min(CASES, RENDERED[source]) if source in RENDERED and CASES <= 25 else CASES


@pytest.mark.parametrize("source", sorted(SEEDS))
def test_no_mutation_of_a_file_crashes_its_source(source: str, engine: Engine) -> None:
    target, tree = SEEDS[source]
    rng = random.Random(f"{SEED}:{source}")
    adapters = sources.adapters()
    for case in range(_cases(source)):
        files = dict(tree)
        files[target] = _mutate(files[target], rng)
        context = LoadContext(tree=MemoryTree(files))
        paths = sources.with_owners([target], context)
        for path in paths:
            adapter = sources.adapter_for(path, adapters)
            assert adapter is not None, path
            try:
                _load_and_evaluate(adapter, path, files[path], context, engine)
            except Exception as error:
                message = f"{source} case {case}: {type(error).__name__}: {error}"
                pytest.fail(f"{message}\n{files[target][:2000]!r}")


def _load_and_evaluate(
    adapter: sources.Source, path: str, data: bytes, context: LoadContext, engine: Engine
) -> None:
    loaded = adapter.load(path, data, context)
    for document in loaded.documents:
        engine.evaluate(document)
    for problem in loaded.problems:
        assert problem.line >= 1, problem
