"""ValidatingAdmissionPolicies evaluated in the pull request as the API server would."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatekeeper.evaluate import Engine
from gatekeeper.scanner import scan
from gatekeeper.sources import LoadContext
from gatekeeper.tree import MemoryTree
from tests.conftest import Run

Gatekeeper = Callable[..., Run]

REPLICA_LIMIT = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: replica-limit
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: ["apps"]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["deployments"]
  validations:
    - expression: "object.spec.replicas <= 5"
      message: "at most 5 replicas"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: replica-limit-test
spec:
  policyName: replica-limit
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels:
        environment: test
"""
NAMESPACES = """\
apiVersion: v1
kind: Namespace
metadata:
  name: test
  labels: {environment: test}
---
apiVersion: v1
kind: Namespace
metadata:
  name: prod
"""


def deployment(name: str, namespace: str, replicas: int, **extra: str) -> str:
    labels = "".join(f"\n    {key}: {value}" for key, value in extra.items())
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
  labels:
    app: {name}{labels}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: {name}
          image: ghcr.io/acme/{name}:1.0
          resources:
            limits: {{memory: 3Gi}}
"""


def findings(files: dict[str, str]) -> list[Any]:
    pairs = [(name, text.encode()) for name, text in sorted(files.items())]
    context = LoadContext(tree=MemoryTree(dict(pairs)))
    return scan(pairs, Engine([]), 1, context).findings


def where(found: list[Any]) -> list[tuple[str, str, int, str, str]]:
    return sorted((f.policy_id, f.file, f.line, f.severity, f.message) for f in found)


def test_a_bound_policy_judges_the_objects_its_namespace_selector_picks() -> None:
    found = findings(
        {
            "admission/replicas.yaml": REPLICA_LIMIT,
            "namespaces.yaml": NAMESPACES,
            "apps/test.yaml": deployment("web", "test", 6),
            "apps/prod.yaml": deployment("api", "prod", 9),
            "apps/small.yaml": deployment("tiny", "test", 2),
        }
    )
    assert where(found) == [
        ("VAP-replica-limit", "apps/test.yaml", 9, "high", "at most 5 replicas")
    ]
    assert found[0].path == "spec.replicas"


def test_without_a_binding_a_policy_does_nothing() -> None:
    unbound = REPLICA_LIMIT.split("---")[0]
    assert findings({"vap.yaml": unbound, "app.yaml": deployment("web", "test", 9)}) == []


def test_params_variables_match_conditions_and_message_expressions() -> None:
    policy = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: limits}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
      - {apiGroups: ["*"], apiVersions: ["*"], operations: ["*"], resources: ["*"]}
  matchConditions:
    - name: workloads-only
      expression: "has(object.spec) && has(object.spec.template)"
  variables:
    - name: containers
      expression: "object.spec.template.spec.containers"
    - name: limit
      expression: "quantity(params.data.maxMemory)"
  validations:
    - expression: >-
        variables.containers.all(c, !has(c.resources.limits.memory) ||
          !quantity(c.resources.limits.memory).isGreaterThan(variables.limit))
      messageExpression: "object.metadata.name + ' asks for more than ' + params.data.maxMemory"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: limits-binding}
spec:
  policyName: limits
  validationActions: [Warn]
  paramRef: {name: memory-limit, namespace: platform, parameterNotFoundAction: Deny}
"""
    params = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: memory-limit, namespace: platform}
data: {maxMemory: 2Gi}
"""
    service = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: x}\nspec: {}\n"
    files = {"vap.yaml": policy, "app.yaml": deployment("web", "x", 1), "svc.yaml": service}
    found = findings({**files, "params.yaml": params})
    assert where(found) == [("VAP-limits", "app.yaml", 1, "low", "web asks for more than 2Gi")]
    assert found[0].blocking is False
    # Deny when the parameters are not there: before the match conditions, as the API
    # server looks parameters up first
    missing = findings(files)
    assert sorted((f.file, f.message) for f in missing) == [
        ("app.yaml", "no ConfigMap parameters found for binding limits-binding"),
        ("svc.yaml", "no ConfigMap parameters found for binding limits-binding"),
    ]


def test_failure_policy_and_the_authorizer() -> None:
    policy = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: p}
spec:
  failurePolicy: FAILURE
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["configmaps"]}
  validations:
    - expression: "int(object.data.size) < 10"
    - expression: "authorizer.group('').resource('secrets').check('get').allowed()"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: b}
spec: {policyName: p, validationActions: [Deny]}
"""
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {size: big}\n"
    failing = findings({"vap.yaml": policy.replace("FAILURE", "Fail"), "cm.yaml": config})
    assert sorted((f.severity, "could not be evaluated" in f.message) for f in failing) == [
        ("high", True),
        ("low", False),  # authorizer: said not evaluable, never passed
    ]
    assert any("needs the cluster" in f.message for f in failing)
    ignoring = findings({"vap.yaml": policy.replace("FAILURE", "Ignore"), "cm.yaml": config})
    assert [f.severity for f in ignoring] == ["low"]


