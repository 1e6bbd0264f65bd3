"""Object names a chart makes at random (`migrate-{{ randAlphaNum 5 | lower }}`) keep one
identity across renderings: real Helm, real git."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gatekeeper.sources.helm_random import random_words, stable_name
from tests.conftest import Run
from tests.test_change import Repo

JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate-{{ randAlphaNum 5 | lower }}
  namespace: app
spec:
  template:
    metadata:
      name: migrate-{{ .Release.Name }}
    spec:
      restartPolicy: Never
      containers:
        - name: m
          image: ghcr.io/acme/migrate:1.0
          securityContext:
            privileged: true
"""


@pytest.mark.parametrize(
    ("name", "line", "stable"),
    [
        ("web-migrate-x1b2c", "  name: {{ .Release.Name }}-migrate-{{ randAlphaNum 5 | lower }}",
         "web-migrate-<random>"),
        ("t-0a1b", '  name: "t-{{ randNumeric 4 }}"', "t-<random>"),
        ("web", "  name: {{ .Release.Name }}", "web"),  # nothing random
        ("other", "  name: x-{{ randAlpha 3 }}", "other"),  # does not follow the line
    ],
)  # fmt: skip
def test_the_random_part_of_a_name_is_named(name: str, line: str, stable: str) -> None:
    assert stable_name(name, line) == stable


@pytest.mark.parametrize(
    ("text", "random"),
    [
        ("operand: x\nname: {{ randAlphaNum 5 }}", True),  # a "rand" before the call
        ("{{ uuidv4 }}", True),
        ("a: {{ $x.randInt 1 }}", False),  # a field, not the function
        ("a: {{ .randAlpha }}\nb: {{- randNumeric 3 }}", True),
        ("operand randomly rands uuidv42 -randInt", False),
        ("", False),
    ],
)
def test_a_template_making_values_at_random_is_told_apart(text: str, random: bool) -> None:
    assert random_words(text) is random


def test_a_random_name_is_the_same_object_in_every_rendering(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """A pull request that leaves the chart's objects as they were adds no finding: the Job's
    new random name is not "another object than in the base" (its findings were all new and
    blocking), and two scans report the same names and fingerprints (JSON and JUnit reports
    differed from run to run)."""
    repo = Repo(tmp_path / "repo")
    repo.write("charts/web/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")
    repo.write("charts/web/values.yaml", "replicas: 1\n")
    repo.write("charts/web/templates/job.yaml", JOB)
    repo.commit("base")
    repo.write("charts/web/values.yaml", "replicas: 1\n# a comment\n")
    repo.commit("change")
    change = gatekeeper("scan", "--base", "HEAD~1", "--format", "json", cwd=repo.root)
    assert change.returncode == 0, change.stdout + change.stderr
    report = json.loads(change.stdout)
    assert [f for f in report["findings"] if f["status"] == "new"] == []
    scans = [gatekeeper("scan", ".", "--format", "json", cwd=repo.root) for _ in range(2)]
    first, second = (json.loads(scan.stdout)["findings"] for scan in scans)
    # What a rule says may quote the name it rendered; the finding's identity does not.
    assert [{**f, "message": ""} for f in first] == [{**f, "message": ""} for f in second]
    privileged = [f for f in first if f["policy_id"] == "K8S-PSS-PRIVILEGED"]
    assert [(f["name"], f["line"], f["blocking"]) for f in privileged] == [
        ("release-name-migrate-<random>", 16, True)
    ]
