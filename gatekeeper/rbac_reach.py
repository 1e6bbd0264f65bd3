"""A binding is judged by the rules of the repository's role it names.

The role policies (K8S-RBAC-WILDCARD, ESCALATE, PRIVILEGE-PATHS, SECRETS-READ, POD-CREATE)
judge a Role or ClusterRole where it is written; a binding only says who gets it. A pull
request that adds a ClusterRoleBinding giving an existing, vendored `*`-on-`*` ClusterRole to a
new subject changes nothing the role policies see: its finding is the role's, old (and often
waived). So what they say of the role is said again at each binding of it, with the binding's
identity: new when the binding is new, whatever the role's own finding is. A binding to
`system:authenticated` and the other groups everyone is in (K8S-RBAC-BROAD-SUBJECT) makes it
critical: every user and every token of the cluster holds the role.

A role's `use` of an OpenShift SecurityContextConstraints the repository writes is judged by
what that SCC allows (privileged containers, the host, any user ID), as K8S-RBAC-SCC-USE
judges the powerful built-in ones by name: the SCC need not list users of its own (red team
s20 trust13 s01), and a pull request widening it changes what the binding gives.

The roles are those of the inventory (every file of the head tree, the unchanged ones read
through the blob cache: plain YAML, so a role only a Helm chart renders counts when its chart
is scanned); a binding to a role the repository does not define is left to the built-in role
policies (K8S-RBAC-BUILTIN-ROLE, K8S-RBAC-CLUSTER-ADMIN).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gatekeeper import subject_identity
from gatekeeper.document import Document, Location
from gatekeeper.fieldpath import Path
from gatekeeper.finding import Finding, fingerprint
from gatekeeper.inventory import BINDING_KINDS, ROLE_KINDS, SCC_KIND, InventoryEntry

if TYPE_CHECKING:
    from gatekeeper.evaluate import Engine

# The role policies whose verdict on a role is said at its bindings.
ROLE_POLICIES = frozenset(
    {
        "K8S-RBAC-WILDCARD",
        "K8S-RBAC-ESCALATE",
        "K8S-RBAC-PRIVILEGE-PATHS",
        "K8S-RBAC-SECRETS-READ",
        "K8S-RBAC-POD-CREATE",
        "K8S-RBAC-SCC-USE",
    }
)
RBAC_KINDS = ROLE_KINDS | BINDING_KINDS
SCC_USE = "K8S-RBAC-SCC-USE"
SCC_GRANT = "K8S-RBAC-SCC-GRANT"
# K8S-RBAC-SCC-GRANT's capabilities, when it is not loaded.
_ESCAPING_CAPABILITIES = ("*", "ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO",
                          "NET_ADMIN", "BPF", "DAC_READ_SEARCH", "SYS_BOOT", "PERFMON")  # fmt: skip

# Groups (and the anonymous user) that hold every user, every token, or every service account
# of a namespace or of the cluster (Kubernetes' authenticator-assigned groups).
BROAD_GROUPS = frozenset(
    {"system:authenticated", "system:unauthenticated", "system:serviceaccounts"}
)
BROAD_GROUP_PREFIX = "system:serviceaccounts:"
ANONYMOUS = "system:anonymous"


def broad_subjects(subjects: Any) -> list[str]:
    """The subjects of a binding that stand for everyone (or every service account)."""
    found = []
    for subject in subjects if isinstance(subjects, list) else []:
        if not isinstance(subject, dict):
            continue
        kind, name = str(subject.get("kind", "")), str(subject.get("name", ""))
        group = kind == "Group" and (name in BROAD_GROUPS or name.startswith(BROAD_GROUP_PREFIX))
        if group or (kind == "User" and name == ANONYMOUS):
            found.append(name)
    return found


class _At:
    """A locator that places every field of a role read from the inventory at its line."""

    def __init__(self, file: str, line: int) -> None:
        self.here = Location(file, line, exact=False)

    def locate(self, path: Path) -> Location:
        return self.here


def _role_key(kind: str, namespace: str, name: str) -> tuple[str, str, str]:
    return kind, (namespace or "default") if kind == "Role" else "", name


def findings(engine: Engine, inventory: Sequence[InventoryEntry]) -> list[Finding]:
    """The role policies' findings on the repository's roles, said at each binding of them."""
    from gatekeeper.evaluate import Engine

    policies = [policy for policy in engine.policies if policy.id in ROLE_POLICIES]
    if not policies:
        return []
    roles: dict[tuple[str, str, str], list[InventoryEntry]] = {}
    for entry in inventory:
        if entry.kind in ROLE_KINDS and entry.facts is not None:
            roles.setdefault(_role_key(entry.kind, entry.namespace, entry.name), []).append(entry)
    if not roles:
        return []
    overrides = {p.id: engine.param_overrides.get(p.id, {}) for p in policies}
    use = next((p for p in policies if p.id == SCC_USE), None)
    written = written_sccs(engine, inventory) if use is not None else {}
    if use is not None and written:  # the repository's SCCs join the built-in ones
        sccs = {**engine.params(use)["sccs"], **written}
        overrides[SCC_USE] = {**overrides[SCC_USE], "sccs": sccs}
    role_engine = Engine(
        policies,
        overrides,
        bundle_key=engine.bundle_key,  # (a hook keeps its judgements: kept_judgements)
    )
    said: dict[tuple[tuple[str, int, str], ...], list[tuple[InventoryEntry, Finding]]] = {}
    out: list[Finding] = []
    seen: set[tuple[str, str, int, str]] = set()
    for binding in inventory:
        facts = binding.facts
        if binding.kind not in BINDING_KINDS or not isinstance(facts, dict):
            continue
        ref = facts.get("roleRef") or {}
        kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
        if binding.kind == "ClusterRoleBinding" and kind != "ClusterRole":
            continue  # refused by the API server
        key = _role_key(kind, binding.namespace, name)
        if key not in roles:
            continue
        # Every definition of the role: the nearest one need not be the one deployed (red
        # team s14: a harmless copy beside the binding hid the `*` one an install applies).
        nearest = _nearest(binding, roles[key])[0]  # once: not once per definition sorted
        chosen = sorted(roles[key], key=lambda role: role is not nearest)
        places = tuple((role.file, role.line, role.variant) for role in chosen)
        if places not in said:
            said[places] = _judged(role_engine, chosen, roles)
        broad = broad_subjects(facts.get("subjects"))
        line = int(facts.get("line") or binding.line)
        for role, finding in said[places]:
            place = (finding.policy_id, binding.file, line, binding.name)
            if place in seen:
                continue
            seen.add(place)
            out.append(_at_binding(binding, line, role, finding, broad))
    return out


def written_sccs(engine: Engine, inventory: Sequence[InventoryEntry]) -> dict[str, str]:
    """The repository's SecurityContextConstraints that allow more than restricted-v2, by
    name, each with what it allows (as K8S-RBAC-SCC-GRANT says it): every definition of a
    name counts (an overlay may render it wider)."""
    grant = next((p for p in engine.policies if p.id == SCC_GRANT), None)
    capabilities = (
        engine.params(grant).get("capabilities", _ESCAPING_CAPABILITIES)
        if grant is not None
        else _ESCAPING_CAPABILITIES
    )
    found: dict[str, list[str]] = {}
    for entry in inventory:
        if entry.kind == SCC_KIND and isinstance(entry.facts, dict):
            powers = scc_powers(entry.facts.get("scc") or {}, capabilities)
            held = found.setdefault(entry.name, [])
            held += [power for power in powers if power not in held]
    return {name: ", ".join(powers) for name, powers in found.items() if powers}


def scc_powers(scc: dict[str, Any], capabilities: Sequence[str]) -> list[str]:
    """What an SCC's fields allow beyond restricted-v2 (K8S-RBAC-SCC-GRANT's reading)."""

    def kind(field: str) -> str:
        value = scc.get(field)
        return str(value.get("type", "")) if isinstance(value, dict) else ""

    volumes = scc.get("volumes")
    volumes = volumes if isinstance(volumes, list) else []
    allowed = scc.get("allowedCapabilities")
    allowed = allowed if isinstance(allowed, list) else []
    granted = [str(c) for c in allowed if str(c) in capabilities]
    added = scc.get("defaultAddCapabilities")
    added = added if isinstance(added, list) else []
    defaults = [str(c) for c in added if str(c) in capabilities]
    sysctls = scc.get("allowedUnsafeSysctls")
    sysctls = sysctls if isinstance(sysctls, list) else []
    user = scc.get("runAsUser")
    user = user if isinstance(user, dict) else {}
    root = (kind("runAsUser") == "MustRunAs" and str(user.get("uid")) == "0") or (
        kind("runAsUser") == "MustRunAsRange" and str(user.get("uidRangeMin")) == "0"
    )
    powers = [
        ("privileged containers", scc.get("allowPrivilegedContainer") is True),
        ("the host network", scc.get("allowHostNetwork") is True),
        ("the host PID namespace", scc.get("allowHostPID") is True),
        ("the host IPC namespace", scc.get("allowHostIPC") is True),
        ("host ports", scc.get("allowHostPorts") is True),
        (
            "hostPath volumes",
            scc.get("allowHostDirVolumePlugin") is True
            or any(v in ("hostPath", "*") for v in volumes),
        ),
        ("capabilities " + ", ".join(granted), bool(granted)),
        ("capabilities " + ", ".join(defaults) + " added by default", bool(defaults)),
        ("any user ID, root included", kind("runAsUser") == "RunAsAny"),
        ("root (user ID 0)", root),
        ("any SELinux context", kind("seLinuxContext") == "RunAsAny"),
        ("every unsafe sysctl", any(str(s) == "*" for s in sysctls)),
    ]
    return [power for power, held in powers if held]


def _nearest(binding: InventoryEntry, roles: list[InventoryEntry]) -> list[InventoryEntry]:
    """The definitions of the role that the binding is deployed with: those of its own file
    and variant (an overlay renders both), else of its file, else of the deepest directory it
    shares with them. A repository often holds several installs, each with its own copy of a
    role of the same name (Argo CD's install.yaml, ha/install.yaml, cluster-rbac/...)."""

    def score(role: InventoryEntry) -> tuple[bool, bool, int]:
        same_file = role.file == binding.file
        shared = 0
        for mine, theirs in zip(
            binding.file.split("/")[:-1], role.file.split("/")[:-1], strict=False
        ):
            if mine != theirs:
                break
            shared += 1
        return same_file and role.variant == binding.variant, same_file, shared

    best = max(score(role) for role in roles)
    return [role for role in roles if score(role) == best]


def _judged(
    engine: Engine,
    roles: list[InventoryEntry],
    every: dict[tuple[str, str, str], list[InventoryEntry]] | None = None,
) -> list[tuple[InventoryEntry, Finding]]:
    """One finding per role policy that fails on the role (any of its definitions: overlays
    may render it differently), an aggregated ClusterRole holding the rules of the
    repository's ClusterRoles its aggregationRule selects (red team s13: a new aggregating
    role selected an existing `*` role, and its binding said nothing)."""
    found: dict[str, tuple[InventoryEntry, Finding]] = {}
    for role in roles:
        obj = {
            "apiVersion": role.api_version,
            "kind": role.kind,
            # (labels: the messages say whose controller's role it is, Argo CD's, Flux's)
            "metadata": {"name": role.name, "namespace": role.namespace, "labels": role.labels},
            **role.facts,
        }
        aggregated = _aggregated_rules(role, every or {})
        if aggregated:  # the rules the controller fills in, judged as written ones
            obj["rules"] = [*(obj.get("rules") or []), *aggregated]
            obj.pop("aggregationRule", None)
        document = Document(
            source="kubernetes",  # the role policies' source, whatever rendered the role
            file=role.file,
            obj=obj,
            locator=_At(role.file, role.line),
            kind=role.kind,
            namespace=role.namespace,
            name=role.name,
        )
        for finding in engine.evaluate(document):
            if finding.policy_id in ROLE_POLICIES and finding.policy_id not in found:
                found[finding.policy_id] = (role, finding)
    return [found[policy_id] for policy_id in sorted(found)]


def _aggregated_rules(
    role: InventoryEntry, every: dict[tuple[str, str, str], list[InventoryEntry]]
) -> list[Any]:
    """The rules of the repository's ClusterRoles that `role`'s aggregationRule selects by
    their labels (matchLabels; matchExpressions In, NotIn, Exists, DoesNotExist)."""
    rule = role.facts.get("aggregationRule") if isinstance(role.facts, dict) else None
    selectors = rule.get("clusterRoleSelectors") if isinstance(rule, dict) else None
    if role.kind != "ClusterRole" or not isinstance(selectors, list):
        return []
    rules: list[Any] = []
    for key, definitions in every.items():
        if key[0] != "ClusterRole" or key[2] == role.name:
            continue
        for other in definitions:
            if any(_selects(selector, other.labels) for selector in selectors):
                rules += (other.facts or {}).get("rules") or []
    return rules


def _selects(selector: Any, labels: dict[str, str]) -> bool:
    if not isinstance(selector, dict) or not selector:
        return False
    wanted = selector.get("matchLabels") or {}
    if not isinstance(wanted, dict) or any(labels.get(k) != str(v) for k, v in wanted.items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        if not isinstance(expression, dict):
            return False
        key, operator = str(expression.get("key")), expression.get("operator")
        values = [str(v) for v in expression.get("values") or []]
        held = labels.get(key)
        if not (
            (operator == "In" and held in values)
            or (operator == "NotIn" and held not in values)
            or (operator == "Exists" and held is not None)
            or (operator == "DoesNotExist" and held is None)
        ):
            return False
    return True


def _at_binding(
    binding: InventoryEntry, line: int, role: InventoryEntry, finding: Finding, broad: list[str]
) -> Finding:
    who = f" to {', '.join(broad)} (everyone in it holds the role)" if broad else ""
    message = (
        f"{binding.kind} {binding.name} binds {role.kind} {role.name}"
        f" ({role.file}:{role.line}){who}: {finding.message}"
    )
    severity = "critical" if broad else finding.severity
    facts = binding.facts if isinstance(binding.facts, dict) else {}
    granted = subject_identity.subjects(facts.get("subjects"), binding.namespace)
    return Finding(
        policy_id=finding.policy_id,
        severity=severity,
        title=finding.title,
        message=message,
        file=binding.file,
        line=line,
        path="roleRef.name",
        source=binding.source,
        kind=binding.kind,
        namespace=binding.namespace,
        name=binding.name,
        fingerprint=fingerprint(
            finding.policy_id,
            binding.source,
            binding.kind,
            binding.namespace,
            binding.name,
            f"roleRef {role.kind} {role.name}",
        ),
        remediation=finding.remediation,
        help_uri=finding.help_uri,
        extra={
            "about": "binding",
            "role": f"{role.file}:{role.line}",
            "role_object": f"{role.kind}/{role.name}",
            **({"variants": [binding.variant]} if binding.variant else {}),
            **({subject_identity.KEY: granted} if granted else {}),
        },
    )


def _kind_and_name(deployed: str) -> str:
    """`kind/name` of a deployed_as entry (`kind/namespace/name`)."""
    kind, _, rest = deployed.partition("/")
    return f"{kind}/{rest.rpartition('/')[2]}"


def said_at_roles(findings: list[Finding]) -> list[Finding]:
    """A full scan's findings without a role policy's finding at a binding that says again
    what the role's own finding in this scan says (kubeflow: 150 repeats), unless everyone
    holds the role (critical). A pull request keeps them: there the binding may be new while
    the role's finding is old."""
    # By the role's kind and name: a built role's finding may sit in its base's file, named
    # as written there; the names a build gives it (`namePrefix:`) are in its deployed_as.
    said = {
        (f.policy_id, name)
        for f in findings
        if f.kind in ROLE_KINDS and f.policy_id in ROLE_POLICIES
        for name in (f"{f.kind}/{f.name}", *map(_kind_and_name, f.extra.get("deployed_as", ())))
    }

    def repeated(finding: Finding) -> bool:
        return (finding.policy_id, finding.extra.get("role_object")) in said

    return [
        f
        for f in findings
        if f.extra.get("about") != "binding" or f.severity == "critical" or not repeated(f)
    ]
