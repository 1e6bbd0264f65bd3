"""Repository-scope rules group objects by the namespace they land in: a chart rendered on
its own lands in its release's namespace, not in one `default` shared with every chart."""

from __future__ import annotations

from pathlib import Path

import gatekeeper

DEPLOYMENT = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-%s\n"
    "spec:\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: x}}\n"
    "    spec:\n      containers:\n        - name: c\n          image: example.com/x:1.0\n"
)
POLICY = (
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\n"
    "spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n"
)


def _chart(root: Path, name: str, templates: dict[str, str]) -> None:
    (root / name / "templates").mkdir(parents=True)
    (root / name / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 0.1.0\n")
    for file, text in templates.items():
        (root / name / "templates" / file).write_text(text)


def _uncovered(root: Path) -> list[tuple[str, int]]:
    report = gatekeeper.scan(root, root=root, jobs=1)
    return sorted(
        (f.file, f.line)
        for f in report.verdict.findings
        if f.policy_id == "K8S-NETWORK-POLICY-PRESENT"
    )


def test_one_chart_s_network_policy_does_not_cover_another_chart(tmp_path: Path) -> None:
    """argo-helm: argo-cd's NetworkPolicy (on by default) made argo-workflows' pods pass,
    as if both charts were installed into one namespace. A chart alone is installed where
    `helm install -n` says, which no file tells: its namespace is not judged (not `default`:
    "namespace default has no NetworkPolicy" on every workload of a chart repository). Where
    the namespaces are configured, each is judged, and one chart's policy covers only its own."""
    _chart(tmp_path, "a", {"deploy.yaml": DEPLOYMENT % "a", "policy.yaml": POLICY})
    _chart(tmp_path, "b", {"deploy.yaml": DEPLOYMENT % "b"})
    assert _uncovered(tmp_path) == []
    (tmp_path / ".gatekeeper.yml").write_text(
        "sources: {helm: {charts: [{path: a, namespace: team-a}, {path: b, namespace: team-b}]}}\n"
    )
    assert _uncovered(tmp_path) == [("b/templates/deploy.yaml", 3)]


def test_plain_manifests_in_default_still_share_it(tmp_path: Path) -> None:
    """Objects written with no namespace (or `default`) outside charts share `default`."""
    (tmp_path / "web.yaml").write_text((DEPLOYMENT % "web").replace("{{ .Release.Name }}-", ""))
    (tmp_path / "policy.yaml").write_text(
        POLICY.replace("name: deny", "name: deny\n  namespace: default")
    )
    assert _uncovered(tmp_path) == []
