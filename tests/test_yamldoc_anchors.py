"""An anchor defined twice, as go-yaml reads it (kubectl, kustomize, Flux, Argo CD).

libyaml's composer refuses such a stream ("found duplicate anchor"), so a privileged Pod
written with `&name` twice was a parse error and its objects were never judged; in files
that also hold `{{` it was taken for another tool's template (low) and passed.
"""

from __future__ import annotations

from pathlib import Path

import gatekeeper
from gatekeeper import yamldoc

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
    - name: &name a
      image: ghcr.io/a/b:1.0
      securityContext:
        privileged: true
      env:
        - name: &name B
          value: *name
"""


def test_an_alias_means_the_latest_definition_of_its_anchor() -> None:
    text = "a: &x 1\nb: *x\nc: &x 2\nd: *x\ne: [&y 1, &y 2, *y]\nf: y\n"
    (document,) = yamldoc.load_all("a.yaml", text)
    assert isinstance(document, yamldoc.YamlDocument)
    assert document.obj == {"a": 1, "b": 1, "c": 2, "d": 2, "e": [1, 2, 2], "f": True}


def test_a_pod_redefining_an_anchor_is_judged(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    report = gatekeeper.scan(tmp_path, root=tmp_path, jobs=1)
    ids = {(f.policy_id, f.line) for f in report.verdict.findings}
    assert ("K8S-PSS-PRIVILEGED", 10) in ids
    assert not any(policy.startswith("GK-") for policy, _ in ids)