def test_policies_from_a_policy_directory_and_from_the_repository_block_the_scan(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    policies = tmp_path / "org-policies"
    policies.mkdir()
    (policies / "replicas.yaml").write_text(REPLICA_LIMIT)
    repo = tmp_path / "repo"
    (repo / "apps").mkdir(parents=True)
    (repo / "namespaces.yaml").write_text(NAMESPACES)
    (repo / "apps/web.yaml").write_text(deployment("web", "test", 7))
    run = gatekeeper("scan", ".", "--no-builtin", "-p", str(policies), "--format", "json", cwd=repo)
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert [(f["policy_id"], f["file"], f["line"]) for f in report["findings"]] == [
        ("VAP-replica-limit", "apps/web.yaml", 9)
    ]
    (repo / "admission.yaml").write_text(REPLICA_LIMIT)  # the repository deploys it itself
    run = gatekeeper("scan", ".", "--no-builtin", "--format", "json", cwd=repo)
    assert run.returncode == 1, run.stderr


def test_kyverno_validating_policies_bind_themselves() -> None:
    """Kyverno's CEL ValidatingPolicy is a ValidatingAdmissionPolicy with its actions inside;
    an expression using Kyverno's own libraries is said not to be evaluable."""
    policy = """\
apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata: {name: check-labels}
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
      - apiGroups: [apps]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [deployments]
  validations:
    - message: label 'environment' is required
      expression: "'environment' in object.metadata.?labels.orValue([])"
    - expression: "resource.Get('v1', 'configmaps', 'x', 'y').data.a == 'b'"
"""
    found = findings(
        {
            "kyverno.yaml": policy,
            "a.yaml": deployment("web", "x", 1),
            "b.yaml": deployment("api", "x", 1, environment="prod"),
        }
    )
    assert sorted((f.policy_id, f.file, f.line, f.severity) for f in found) == [
        ("GK-NOT-EXPANDED", "kyverno.yaml", 15, "low"),
        ("VAP-check-labels", "a.yaml", 6, "high"),  # at the labels it reads
    ]
    assert any("Kyverno's own CEL libraries" in f.message for f in found)


def test_a_pull_request_is_judged_by_the_admission_policies_of_its_revision(
    tmp_path: Path,
) -> None:
    """scan --base: the repository's admission policy, bound in a namespace the repository
    declares, judges a Deployment the change scales past its limit."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path)
    repo.write("cluster/admission.yaml", REPLICA_LIMIT)
    repo.write("cluster/namespaces.yaml", NAMESPACES)
    repo.write("apps/web.yaml", deployment("web", "test", 3))
    repo.commit("base")
    repo.branch("pr")
    repo.write("apps/web.yaml", deployment("web", "test", 9))
    repo.commit("scale")
    verdict = scan_change(tmp_path, "main", filter_mode="all").verdict
    new = [(f.policy_id, f.file, f.line) for f in verdict.findings if f.status == "new"]
    assert ("VAP-replica-limit", "apps/web.yaml", 9) in new
    assert verdict.exit_code == 1


NO_SCALE_DOWN = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-scale-down}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [UPDATE], resources: [deployments]}
  validations:
    - expression: "object.spec.replicas >= oldObject.spec.replicas"
      messageExpression: "'replicas ' + string(oldObject.spec.replicas) + ' -> ' +
        string(object.spec.replicas) + ' (' + request.operation + ')'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: team-is-immutable}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: ["*"], apiVersions: ["*"], operations: [CREATE, UPDATE], resources: ["*"]}
  validations:
    - expression: >-
        oldObject == null ||
        object.metadata.?labels.team.orValue('') == oldObject.metadata.?labels.team.orValue('')
      message: the team label cannot change
    - expression: "request.operation != 'CREATE' || has(object.metadata.labels.team)"
      message: a new object names its team
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-scale-down}
spec: {policyName: no-scale-down, validationActions: [Deny]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: team-is-immutable}
spec:
  policyName: team-is-immutable
  validationActions: [Deny]
  matchResources:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: ["*"], resources: [deployments]}
"""


def pull_request(tmp_path: Path, base: dict[str, str], head: dict[str, str | None]) -> list[Any]:
    """The findings of a pull request that turns `base` into `head` (None: deleted)."""
    from gatekeeper.change import scan_change
    from tests.test_change import Repo

    repo = Repo(tmp_path)
    for name, text in base.items():
        repo.write(name, text)
    repo.commit("base")
    repo.branch("pr")
    for name, changed in head.items():
        if changed is None:
            (tmp_path / name).unlink()
        else:
            repo.write(name, changed)
    repo.commit("change")
    return scan_change(tmp_path, "main", filter_mode="all").verdict.findings


def statuses(found: list[Any]) -> list[tuple[str, str, str, str]]:
    return sorted(
        (f.status, f.policy_id, f.file, f.message) for f in found if f.policy_id.startswith("VAP")
    )


def test_in_a_pull_request_an_object_the_base_has_is_updated(tmp_path: Path) -> None:
    """oldObject is the base revision's object and the operation UPDATE: scaling down is
    denied, a new Deployment is a CREATE (the UPDATE-only policy does not apply to it)."""
    team = {"team": "a"}
    found = pull_request(
        tmp_path,
        {
            "cluster/admission.yaml": NO_SCALE_DOWN,
            "apps/web.yaml": deployment("web", "shop", 5, **team),
            "apps/api.yaml": deployment("api", "shop", 2, **team),
        },
        {
            "apps/web.yaml": deployment("web", "shop", 3, **team),
            "apps/api.yaml": deployment("api", "shop", 4, **team),
            "apps/new.yaml": deployment("new", "shop", 1, **team),
        },
    )
    assert statuses(found) == [
        ("new", "VAP-no-scale-down", "apps/web.yaml", "replicas 5 -> 3 (UPDATE)"),
    ]
    vap = [f for f in found if f.policy_id == "VAP-no-scale-down"]
    assert [f.line for f in vap] == [10]  # spec.replicas: the one field path of `object`


def test_an_update_may_not_change_an_immutable_field_wherever_the_object_moves(
    tmp_path: Path,
) -> None:
    """The identity (group, kind, namespace, name) decides, not the file: an object moved to
    another file, or copied into a new file beside the untouched original (a second apply of
    the same object), is still an update; no namespace is `default`."""
    original = deployment("web", "default", 2, team="a")
    found = pull_request(
        tmp_path,
        {
            "cluster/admission.yaml": NO_SCALE_DOWN,
            "apps/web.yaml": original,
            "apps/db.yaml": deployment("db", "default", 1, team="a"),
        },
        {
            "apps/web.yaml": None,
            "moved/web.yaml": original.replace("team: a", "team: b"),
            "apps/copy.yaml": deployment("db", "default", 1, team="c").replace(
                "  namespace: default\n", ""
            ),
            "apps/fresh.yaml": deployment("fresh", "default", 1),
        },
    )
    assert statuses(found) == [
        ("new", "VAP-team-is-immutable", "apps/copy.yaml", "the team label cannot change"),
        ("new", "VAP-team-is-immutable", "apps/fresh.yaml", "a new object names its team"),
        ("new", "VAP-team-is-immutable", "moved/web.yaml", "the team label cannot change"),
    ]


def test_an_object_the_change_leaves_alone_keeps_its_findings(tmp_path: Path) -> None:
    """In a changed file, an unchanged object is judged as the plain scan judges it (the
    API server is not asked again): its CREATE-time finding stays existing, not fixed. The
    changed one is an UPDATE, which the CREATE-time rule does not judge."""
    found = pull_request(
        tmp_path,
        {
            "cluster/admission.yaml": NO_SCALE_DOWN,
            "apps/both.yaml": deployment("old", "x", 1) + "---\n" + deployment("b", "x", 1),
        },
        {"apps/both.yaml": deployment("old", "x", 1) + "---\n" + deployment("b", "x", 2)},
    )
    assert statuses(found) == [
        ("existing", "VAP-team-is-immutable", "apps/both.yaml", "a new object names its team"),
        ("fixed", "VAP-team-is-immutable", "apps/both.yaml", "a new object names its team"),
    ]


def test_a_plain_scan_creates_everything() -> None:
    """No base: every object is a CREATE with a null oldObject (UPDATE-only rules wait)."""
    found = findings({"vap.yaml": NO_SCALE_DOWN, "app.yaml": deployment("web", "x", 1, team="a")})
    assert found == []
    found = findings({"vap.yaml": NO_SCALE_DOWN, "app.yaml": deployment("web", "x", 1)})
    assert [f.message for f in found] == ["a new object names its team"]


def test_an_overlay_the_change_scales_down_is_an_update(tmp_path: Path) -> None:
    """Rendered objects (a Kustomize overlay) are compared with the base's rendering."""
    overlay = "resources:\n  - ../../base\nnamespace: prod\nreplicas:\n  - {name: web, count: N}\n"
    base = {
        "cluster/admission.yaml": NO_SCALE_DOWN,
        "base/kustomization.yaml": "resources:\n  - web.yaml\n",
        "base/web.yaml": deployment("web", "default", 1, team="a"),
        "overlays/prod/kustomization.yaml": overlay.replace("N", "6"),
    }
    found = pull_request(
        tmp_path / "scaled", base, {"overlays/prod/kustomization.yaml": overlay.replace("N", "2")}
    )
    assert statuses(found) == [
        ("new", "VAP-no-scale-down", "overlays/prod/kustomization.yaml", "replicas 6 -> 2 (UPDATE)")
    ]
    # taken out of the overlay into a plain manifest: still the same object, still an update
    plain = deployment("web", "prod", 2, team="a")
    moved = {"overlays/prod/kustomization.yaml": None, "apps/web.yaml": plain}
    found = pull_request(tmp_path / "moved", base, moved)
    assert statuses(found) == [
        ("new", "VAP-no-scale-down", "apps/web.yaml", "replicas 6 -> 2 (UPDATE)")
    ]


def cost_policy(failure_policy: str, *validations: str) -> str:
    rules = "".join(f"    - expression: {json.dumps(v)}\n" for v in validations)
    return f"""\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {{name: costly}}
spec:
  failurePolicy: {failure_policy}
  matchConstraints:
    resourceRules:
      - {{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}}
  validations:
{rules}---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {{name: costly}}
spec: {{policyName: costly, validationActions: [Deny]}}
"""


def config_map(keys: int) -> str:
    data = ", ".join(f"k{i}: v{i}" for i in range(keys))
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata: {{{data}}}\n"


def test_an_expression_over_the_cost_limit_fails_as_failure_policy_says() -> None:
    """The API server stops an expression past 1,000,000 cost units: the error follows
    failurePolicy. A nested walk over 1,500 keys (about 2,250,000 visits) is over, the same
    walk over 20 keys is not."""
    pairs = "object.data.all(k, object.data.all(j, k == j || object.data[k] != object.data[j]))"
    found = findings({"vap.yaml": cost_policy("Fail", pairs), "cm.yaml": config_map(1500)})
    assert [(f.severity, f.file) for f in found] == [("high", "cm.yaml")]
    assert "actual cost limit exceeded" in found[0].message
    assert findings({"vap.yaml": cost_policy("Ignore", pairs), "cm.yaml": config_map(1500)}) == []
    assert findings({"vap.yaml": cost_policy("Fail", pairs), "cm.yaml": config_map(20)}) == []


def test_list_membership_costs_the_list_and_the_policy_has_one_budget() -> None:
    """`x in list` costs the list's length: 950 tests against 950 names cost about 900,000
    units, under the limit of one expression. Twelve such validations pass one by one but
    not together: past 10,000,000 the API server runs no further validation (one failure,
    not twelve)."""
    walk = "object.spec.used.all(n, n in object.spec.names)"
    names = json.dumps([f"n{i}" for i in range(950)])
    allowlist = f"""\
apiVersion: example.com/v1
kind: Allowlist
metadata: {{name: big}}
spec: {{names: {names}, used: {names}}}
"""
    rule = '{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}'
    custom = "{apiGroups: [example.com], apiVersions: [v1], operations: [CREATE], "
    custom += "resources: [allowlists]}"
    one = cost_policy("Fail", walk).replace(rule, custom)
    assert findings({"vap.yaml": one, "list.yaml": allowlist}) == []
    twelve = cost_policy("Fail", *[walk] * 12).replace(rule, custom)
    found = findings({"vap.yaml": twelve, "list.yaml": allowlist})
    assert [f.severity for f in found] == ["high"]
    assert "running out of cost budget" in found[0].message


def test_more_iterations_than_offline_evaluation_allows_are_not_evaluated() -> None:
    """cel-cpp stops at 10,000 macro iterations, the API server does not (20,000 keys cost
    about 60,000 units): said not evaluable, never a failure nor a pass."""
    keys = "object.data.all(k, k.startsWith('k'))"
    found = findings({"vap.yaml": cost_policy("Fail", keys), "cm.yaml": config_map(20000)})
    assert [(f.severity, f.blocking) for f in found] == [("low", False)]
    assert "more than the 10,000 times" in found[0].message


# --- the examples of the Kubernetes documentation, in our own words -----------------------

REPLICA_LIMIT_PARAMS = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: replica-cap}
spec:
  failurePolicy: Fail
  paramKind: {apiVersion: limits.acme.io/v1, kind: ReplicaCap}
  matchConstraints:
    resourceRules:
      - apiGroups: [apps]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [deployments]
  validations:
    - expression: "object.spec.replicas <= params.max"
      messageExpression: "'replicas above ' + string(params.max) + ' for ' + params.metadata.name"
      reason: Invalid
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: replica-cap-test}
spec:
  policyName: replica-cap
  validationActions: [Deny]
  paramRef: {name: cap-test, namespace: policy, parameterNotFoundAction: Deny}
  matchResources:
    namespaceSelector: {matchLabels: {environment: test}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: replica-cap-elsewhere}
