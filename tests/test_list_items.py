"""What kubectl, Argo CD and Helm treat as a list: any object whose `items` is a list
(apimachinery's IsList), whatever its kind. Its items are what gets applied."""

from __future__ import annotations

from pathlib import Path

import gatekeeper
from gatekeeper.sources import kubernetes

PRIVILEGED_POD = (
    "  - apiVersion: v1\n    kind: Pod\n    metadata:\n      name: {name}\n"
    "    spec:\n      containers:\n        - name: c\n          image: r.example.com/x:1\n"
    "          securityContext:\n            privileged: true\n"
)


def _privileged(root: Path) -> list[tuple[str, int, str]]:
    report = gatekeeper.scan(root, root=root, jobs=1)
    return [
        (f.file, f.line, f.name)
        for f in report.verdict.findings
        if f.policy_id == "K8S-PSS-PRIVILEGED"
    ]


def test_a_config_map_with_items_is_a_list_to_kubectl(tmp_path: Path) -> None:
    """The attack: `kind: ConfigMap` with a privileged Pod in `items` passed; kubectl
    created the Pod (and no ConfigMap)."""
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\nitems:\n"
    text += PRIVILEGED_POD.format(name="debug")
    loaded = kubernetes.load("settings.yaml", text.encode())
    assert [d.kind for d in loaded.documents] == ["Pod"]
    (tmp_path / "settings.yaml").write_text(text)
    assert _privileged(tmp_path) == [("settings.yaml", 14, "debug")]
    # `items` that is not a list is an ordinary field.
    plain = kubernetes.load(
        "c.yaml", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\nitems: {}\n"
    )
    assert [d.kind for d in plain.documents] == ["ConfigMap"]


def test_a_chart_s_list_items_are_judged(tmp_path: Path) -> None:
    """Helm's client applies a rendered list's items too: a template writing a `List` (or
    any object with `items`) of Pods was judged as one object no pod rule matches."""
    (tmp_path / "ch" / "templates").mkdir(parents=True)
    (tmp_path / "ch" / "Chart.yaml").write_text("apiVersion: v2\nname: ch\nversion: 0.1.0\n")
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        + PRIVILEGED_POD.format(name="{{ .Release.Name }}-a")
        + PRIVILEGED_POD.format(name="{{ .Release.Name }}-b")
    )
    (tmp_path / "ch" / "templates" / "pods.yaml").write_text(text)
    found = _privileged(tmp_path)
    assert [(file, name) for file, _, name in found] == [
        ("ch/templates/pods.yaml", "release-name-a"),
        ("ch/templates/pods.yaml", "release-name-b"),
    ]
