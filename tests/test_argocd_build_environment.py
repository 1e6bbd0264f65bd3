"""Argo CD substitutes its build environment in `helm.parameters` values (and fileParameters
paths) before `helm template --set`: they are judged with it, the commit included."""

from __future__ import annotations

from tests.test_gate_attack_s5 import application, chart, scan_tree

# A Pod the chart makes privileged when `build` looks like a commit, or `owner` is "web".
SWITCH = b"""\
{{- $commit := regexMatch "^[0-9a-f]{40}$" (toString .Values.build) }}
apiVersion: v1
kind: Pod
metadata: {name: switch}
spec:
  containers:
    - name: c
      image: ghcr.io/acme/web:1.0
      securityContext:
        privileged: {{ or $commit (eq (toString .Values.owner) "web") }}
"""


def _findings(parameters: str) -> list[tuple[object, ...]]:
    helm = f"    helm:\n      parameters: {parameters}\n"
    tree = {
        **chart(),
        "charts/web/templates/switch.yaml": SWITCH,
        "apps/web.yaml": application(helm),
    }
    return [f[:3] for f in scan_tree(tree, "apps/web.yaml")]


def test_the_revision_s_commit_in_a_parameter_is_judged() -> None:
    """Red team round 6 (w04): `value: $ARGOCD_APP_REVISION` was rendered as that literal
    text, so a chart switch on the shape of a commit never turned; Argo CD passes the commit
    (here, with no git, a sample one) on every sync."""
    found = _findings("[{name: build, value: $ARGOCD_APP_REVISION}]")
    assert found == [("K8S-PSS-PRIVILEGED", "charts/web/templates/switch.yaml", 10)]


def test_the_application_s_name_in_a_parameter_is_judged() -> None:
    found = _findings("[{name: owner, value: '${ARGOCD_APP_NAME}', forceString: true}]")
    assert found == [("K8S-PSS-PRIVILEGED", "charts/web/templates/switch.yaml", 10)]
    # `$$` is a `$`: nothing is substituted there
    assert _findings("[{name: owner, value: $$ARGOCD_APP_NAME}]") == []