spec:
  policyName: replica-cap
  validationActions: [Warn, Audit]
  paramRef: {name: cap-wide, namespace: policy, parameterNotFoundAction: Deny}
  matchResources:
    namespaceSelector:
      matchExpressions: [{key: environment, operator: NotIn, values: [test]}]
---
apiVersion: limits.acme.io/v1
kind: ReplicaCap
metadata: {name: cap-test, namespace: policy}
max: 3
---
apiVersion: limits.acme.io/v1
kind: ReplicaCap
metadata: {name: cap-wide, namespace: policy}
max: 8
"""


def test_docs_parameters_select_a_limit_per_environment() -> None:
    """One policy, two bindings: the test namespaces get their parameter object and Deny,
    every other namespace the cluster-wide one, as a warning."""
    found = findings(
        {
            "policy.yaml": REPLICA_LIMIT_PARAMS,
            "namespaces.yaml": NAMESPACES,
            "apps/test-ok.yaml": deployment("small", "test", 3),
            "apps/test.yaml": deployment("web", "test", 4),
            "apps/prod-ok.yaml": deployment("api", "prod", 8),
            "apps/prod.yaml": deployment("batch", "prod", 9),
        }
    )
    assert where(found) == [
        ("VAP-replica-cap", "apps/prod.yaml", 9, "low", "replicas above 8 for cap-wide"),
        ("VAP-replica-cap", "apps/test.yaml", 9, "high", "replicas above 3 for cap-test"),
    ]


def test_docs_match_conditions_narrow_what_a_policy_judges() -> None:
    """matchConditions run before the validations: leases, requests of nodes and RBAC
    objects are left alone; everything else named `demo...` must live in `demo`."""
    policy = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: demo-names}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: ["*"], apiVersions: ["*"], operations: [CREATE, UPDATE], resources: ["*"]}
  matchConditions:
    - name: not-leases
      expression: >-
        !(request.resource.group == 'coordination.k8s.io' &&
          request.resource.resource == 'leases')
    - name: not-nodes
      expression: "!('system:nodes' in request.userInfo.groups)"
    - name: not-rbac
      expression: "request.resource.group != 'rbac.authorization.k8s.io'"
  validations:
    - expression: "!object.metadata.name.contains('demo') || object.metadata.namespace == 'demo'"
      message: demo objects belong in the demo namespace
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: demo-names}
spec: {policyName: demo-names, validationActions: [Deny]}
"""

    def obj(api: str, kind: str, name: str, namespace: str) -> str:
        return (
            f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        )

    found = findings(
        {
            "policy.yaml": policy,
            "lease.yaml": obj("coordination.k8s.io/v1", "Lease", "demo-lock", "x"),
            "role.yaml": obj("rbac.authorization.k8s.io/v1", "Role", "demo-reader", "x"),
            "bad.yaml": obj("v1", "ConfigMap", "demo-settings", "x"),
            "good.yaml": obj("v1", "ConfigMap", "demo-settings", "demo"),
        }
    )
    assert where(found) == [
        ("VAP-demo-names", "bad.yaml", 1, "high", "demo objects belong in the demo namespace")
    ]


