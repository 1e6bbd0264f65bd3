"""Two Pod Security checks about one field say it once: where a restricted check and the
baseline check it overrides in Pod Security admission both fire at one place (`add:
[SYS_ADMIN]`, an Unmasked /proc, a hostPath volume), the baseline finding is kept (its
severity is equal or higher); dropping ALL capabilities implies dropping NET_RAW. Each still
reports alone where the other does not fire or is disabled."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.25
      securityContext:
        procMount: Unmasked
        capabilities:
          add: [SYS_ADMIN]
    - name: side
      image: nginx:1.25
      securityContext:
        capabilities:
          add: [CHOWN]
  volumes:
    - name: host
      hostPath:
        path: /var/run
"""
WATCHED = {
    "K8S-PSS-CAPABILITIES", "K8S-PSS-CAPABILITIES-ADD", "K8S-PSS-PROC-MOUNT",
    "K8S-PSS-PROC-MOUNT-DEFAULT", "K8S-PSS-HOST-PATH", "K8S-PSS-VOLUME-TYPES",
    "K8S-POD-DROP-NET-RAW", "K8S-PSS-CAPABILITIES-DROP-ALL",
}  # fmt: skip


def said(gatekeeper: Gatekeeper, root: Path) -> list[tuple[int, str]]:
    run = gatekeeper("scan", "--format", "json", cwd=root)
    assert run.returncode == 1, run.stderr
    findings = json.loads(run.stdout)["findings"]
    return sorted((f["line"], f["policy_id"]) for f in findings if f["policy_id"] in WATCHED)


def test_overlapping_pod_security_checks_say_it_once(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write("pod.yaml", POD)
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    assert said(gatekeeper, tmp_path) == [
        (10, "K8S-PSS-PROC-MOUNT"),
        (11, "K8S-PSS-CAPABILITIES-DROP-ALL"),
        (12, "K8S-PSS-CAPABILITIES"),
        (16, "K8S-PSS-CAPABILITIES-DROP-ALL"),
        (17, "K8S-PSS-CAPABILITIES-ADD"),  # CHOWN: baseline allows it, restricted does not
        (20, "K8S-PSS-HOST-PATH"),
    ]
    write(
        ".gatekeeper.yml",
        "packs: [kubernetes]\n"
        "disable: [K8S-PSS-CAPABILITIES, K8S-PSS-CAPABILITIES-DROP-ALL, K8S-PSS-HOST-PATH]\n",
    )
    assert said(gatekeeper, tmp_path) == [
        (10, "K8S-PSS-PROC-MOUNT"),
        (11, "K8S-POD-DROP-NET-RAW"),
        (12, "K8S-PSS-CAPABILITIES-ADD"),
        (16, "K8S-POD-DROP-NET-RAW"),
        (17, "K8S-PSS-CAPABILITIES-ADD"),
        (20, "K8S-PSS-VOLUME-TYPES"),
    ]
