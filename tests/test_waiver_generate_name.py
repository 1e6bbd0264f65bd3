"""A waiver naming an object does not cover an object the API server names from a prefix.

`metadata: {generateName: debug-node}` (no name) is named debug-nodeXXXXX when created: not
the Pod debug-node a base waiver names. It took that waiver (findings name such an object by
its prefix), so a new privileged Pod anywhere passed as waived (red team s21 trust14 c24). A
waiver of a prefix (a name ending in `-`, which no object name does) still covers the
objects it generates.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

import gatekeeper
from gatekeeper.waivers import Waiver

POD = """\
apiVersion: v1
kind: Pod
metadata: {%s, namespace: tools}
spec:
  containers:
    - name: c
      image: ghcr.io/acme/debug:1.0
      securityContext: {privileged: true}
"""


def _status(root: Path, metadata: str, waived: str) -> list[str]:
    (root / ".gatekeeper").mkdir(parents=True)
    (root / ".gatekeeper" / "waivers.yml").write_text(
        "waivers:\n  - {policy: K8S-PSS-PRIVILEGED, kind: Pod, namespace: tools, name: "
        f"{waived}, owner: sre, reason: debugging, ticket: OPS-1, expires: "
        f'"{datetime.date.today() + datetime.timedelta(days=30)}"}}\n'
    )
    (root / "pod.yaml").write_text(POD % metadata)
    report = gatekeeper.scan(root, root=root, jobs=1)
    return [f.status for f in report.verdict.findings if f.policy_id == "K8S-PSS-PRIVILEGED"]


@pytest.mark.parametrize(
    ("metadata", "waived", "status"),
    [
        ("name: debug-node", "debug-node", "waived"),
        ("generateName: debug-node", "debug-node", "new"),
        ("generateName: db-migrate-", "db-migrate-", "waived"),
    ],
)
def test_a_name_waiver_and_generated_names(
    tmp_path: Path, metadata: str, waived: str, status: str
) -> None:
    assert _status(tmp_path, metadata, waived) == [status]


def test_matches_reads_the_findings_mark() -> None:
    waiver = Waiver("P", "o", "r", "t", datetime.date(2099, 1, 1), name="debug-node")
    from gatekeeper.finding import Finding

    named = Finding("P", "high", "t", "m", "f.yaml", 1, name="debug-node")
    generated = named.with_(extra={"generateName": True})
    assert waiver.matches(named)
    assert not waiver.matches(generated)