def test_docs_variables_compose_a_namespace_rule() -> None:
    """Variables read the namespace's labels and each other: images of `acme.example/`
    must come from the registry of the namespace's environment, unless exempted."""
    policy = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: image-environment}
spec:
  matchConstraints:
    resourceRules:
      - apiGroups: [apps]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [deployments]
  variables:
    - name: environment
      expression: "namespaceObject.metadata.?labels.environment.orValue('prod')"
    - name: exempt
      expression: "object.metadata.?labels.exempt.orValue('') == 'true'"
    - name: checked
      expression: >-
        object.spec.template.spec.containers.filter(c, c.image.contains('acme.example/'))
  validations:
    - expression: >-
        variables.exempt ||
        variables.checked.all(c, c.image.startsWith(variables.environment + '.'))
      messageExpression: >-
        'only ' + variables.environment + ' images in namespace ' + namespaceObject.metadata.name
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: image-environment}
spec: {policyName: image-environment, validationActions: [Deny]}
"""
    namespaces = NAMESPACES.replace("environment: test", "environment: staging")

    def app(name: str, namespace: str, image: str, **labels: str) -> str:
        return deployment(name, namespace, 1, **labels).replace(f"ghcr.io/acme/{name}:1.0", image)

    found = findings(
        {
            "policy.yaml": policy,
            "namespaces.yaml": namespaces,
            "a.yaml": app("a", "test", "staging.acme.example/a:1"),
            "b.yaml": app("b", "test", "prod.acme.example/b:1"),
            "c.yaml": app("c", "test", "prod.acme.example/c:1", exempt="'true'"),
            "d.yaml": app("d", "prod", "prod.acme.example/d:1"),
            "e.yaml": app("e", "test", "docker.io/library/e:1"),  # not acme's: not checked
        }
    )
    assert where(found) == [
        ("VAP-image-environment", "b.yaml", 1, "high", "only staging images in namespace test")
    ]


def test_docs_format_and_semver_libraries_in_a_policy() -> None:
    """The format library checks names as the API server's validation does, semver
    compares versions: a label naming a version below the supported one is refused."""
    policy = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: versions}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}
  validations:
    - expression: "!format.dns1035Label().validate(object.metadata.name).hasValue()"
      messageExpression: "format.dns1035Label().validate(object.metadata.name).value()[0]"
    - expression: >-
        !has(object.metadata.labels.version) ||
        (isSemver(object.metadata.labels.version, true) &&
         !semver(object.metadata.labels.version, true).isLessThan(semver('2.4.0')))
      message: version 2.4.0 or later
    - expression: "object.spec.template.spec.containers.map(c, c.name).indexOf('sidecar') <= 0"
      message: a sidecar comes first
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: versions}
spec: {policyName: versions, validationActions: [Deny]}
"""
    found = findings(
        {
            "policy.yaml": policy,
            "ok.yaml": deployment("web", "x", 1, version="v2.10"),
            "old.yaml": deployment("api", "x", 1, version="2.3.9"),
            "name.yaml": deployment("1st", "x", 1),
        }
    )
    assert sorted((f.file, f.message[:40]) for f in found) == [
        ("name.yaml", "a DNS-1035 label must consist of lower c"),
        ("old.yaml", "version 2.4.0 or later"),
    ]


