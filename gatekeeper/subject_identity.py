"""Who a binding's finding grants to, for a pull request.

A cluster-admin ClusterRoleBinding kept (existing, or waived) for the group `platform-ops`
was accepted for that group. A change adding `{kind: ServiceAccount, name: default,
namespace: app}` to its `subjects` keeps the finding's fingerprint (the binding's) and its
message (which names the binding and the role, not who holds it): it stayed existing, a
green check that hands cluster-admin to every pod of `app` (red team s23 trust16 c02). So
in a pull request each finding on a RoleBinding or ClusterRoleBinding records the subjects
the binding names, and `change.classify` makes a finding whose binding names a subject its
base match did not new; one that only loses subjects stays existing. A ClusterRole's
findings likewise record the roles it is aggregated into (a label
`rbac.authorization.k8s.io/aggregate-to-view: "true"` adds its rules to the built-in `view`,
so to everyone holding that): labelling an accepted wildcard role so is new too.

A Terraform resource that grants or opens something on another object names it: an
accepted `aws_s3_bucket_acl` making `acme-public-assets` public-read, an open-SSH
`aws_security_group_rule` on the bastion's group, AdministratorAccess attached to the CI
role. Pointing it at `acme-customer-data`, the database's group or the app's role kept
fingerprint (the resource address) and message: existing (red team s23 trust16 c07). Its
findings record those target arguments (TARGETS) as written, and a target the base did not
name makes the finding new the same way.
"""

from __future__ import annotations

from typing import Any

from gatekeeper.document import Document
from gatekeeper.finding import Finding

KEY = "subjects"
BINDINGS = frozenset({"RoleBinding", "ClusterRoleBinding"})


# Arguments naming the object a Terraform resource's grant or opening applies to (buckets,
# security groups, functions, IAM principals, repositories, queues, topics, secrets, images,
# servers, projects...), and the members a Google IAM resource grants to.
TARGETS = frozenset(
    {"bucket", "security_group_id", "function_name", "qualifier", "role", "role_name", "roles",
     "user", "users", "group", "groups", "repository", "queue_url", "arn", "secret_arn",
     "image_id", "resource_arn", "server_name", "server_id", "synapse_workspace_id",
     "network_security_group_name", "storage_account_id", "dataset_id", "project", "folder",
     "org_id", "member", "members"}
)  # fmt: skip


def with_subjects(document: Document, findings: list[Finding]) -> list[Finding]:
    """`findings` of `document`, each with the subjects of the binding it is about (the
    holders of the roles a ClusterRole is aggregated into; the objects a Terraform
    resource applies to)."""
    if not isinstance(document.obj, dict):
        return findings
    if document.source == "terraform":
        named = applied_to(document.obj)
        return (
            [finding.with_(extra={**finding.extra, KEY: named}) for finding in findings]
            if named
            else findings
        )
    if document.kind not in (*BINDINGS, "ClusterRole"):
        return findings
    metadata = document.obj.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    if document.kind == "ClusterRole":
        named = aggregated_into(metadata.get("labels"))
    else:
        named = subjects(document.obj.get("subjects"), metadata.get("namespace"))
    if not named:
        return findings
    return [
        finding.with_(extra={**finding.extra, KEY: named})
        if finding.kind == document.kind and finding.name == document.name
        else finding
        for finding in findings
    ]


def subjects(listed: Any, own: Any) -> str:
    """A binding's subjects as `Kind namespace/name` (a service account without a namespace
    is one of the binding's own namespace `own`, as the API server reads it), sorted,
    comma-separated."""
    found = set()
    for subject in listed if isinstance(listed, list) else ():
        if not isinstance(subject, dict):
            continue
        kind, name = str(subject.get("kind") or ""), str(subject.get("name") or "")
        namespace = subject.get("namespace")
        if kind == "ServiceAccount" and not namespace:
            namespace = own or "default"
        found.add(f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}")
    return ", ".join(sorted(found))


def applied_to(obj: dict[str, Any]) -> str:
    """A Terraform resource's TARGETS arguments as `name value` (a list: one per item), as
    written (`${aws_security_group.db.id}`), sorted, comma-separated."""
    found = set()
    for name in TARGETS & obj.keys():
        value = obj[name]
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, (str, int, float)) and not isinstance(item, bool):
                found.add(f"{name} {item}")
    return ", ".join(sorted(found))


def aggregated_into(labels: Any) -> str:
    """The roles whose aggregation a ClusterRole's labels opt it into, as `holders of ROLE
    (aggregate-to-ROLE)`: the built-in admin, edit and view select
    `rbac.authorization.k8s.io/aggregate-to-<role>: "true"`, and roles of the repository
    follow the same convention."""
    found = set()
    for key, value in labels.items() if isinstance(labels, dict) else ():
        name = str(key).rpartition("/")[2]
        if name.startswith("aggregate-to-") and str(value).lower() == "true":
            found.add(f"holders of {name[len('aggregate-to-') :]} ({name})")
    return ", ".join(sorted(found))


def added(finding: Finding, was: object) -> list[str]:
    """The subjects the finding's binding names that its base match's did not (both
    recorded; a base match that recorded none is a binding that named nobody)."""
    now = split(finding.extra.get(KEY))
    return sorted(set(now) - set(split(was))) if now else []


def split(value: object) -> list[str]:
    return [name for name in str(value or "").split(", ") if name]
