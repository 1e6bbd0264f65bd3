"""What kubectl, Argo CD and Helm treat as a list: any object whose `items` is a list
(apimachinery's IsList), whatever its kind. Its items are what gets applied."""

from __future__ import annotations

from pathlib import Path

import gatekeeper
from gatekeeper.change import scan_change
from gatekeeper.sources import kubernetes
from tests.test_change import CONFIG, Repo
from tests.test_change import repo as repo  # the fixture

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


def _nested(items: str) -> str:
    """A `List` whose one item is a `List` holding `items` (indented for the inner list)."""
    inner = "".join("  " + line + "\n" for line in items.splitlines())
    outer = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: List\n    items:\n"
    return outer + inner


def test_a_list_inside_a_list_is_applied_to_any_depth(tmp_path: Path) -> None:
    """The attack (red team round 6, w01): kubectl's FlattenListVisitor puts an item that is
    a list back on its queue, so a `List` in a `List` creates the privileged Pod it holds;
    one level was taken and the inner List judged as an object no pod rule matches: no
    finding at all. A chart rendering it is the same (Helm's client flattens alike)."""
    text = _nested(PRIVILEGED_POD.format(name="debug"))
    loaded = kubernetes.load("agent.yaml", text.encode())
    assert [(d.kind, d.name) for d in loaded.documents] == [("Pod", "debug")]
    (tmp_path / "agent.yaml").write_text(text)
    (tmp_path / "ch" / "templates").mkdir(parents=True)
    (tmp_path / "ch" / "Chart.yaml").write_text("apiVersion: v2\nname: ch\nversion: 0.1.0\n")
    (tmp_path / "ch" / "templates" / "pods.yaml").write_text(
        _nested(PRIVILEGED_POD.format(name="{{ .Release.Name }}-a"))
    )
    assert sorted(_privileged(tmp_path)) == [
        ("agent.yaml", 16, "debug"),
        ("ch/templates/pods.yaml", 16, "release-name-a"),
    ]


def test_an_application_two_lists_deep_deploys_its_chart(repo: Repo) -> None:
    """A pull request adding an Argo CD Application inside a List inside a List (created by
    `kubectl apply` of the file) that installs the repository's compliant chart with
    `valuesObject: {privileged: true}`: the Application was not found as a deployer, so the
    chart the change feeds was not rendered with its values, and the check passed."""
    repo.write(
        ".gatekeeper.yml",
        CONFIG + "sources: {gitops: {repoURLs: [https://github.com/acme/app.git]}}\n",
    )
    repo.write("charts/app/Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n")
    repo.write("charts/app/values.yaml", "debug: false\n")
    repo.write(
        "charts/app/templates/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: app, namespace: team}\nspec:\n"
        "  containers:\n    - name: c\n      image: r.example.com/x:1\n"
        "      securityContext: {privileged: {{ .Values.debug }}}\n",
    )
    repo.commit("base")
    repo.git.git.tag("v1.0.0")  # the release the Application pins
    repo.branch("pr")
    application = (
        "  - apiVersion: argoproj.io/v1alpha1\n    kind: Application\n"
        "    metadata: {name: app, namespace: argocd}\n    spec:\n      project: default\n"
        "      destination: {namespace: team}\n"
        "      source:\n        repoURL: https://github.com/acme/app.git\n"
        "        targetRevision: v1.0.0\n"
        "        path: charts/app\n        helm: {valuesObject: {debug: true}}\n"
    )
    repo.write("apps/apps.yaml", _nested(application))
    repo.commit("pull request")
    result = scan_change(repo.root, "main")
    assert [(f.policy_id, f.file, f.status) for f in result.verdict.blocking] == [
        ("TEST-NO-PRIVILEGED", "apps/apps.yaml", "new")  # at the values that make it so
    ]