def test_docs_per_namespace_parameters() -> None:
    """A namespaced parameter kind with no `paramRef.namespace` is looked up in the namespace
    of the object judged: each team sets its own rule; a namespace without one is denied."""
    policy = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: team-limits}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
      - apiGroups: [apps]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [deployments]
  validations:
    - expression: "params.data.enforce != 'true' || object.spec.replicas <= 2"
      messageExpression: "'at most 2 replicas in ' + params.metadata.namespace"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: team-limits}
spec:
  policyName: team-limits
  validationActions: [Deny]
  paramRef: {name: team-policy, parameterNotFoundAction: Deny}
"""

    def team(namespace: str, enforce: str) -> str:
        return f"""\
apiVersion: v1
kind: ConfigMap
metadata: {{name: team-policy, namespace: {namespace}}}
data: {{enforce: "{enforce}"}}
"""

    found = findings(
        {
            "policy.yaml": policy,
            "teams.yaml": team("alpha", "true") + "---\n" + team("beta", "false"),
            "alpha.yaml": deployment("a", "alpha", 3),
            "beta.yaml": deployment("b", "beta", 3),
            "gamma.yaml": deployment("c", "gamma", 1),
        }
    )
    assert sorted((f.file, f.message) for f in found if f.policy_id.startswith("VAP")) == [
        ("alpha.yaml", "at most 2 replicas in alpha"),
        ("gamma.yaml", "no ConfigMap parameters found for binding team-limits"),
    ]


def test_a_pod_policy_judges_the_pods_a_workload_will_create() -> None:
    """A policy written for Pods admits a Deployment, then refuses the Pods its controller
    creates: the rollout fails. Said at the pod template's field, with the controller as
    the requesting user (a policy that exempts kube-system's controllers exempts them)."""
    policy = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-host-network}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}
  matchConditions:
    - name: not-exempt
      expression: "request.userInfo.username != 'system:serviceaccount:kube-system:EXEMPT'"
  validations:
    - expression: "!object.spec.?hostNetwork.orValue(false)"
      message: host networking is not allowed
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-host-network}
spec: {policyName: no-host-network, validationActions: [Deny]}
"""
    host = deployment("web", "x", 1).replace("    spec:\n", "    spec:\n      hostNetwork: true\n")
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\n"
    pod += "spec:\n  hostNetwork: true\n  containers: [{name: c, image: c}]\n"
    files = {"host.yaml": host, "pod.yaml": pod, "fine.yaml": deployment("ok", "x", 1)}
    found = findings({**files, "policy.yaml": policy})
    assert [(f.file, f.line, f.path, f.message, f.kind) for f in found] == [
        (
            "host.yaml",
            14,
            "spec.template.spec.hostNetwork",
            "host networking is not allowed (in the Pods that Deployment web creates)",
            "Deployment",
        ),
        ("pod.yaml", 5, "spec.hostNetwork", "host networking is not allowed", "Pod"),
    ]
    exempt = policy.replace("EXEMPT", "replicaset-controller")
    assert [f.file for f in findings({**files, "policy.yaml": exempt})] == ["pod.yaml"]
    # a policy that judges Deployments as well: said once, at the Deployment
    both = policy.replace("resources: [pods]", "resources: [pods, deployments]")
    both = both.replace('apiGroups: [""]', 'apiGroups: ["", apps]')
    both = both.replace("object.spec.?hostNetwork", "object.spec.?template.spec.hostNetwork")
    found = findings({"host.yaml": host, "policy.yaml": both})
    assert [(f.file, f.message) for f in found] == [("host.yaml", "host networking is not allowed")]


def test_ceilings_that_add_up_past_the_budget_are_estimated_before_failing() -> None:
    """An expression is charged a ceiling when that is within the limits (no walk of the
    data); ceilings that add up past the budget are replaced by estimates first, so many
    cheap walks do not fail where the API server passes them."""
    from gatekeeper import admission_cost as cost
    from gatekeeper.admission import _Budget
    from gatekeeper.admission_cel import Expression

    items = list(range(12_000))
    data: dict[str, Any] = {"object": {"a": items}, "variables": {}}
    numbers = ", ".join(str(i) for i in range(60))
    # ceiling ~840,000 (every node once per item); estimate ~50,000 (the walk's body only)
    walk = Expression(f"object.a.exists(x, x == 0) && [{numbers}].size() > 0")
    assert 800_000 < (walk.ceiling(len(items), 0) or 0) <= cost.PER_EXPRESSION
    assert walk.cost(data) < 100_000
    budget = _Budget(cost.PER_EVALUATION, "the policy", cost.sizes(data["object"]))
    for _ in range(28):  # 11 ceilings, then estimates until they pass the budget: re-estimated
        assert budget.evaluate(walk, data) is True  # never OverBudget
    assert budget.spent <= cost.PER_EVALUATION


def test_resource_rules_name_resources_not_subresources() -> None:
    """A rule for `deployments/scale` or `pods/ephemeralcontainers` is about requests the
    repository never makes; `*/*` covers every resource; resourceNames pick by name."""
    rule = "{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: RESOURCES}"
    base = REPLICA_LIMIT.replace(
        """      - apiGroups: ["apps"]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["deployments"]""",
        f"      - {rule}",
    ).replace("    namespaceSelector:\n      matchLabels:\n        environment: test\n", "")
    base = base.replace("  matchResources:\n", "")
    assert "RESOURCES" in base and "namespaceSelector" not in base
    apps = {"a.yaml": deployment("web", "x", 9), "b.yaml": deployment("api", "x", 9)}

    def denied(resources: str) -> list[str]:
        policy = base.replace("RESOURCES", resources)
        return sorted(f.file for f in findings({"vap.yaml": policy, **apps}))

    assert denied("[deployments/scale]") == []
    assert denied("[deployments]") == ["a.yaml", "b.yaml"]
    assert denied('["*/*"]') == ["a.yaml", "b.yaml"]
    named = base.replace("resources: RESOURCES}", "resources: [deployments], resourceNames: [api]}")
    assert sorted(f.file for f in findings({"vap.yaml": named, **apps})) == ["b.yaml"]


def test_a_change_that_weakens_an_admission_policy_is_judged_by_the_base_version(
    tmp_path: Path,
) -> None:
    """Deleting the binding, or loosening the rule, in the pull request that breaks it does
    not make it pass: the base revision's version judges the change too (new violations are
    new, old ones stay existing); an unrelated change to the policy adds nothing twice."""
    loose = NO_SCALE_DOWN.replace(">= oldObject.spec.replicas", ">= 0")
    base = {"cluster/admission.yaml": NO_SCALE_DOWN, "apps/web.yaml": deployment("web", "x", 5)}
    scaled = deployment("web", "x", 2)
    for changed in (loose, NO_SCALE_DOWN.split("---")[0]):
        repo = tmp_path / str(len(changed))
        found = pull_request(
            repo, base, {"cluster/admission.yaml": changed, "apps/web.yaml": scaled}
        )
        new = [f for f in found if f.status == "new" and f.policy_id == "VAP-no-scale-down"]
        assert [f.message for f in new] == ["replicas 5 -> 2 (UPDATE)"]
        assert new[0].extra["admission_policy_revision"] == "base"
        assert "change the policy first" in new[0].remediation
    # the policy unchanged: judged once, by the head's (the same) version
    found = pull_request(tmp_path / "same", base, {"apps/web.yaml": scaled})
    vap = [f for f in found if f.policy_id == "VAP-no-scale-down"]
    assert len(vap) == 1 and "admission_policy_revision" not in vap[0].extra


def test_an_object_the_change_removes_is_deleted(tmp_path: Path) -> None:
    """A deployer that prunes deletes what the change removes: a policy on DELETE judges it
    with `object` null and `oldObject` the base's object, at its line in the base. Moved to
    another file, it is not deleted."""
    policy = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: keep-protected}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [DELETE], resources: [namespaces]}
  validations:
    - expression: "object == null && oldObject.metadata.?labels.protected.orValue('') != 'true'"
      messageExpression: "request.operation + ' of protected namespace ' + oldObject.metadata.name"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: keep-protected}
spec: {policyName: keep-protected, validationActions: [Deny]}
"""

    def namespace(name: str, protected: bool) -> str:
        labels = "\n  labels: {protected: 'true'}" if protected else ""
        return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}{labels}\n"

    found = pull_request(
        tmp_path,
        {
            "cluster/policy.yaml": policy,
            "cluster/namespaces.yaml": namespace("payments", True)
            + "---\n"
            + namespace("scratch", False)
            + "---\n"
            + namespace("ledger", True),
            "cluster/moving.yaml": namespace("audit", True),
        },
        {
            "cluster/namespaces.yaml": namespace("ledger", True),
            "cluster/moving.yaml": None,
            "cluster/moved.yaml": namespace("audit", True),
        },
    )
    assert [
        (f.status, f.file, f.line, f.message) for f in found if f.policy_id.startswith("VAP")
    ] == [
        (
            "new",
            "cluster/namespaces.yaml",
            1,
            "DELETE of protected namespace payments (deleting Namespace payments, which the "
            "change removes)",
        )
    ]


