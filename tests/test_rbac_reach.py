"""A binding is judged by the rules of the repository's role it names (red team s11 r21: a
new ClusterRoleBinding gave an existing vendored `*` ClusterRole to `system:authenticated`
and nothing new was said)."""

from __future__ import annotations

from pathlib import Path

from gatekeeper.change import scan_change
from gatekeeper.finding import Finding
from tests.test_change import Repo

ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: operator}
rules:
  - {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
"""

READER = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules:
  - {apiGroups: [""], resources: [configmaps], verbs: [get]}
"""


def binding(name: str, role: str, subject: str) -> str:
    return f"""\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: {name}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {role}}}
subjects:
  - {subject}
"""


EVERYONE = "{kind: Group, name: 'system:authenticated', apiGroup: rbac.authorization.k8s.io}"
ONE_ACCOUNT = "{kind: ServiceAccount, name: ci, namespace: tools}"


def change(tmp_path: Path, added: dict[str, str]) -> list[Finding]:
    repo = Repo(tmp_path / "repo")
    repo.write("rbac/role.yaml", ROLE + "---\n" + READER)
    repo.commit("base")
    repo.branch("pr")
    for path, text in added.items():
        repo.write(path, text)
    repo.commit("change")
    return [f for f in scan_change(repo.root, "main").verdict.findings if f.status == "new"]


def test_a_new_binding_of_an_existing_wildcard_role_to_everyone_is_new_and_critical(
    tmp_path: Path,
) -> None:
    new = change(tmp_path, {"access.yaml": binding("all", "operator", EVERYONE)})
    at_binding = {(f.policy_id, f.severity) for f in new if f.file == "access.yaml"}
    assert ("K8S-RBAC-WILDCARD", "critical") in at_binding
    assert ("K8S-RBAC-BROAD-SUBJECT", "high") in at_binding
    wildcard = next(f for f in new if f.policy_id == "K8S-RBAC-WILDCARD")
    assert wildcard.line == 4  # roleRef
    assert "rbac/role.yaml" in wildcard.message


def test_a_new_binding_to_one_account_says_the_role_at_its_own_severity(tmp_path: Path) -> None:
    new = change(tmp_path, {"access.yaml": binding("ci", "operator", ONE_ACCOUNT)})
    assert {(f.policy_id, f.severity) for f in new} >= {("K8S-RBAC-WILDCARD", "high")}
    assert "K8S-RBAC-BROAD-SUBJECT" not in {f.policy_id for f in new}


def test_a_harmless_role_and_a_role_the_repository_lacks_say_no_role_rules(tmp_path: Path) -> None:
    new = change(
        tmp_path,
        {
            "reader.yaml": binding("read", "reader", ONE_ACCOUNT),
            "elsewhere.yaml": binding("other", "defined-elsewhere", ONE_ACCOUNT),
        },
    )
    assert not [f for f in new if f.policy_id.startswith("K8S-RBAC-")]


def test_a_binding_a_chart_renders_is_judged_by_the_role_it_renders(tmp_path: Path) -> None:
    """Objects rendered from a Helm chart (and kustomize builds) carry their RBAC facts too: a
    pull request adding a binding to the chart's role is judged by the role's rules. (A full
    scan says the role's finding once, at the role: the binding's would repeat it.)"""
    import gatekeeper
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", "builtin: true\n")
    repo.write("chart/Chart.yaml", "apiVersion: v2\nname: ops\nversion: 0.1.0\n")
    repo.write("chart/templates/role.yaml", ROLE)
    repo.commit("base")
    repo.branch("pr")
    repo.write("chart/templates/binding.yaml", binding("ops", "operator", ONE_ACCOUNT))
    repo.commit("bind it")

    def at_binding(findings: list[Finding]) -> list[tuple[str, str]]:
        return [
            (f.file, f.status)
            for f in findings
            if f.policy_id == "K8S-RBAC-WILDCARD" and f.kind == "ClusterRoleBinding"
        ]

    changed = scan_change(repo.root, "main").verdict.findings
    assert at_binding(changed) == [("chart/templates/binding.yaml", "new")]
    full = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    assert at_binding(full) == []


def test_a_binding_of_an_aggregated_role_is_judged_by_the_rules_it_aggregates(
    tmp_path: Path,
) -> None:
    """Red team s13: a new ClusterRole whose aggregationRule selects an existing `*` role, and
    a binding of it: the controller fills the new role with the `*` rules."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", "builtin: true\n")
    labelled = ROLE.replace("{name: operator}", "{name: operator, labels: {acme.io/agg: 'true'}}")
    repo.write("rbac/operator.yaml", labelled)
    repo.commit("base")
    repo.branch("pr")
    aggregating = (
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\n"
        "aggregationRule:\n  clusterRoleSelectors:\n  - matchLabels: {acme.io/agg: 'true'}\n"
        "rules: []\n---\n"
    )
    repo.write("rbac/reader.yaml", aggregating + binding("bot", "reader", ONE_ACCOUNT))
    repo.commit("aggregate it")
    found = scan_change(repo.root, "main").verdict.findings
    assert [(f.kind, f.status) for f in found if f.policy_id == "K8S-RBAC-WILDCARD"] == [
        ("ClusterRoleBinding", "new")
    ]


def test_a_harmless_copy_of_a_role_beside_the_binding_hides_no_other_copy(
    tmp_path: Path,
) -> None:
    """Red team s14: a copy of `operator` with harmless rules beside a new binding, while the
    install that is deployed holds the `*` one: every definition counts."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", "builtin: true\n")
    repo.write("install/operator.yaml", ROLE)
    repo.commit("base")
    repo.branch("pr")
    harmless = READER.replace("name: reader", "name: operator")
    repo.write("bots/bind.yaml", harmless + "---\n" + binding("bot", "operator", ONE_ACCOUNT))
    repo.commit("bind")
    found = scan_change(repo.root, "main").verdict.findings
    assert ("ClusterRoleBinding", "new") in [
        (f.kind, f.status) for f in found if f.policy_id == "K8S-RBAC-WILDCARD"
    ]


