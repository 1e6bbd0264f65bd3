"""An object kustomize builds from an item of a List (`kind: List`, `kind: ConfigMapList`...)
is located in that item, at the file's lines: one finding, not one at the kustomization's
first line and another for the file read alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]

LIST = """\
apiVersion: v1
kind: {kind}
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {{name: settings}}
    data: {{a: b}}
  - apiVersion: v1
    kind: Pod
    metadata:
      name: web
    spec:
      containers:
        - name: web
          image: nginx:1.25
          securityContext:
            privileged: true
"""


def test_list_items_built_by_kustomize_are_found_at_their_lines(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    for kind in ("List", "PodList"):
        write(f"{kind}/list.yaml", LIST.format(kind=kind))
        write(f"{kind}/kustomization.yaml", "namePrefix: team-\nresources:\n  - list.yaml\n")
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    findings = json.loads(run.stdout)["findings"]
    watched = ("K8S-PSS-PRIVILEGED", "K8S-IMAGE-DIGEST", "K8S-POD-LIVENESS-PROBE")
    found = sorted(
        (f["file"], f["line"], f["policy_id"]) for f in findings if f["policy_id"] in watched
    )
    assert found == [
        (f"{kind}/list.yaml", line, policy)
        for kind in ("List", "PodList")
        for line, policy in [
            (14, "K8S-POD-LIVENESS-PROBE"),
            (15, "K8S-IMAGE-DIGEST"),
            (17, "K8S-PSS-PRIVILEGED"),
        ]
    ]
    privileged = [f for f in findings if f["policy_id"] == "K8S-PSS-PRIVILEGED"]
    assert all(
        f["extra"]["variants"] == [f"kustomize {f['file'].split('/')[0]}"] for f in privileged
    )


def test_null_list_items_found_while_reading_as_before() -> None:
    """_objects finds a null list item while it builds an object (not by another walk): an
    object with one is refused in the same words, after the checks of its kind as before,
    and a List's own fields (not its items) may still hold one."""
    import pytest

    from gatekeeper.sources.kustomize_build import _objects
    from gatekeeper.sources.kustomize_values import Unsupported
    from gatekeeper.yamldoc import YamlDocument, load_all

    def objects(text: str) -> list[dict[str, object]]:
        docs = [e for e in load_all("f.yaml", text) if isinstance(e, YamlDocument)]
        return _objects(docs)

    listed = (
        "apiVersion: v1\nkind: List\nextra: [null]\n"
        "items:\n  - {apiVersion: v1, kind: X, metadata: {name: a}}\n"
    )
    assert objects(listed) == [{"apiVersion": "v1", "kind": "X", "metadata": {"name": "a"}}]
    with pytest.raises(Unsupported, match=r"^a null list item$"):
        objects("apiVersion: v1\nkind: X\nmetadata: {name: t}\nspec: {a: [1, null]}\n")
    with pytest.raises(Unsupported, match="without kind"):
        objects("apiVersion: v1\nmetadata: {name: t}\nspec: [null]\n")