def test_removing_an_overlay_and_its_base_deletes_each_object_once(tmp_path: Path) -> None:
    """Removing an overlay and its base deletes what the overlay rendered (prod/web) and
    the base as a deployer may apply it (default/web: written, and built by its own
    kustomization), each object once."""
    policy = NO_SCALE_DOWN.split("---")[0].replace("[UPDATE]", "[DELETE]")
    policy = policy.replace("object.spec.replicas >= oldObject.spec.replicas", "false")
    policy += "---\n" + NO_SCALE_DOWN.split("---")[2]
    base = {
        "cluster/admission.yaml": policy,
        "base/kustomization.yaml": "resources:\n  - web.yaml\n",
        "base/web.yaml": deployment("web", "default", 1),
        "overlays/prod/kustomization.yaml": "resources:\n  - ../../base\nnamespace: prod\n",
    }
    removed = {path: None for path in base if path != "cluster/admission.yaml"}
    found = pull_request(tmp_path, base, removed)
    deleted = [(f.namespace, f.name, f.file) for f in found if f.policy_id.startswith("VAP")]
    assert sorted(deleted) == [
        ("default", "web", "base/web.yaml"),
        ("prod", "web", "base/web.yaml"),
    ]


def test_object_selectors_exclusions_and_audit_only_bindings() -> None:
    """A binding's objectSelector picks objects by label and excludeResourceRules leave some
    out (here by name); an Audit-only binding informs (`info`) and blocks nothing."""
    policy = REPLICA_LIMIT.replace(
        """    namespaceSelector:
      matchLabels:
        environment: test
""",
        """    objectSelector:
      matchExpressions: [{key: tier, operator: In, values: [frontend]}]
    excludeResourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: ["*"], resources: [deployments],
         resourceNames: [legacy]}
""",
    ).replace("validationActions: [Deny]", "validationActions: [Audit]")
    assert "objectSelector" in policy and "[Audit]" in policy
    found = findings(
        {
            "vap.yaml": policy,
            "front.yaml": deployment("web", "x", 9, tier="frontend"),
            "legacy.yaml": deployment("legacy", "x", 9, tier="frontend"),
            "back.yaml": deployment("api", "x", 9, tier="backend"),
        }
    )
    assert [(f.file, f.severity, f.blocking) for f in found] == [("front.yaml", "info", False)]