def _scc(wide: bool) -> str:
    allowed = "true" if wide else "false"
    return (
        "apiVersion: security.openshift.io/v1\nkind: SecurityContextConstraints\n"
        f"metadata: {{name: team-scc}}\nallowPrivilegedContainer: {allowed}\n"
        f"allowHostDirVolumePlugin: {allowed}\n"
        f"runAsUser: {{type: {'RunAsAny' if wide else 'MustRunAsRange'}}}\n"
        "seLinuxContext: {type: MustRunAs}\nvolumes: [configMap, secret]\nusers: []\n"
    )


SCC_USER = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: team-scc-user}
rules:
  - apiGroups: [security.openshift.io]
    resources: [securitycontextconstraints]
    resourceNames: [team-scc]
    verbs: [use]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: team-scc-user, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: team-scc-user}
subjects:
  - {kind: ServiceAccount, name: app, namespace: team}
"""


def test_use_of_an_scc_the_repository_writes_is_judged_by_what_it_allows(
    tmp_path: Path,
) -> None:
    """K8S-RBAC-SCC-USE knew the powerful SCCs by their built-in names: `use` of team-scc,
    written in the repository with privileged containers, hostPath and any user ID but no
    users of its own, was green, added with its role and binding or widened alone (red team
    s20 trust13 s01). The same SCC restricted is the control."""
    repo = Repo(tmp_path / "repo")
    repo.write("deploy/scc.yaml", _scc(wide=False))
    repo.write("deploy/rbac.yaml", SCC_USER)
    repo.commit("base")
    base = scan_change(repo.root, "main").verdict.findings
    assert [f for f in base if "SCC" in f.policy_id] == []

    repo.branch("widened")
    repo.write("deploy/scc.yaml", _scc(wide=True))
    repo.commit("widen the SCC only")
    new = [f for f in scan_change(repo.root, "main").verdict.findings if f.status == "new"]
    assert [(f.policy_id, f.file, f.line, f.blocking) for f in new] == [
        ("K8S-RBAC-SCC-USE", "deploy/rbac.yaml", 13, True)
    ]
    assert "SCC team-scc (privileged containers, hostPath volumes, any user ID" in new[0].message

    repo.git.git.checkout("-q", "--orphan", "empty")
    repo.git.git.rm("-rq", "--cached", ".")
    (repo.root / "deploy/scc.yaml").unlink()
    (repo.root / "deploy/rbac.yaml").unlink()
    repo.write("README.md", "x\n")
    repo.commit("nothing")
    repo.branch("added")
    repo.write("deploy/scc.yaml", _scc(wide=True))
    repo.write("deploy/rbac.yaml", SCC_USER)
    repo.commit("add all three")
    new = [f for f in scan_change(repo.root, "empty").verdict.findings if f.status == "new"]
    assert [(f.policy_id, f.file, f.line) for f in new if "SCC" in f.policy_id] == [
        ("K8S-RBAC-SCC-USE", "deploy/rbac.yaml", 13)
    ]


def test_an_scc_adding_capabilities_or_forcing_root_is_a_grant(tmp_path: Path) -> None:
    """An SCC that adds SYS_ADMIN to every container by default, forces user ID 0 or a range
    from 0, allows host ports or every unsafe sysctl was no grant K8S-RBAC-SCC-GRANT read,
    listed in `users` or used by a bound role (red team s20 trust13 s10)."""
    repo = Repo(tmp_path / "repo")
    repo.write("README.md", "x\n")
    repo.commit("base")
    repo.branch("pr")
    scc = (
        "apiVersion: security.openshift.io/v1\nkind: SecurityContextConstraints\n"
        "metadata: {name: %s}\nrunAsUser: %s\n%s\nusers: [%s]\n"
    )
    repo.write(
        "deploy/scc.yaml",
        "---\n".join(
            [
                scc % ("caps", "{type: MustRunAsRange}", "defaultAddCapabilities: [SYS_ADMIN]",
                       "system:serviceaccount:a:a"),
                scc % ("root", "{type: MustRunAs, uid: 0}", "", "system:serviceaccount:a:b"),
                scc % ("team-scc", "{type: MustRunAsRange, uidRangeMin: 0}",
                       "allowHostPorts: true", ""),
            ]
        ),
    )  # fmt: skip
    repo.write("deploy/rbac.yaml", SCC_USER)
    repo.commit("grants")
    new = [f for f in scan_change(repo.root, "main").verdict.findings if f.status == "new"]
    said = sorted(
        (f.policy_id, f.message.partition(" use ")[2]) for f in new if "SCC" in f.policy_id
    )
    assert said == [
        ("K8S-RBAC-SCC-GRANT", "capabilities SYS_ADMIN added by default"),
        ("K8S-RBAC-SCC-GRANT", "root (user ID 0)"),
        (
            "K8S-RBAC-SCC-USE",
            "of SCC team-scc (host ports, root (user ID 0)): its subjects' pods are admitted so",
        ),
    ]


def test_a_full_scan_says_a_prefixed_built_role_s_finding_once_at_the_role(
    tmp_path: Path,
) -> None:
    """kubebuilder's config/rbac built by an overlay with `namePrefix:` (opentelemetry-
    operator's config/no-crds): the role's finding is said at the base's role.yaml, named
    as written (`manager-role`) and deployed as `op-manager-role`; the binding's finding
    named the built role, so it did not count as said and was repeated, blocking, at the
    kustomization's lines (the built binding's file). It is left out as the unprefixed
    one is; a binding giving the role to everyone is still said (critical)."""
    import gatekeeper
    from tests.test_change import Repo

    repo = Repo(tmp_path / "repo")
    repo.write(".gatekeeper.yml", "builtin: true\n")
    repo.write("config/rbac/kustomization.yaml", "resources: [role.yaml, binding.yaml]\n")
    repo.write("config/rbac/role.yaml", ROLE)
    repo.write("config/rbac/binding.yaml", binding("manager", "operator", ONE_ACCOUNT))
    repo.write(
        "config/default/kustomization.yaml",
        "namespace: op-system\nnamePrefix: op-\nresources: [../rbac]\n",
    )
    repo.commit("base")

    def said(findings: list[Finding]) -> list[tuple[str, str, str]]:
        return [
            (f.kind, f.file, f.severity) for f in findings if f.policy_id == "K8S-RBAC-WILDCARD"
        ]

    full = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    assert set(said(full)) == {("ClusterRole", "config/rbac/role.yaml", "high")}
    repo.write("config/rbac/binding.yaml", binding("manager", "operator", EVERYONE))
    repo.commit("to everyone")
    full = gatekeeper.scan(repo.root, root=repo.root, jobs=1).verdict.findings
    assert ("ClusterRoleBinding", "critical") in {(k, s) for k, _, s in said(full)}
