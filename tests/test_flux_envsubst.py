"""Flux's post-build substitution is bash's parameter expansion, not two short forms.

kustomize-controller substitutes with fluxcd/pkg/envsubst (a drone/envsubst fork): string
functions, nested defaults, `$$`, and an unset variable is empty. A ClusterRoleBinding whose
`roleRef.name` was `${ROLE/x/cluster-admin}` (ROLE=x) was judged as that text, and Flux bound
cluster-admin (red team s21 trust14 c01).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gatekeeper
from gatekeeper.sources.flux import substitute
from gatekeeper.sources.flux_envsubst import expand

KUSTOMIZATION = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: web, namespace: flux-system}
spec:
  sourceRef: {kind: GitRepository, name: flux-system}
  path: ./apps/web
  postBuild:
    substitute: {ROLE: "%s"}
%s"""
BINDING = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: web}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "%s"}
subjects: [{kind: ServiceAccount, name: web, namespace: web}]
"""
FROM_CLUSTER = "    substituteFrom: [{kind: ConfigMap, name: cluster-vars}]\n"


def bound(root: Path, role: str, written: str, extra: str = "") -> list[str]:
    files = {
        "clusters/prod/web.yaml": KUSTOMIZATION % (role, extra),
        "apps/web/binding.yaml": BINDING % written,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    report = gatekeeper.scan(root, root=root, jobs=1)
    return sorted(
        f"{f.policy_id} {f.file}:{f.line}"
        for f in report.verdict.findings
        if f.policy_id in ("K8S-RBAC-CLUSTER-ADMIN", "K8S-RBAC-BUILTIN-ROLE")
    )


@pytest.mark.parametrize(
    ("role", "written"),
    [
        ("x", "${ROLE/x/cluster-admin}"),
        ("CLUSTER-ADMIN", "${ROLE,,}"),
        ("xxcluster-admin", "${ROLE:2}"),
        ("v1-cluster-admin", "${ROLE#v1-}"),
        ("cluster-admin", "${NOPE:=${ROLE}}"),
        ("x", "cluster${UNSET}-admin"),
    ],
)
def test_a_role_built_by_flux_expansion_is_judged_as_flux_builds_it(
    tmp_path: Path, role: str, written: str
) -> None:
    assert bound(tmp_path, role, written) == ["K8S-RBAC-CLUSTER-ADMIN apps/web/binding.yaml:4"]


def test_another_role_built_the_same_way_is_green(tmp_path: Path) -> None:
    assert bound(tmp_path, "x", "${ROLE/x/view}") == []


def test_a_variable_the_cluster_may_set_stays_as_written(tmp_path: Path) -> None:
    # cluster-vars is not in the repository: UNSET may be set there, so nothing is judged
    # from a guess (GK-NOT-EXPANDED says so at the entry, as before).
    assert bound(tmp_path, "x", "cluster${UNSET}-admin", FROM_CLUSTER) == []


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("${V/a/b}", "bac"),
        ("${V//a/b}", "bbc"),
        ("${V/#a/b}", "bac"),
        ("${V/%c/d}", "aad"),
        ("${V/%a/d}", "aac"),
        ("${V//a}", "${V//a}"),  # no second `/`: Flux refuses it
        ("${V^^}", "AAC"),
        ("${V^}", "Aac"),
        ("${U,,}", "up"),
        ("${U,}", "uP"),
        ("${V:1}", "ac"),
        ("${V:1:1}", "a"),
        ("${V:-2}", "aac"),  # `:-` is the default, not a negative offset
        ("${V:1:-1}", "a"),
        ("${V:x}", "aac"),  # an offset Atoi refuses: the value
        ("${#V}", "3"),
        # Go's path.Match: `*` does not cross a `/` (bash's would)
        ("${P#*/}", "b/c"),
        ("${P##*/}", "b/c"),
        ("${P%/*}", "a/b"),
        ("${P%%/*}", "a/b"),
        ("${P##a*}", "/b/c"),
        ("${E:-d}", "d"),
        ("${E:=d}", "d"),
        ("${E=d}", "d"),
        ("${V:=d}", "aac"),
        ("${E:-${V}x}", "aacx"),
        ("$${V}", "${V}"),
        ("a${NOT_SET}b", "ab"),
        ("${V-x}", "${V-x}"),  # Flux refuses it: left as written
        ("${V", "${V"),
    ],
)
def test_expansion_follows_fluxcd_envsubst(text: str, expanded: str) -> None:
    variables = {"V": "aac", "U": "UP", "P": "a/b/c", "E": ""}
    assert expand(text, variables, complete=True) == expanded


def test_an_unknown_variable_keeps_its_expression() -> None:
    assert expand("a${X/y/z}b${V}", {"V": "v"}, complete=False) == "a${X/y/z}bv"
    assert expand("${X:=d}", {"V": "v"}, complete=False) == "d"


def test_a_plain_value_is_typed_again_a_quoted_one_is_not() -> None:
    assert substitute({"privileged": "tr${E}"}, {"E": "ue"}, True) == {"privileged": True}
    assert substitute({"privileged": "${P,,}"}, {"P": "TRUE"}, True) == {"privileged": True}
    assert substitute({"hostNetwork": "${Y}"}, {"Y": "y"}, True) == {"hostNetwork": True}
    assert substitute({"a": "x: ${E}"}, {"E": "ue"}, True) == {"a": "x: ue"}
    # Without variables Flux substitutes nothing: an unset one is not emptied.
    assert substitute({"a": "b${E}"}, {}, True) == {"a": "b${E}"}