_DEPLOYER_ONLY = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: deployer-only}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}
  validations:
    - expression: "'gitops-deployers' in request.userInfo.groups"
      messageExpression: "'only the deployer may apply, not ' + request.userInfo.username"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: deployer-only}
spec: {policyName: deployer-only, validationActions: [Deny]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: apps}
"""


def test_request_user_info_comes_from_the_configuration(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """`admission.userInfo` is who the policies see apply: the GitOps deployer's identity.
    Without it they see `gatekeeper` with no groups, and a group rule denies."""
    (tmp_path / "all.yaml").write_text(_DEPLOYER_ONLY)
    denied = gatekeeper("scan", "--format", "json", str(tmp_path), cwd=tmp_path)
    assert denied.returncode == 1, denied.stderr
    [finding] = [f for f in json.loads(denied.stdout)["findings"] if f["kind"] == "ConfigMap"]
    assert "not gatekeeper" in finding["message"]
    (tmp_path / ".gatekeeper.yml").write_text(
        "admission:\n  userInfo:\n    username: system:serviceaccount:argocd:argocd\n"
        "    groups: [gitops-deployers]\n"
    )
    allowed = gatekeeper("scan", "--format", "json", str(tmp_path), cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    (tmp_path / ".gatekeeper.yml").write_text("admission:\n  userInfo:\n    group: [x]\n")
    bad = gatekeeper("scan", str(tmp_path), cwd=tmp_path)
    assert bad.returncode == 2 and ".gatekeeper.yml:3" in bad.stderr, bad.stderr


_SEMVER_POLICY = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: versioned-images}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}
  validations:
    - expression: "isSemver(object.data.version) && 'semver(' != ''"
      message: the version must be a semantic version
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: versioned-images}
spec: {policyName: versioned-images, validationActions: [Deny]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: apps}
data: {version: "1.2.3"}
"""


def test_a_library_the_configured_api_server_lacks_is_reported_at_the_expression(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    """semver came with Kubernetes 1.33: an API server of 1.32 rejects the policy, so it is
    reported at its expression (a string that merely names it is not a use)."""
    (tmp_path / "all.yaml").write_text(_SEMVER_POLICY)
    (tmp_path / ".gatekeeper.yml").write_text("admission:\n  kubeVersion: '1.33'\n")
    current = gatekeeper("scan", "--format", "json", str(tmp_path), cwd=tmp_path)
    assert current.returncode == 0, current.stdout + current.stderr
    (tmp_path / ".gatekeeper.yml").write_text("admission:\n  kubeVersion: v1.32\n")
    older = gatekeeper("scan", "--format", "json", str(tmp_path), cwd=tmp_path)
    assert older.returncode == 1, older.stderr
    [finding] = json.loads(older.stdout)["findings"]
    assert (finding["file"], finding["line"]) == ("all.yaml", 9)
    assert "the semver library" in finding["message"] and "1.33" in finding["message"]


def test_library_versions() -> None:
    from gatekeeper.admission_cel import unavailable

    assert unavailable("ip(object.x).family() == 4", "1.29") == (
        "the ip and cidr libraries",
        "1.30",
    )
    assert unavailable("ip(object.x).family() == 4", "1.30") is None
    assert unavailable("object.?spec.orValue({}) == {}", "1.27")[1] == "1.28"  # type: ignore[index]
    assert unavailable("object.m.all(k, v, v > 0)", "1.31") == (
        "two-variable comprehensions",
        "1.32",
    )
    assert unavailable("object.m.all(k, k > 0)", "1.31") is None
    assert unavailable("format.dns1123Label().validate(object.n)", "") is None
    assert unavailable("'format.x(' + object.n", "1.20") is None


def test_the_hook_leaves_the_repositorys_own_admission_policies_to_the_pull_request(
    gatekeeper: Gatekeeper, tmp_path: Path
) -> None:
    """Finding them means searching every file of the repository: the hook (a few staged
    files) leaves them to the pull request check, as it leaves repository-scope policies;
    those of a policy directory still judge the staged files."""
    repo = tmp_path / "repo"
    (repo / "apps").mkdir(parents=True)
    (repo / ".git").mkdir()
    (repo / "namespaces.yaml").write_text(NAMESPACES)
    (repo / "admission.yaml").write_text(REPLICA_LIMIT)
    (repo / "apps/web.yaml").write_text(deployment("web", "test", 7))

    def found(*args: str) -> list[str]:
        run = gatekeeper("scan", *args, "--no-builtin", "--format", "json", cwd=repo)
        assert run.returncode in (0, 1), run.stderr
        return [f["policy_id"] for f in json.loads(run.stdout)["findings"]]

    assert found("apps/web.yaml") == ["VAP-replica-limit"]
    assert found("--hook", "apps/web.yaml") == []
    policies = tmp_path / "org-policies"
    policies.mkdir()
    (policies / "replicas.yaml").write_text(REPLICA_LIMIT)
    (repo / "admission.yaml").unlink()
    assert found("--hook", "apps/web.yaml", "-p", str(policies)) == ["VAP-replica-limit"]
