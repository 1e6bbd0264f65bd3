"""Which objects an admission policy written in the repository judges: those deployed with it.

A ValidatingAdmissionPolicy acts in the cluster it is applied to. A repository says which by
how it is laid out: a folder is applied together (`kubectl apply -f dir/`, a kustomization,
an Argo CD Application or Flux Kustomization pointing at it). In a monorepo of samples
(kubernetes-engine-samples), `autoscaling/custom-compute-classes/vap/restrict-toleration.yaml`
is one sample's policy: judging every other sample of the repository with it blocked 272
unrelated Deployments. So a policy written in the repository judges the objects of its
*scope*:

- the folder its binding (or, for a binding elsewhere, the policy) is written in, with its
  subfolders;
- or, when that folder holds nothing but admission objects (policies, bindings, parameter
  objects, Namespaces) -- a cluster's policy folder, `clusters/prod/policies/` or a repository's
  `policies/` beside `apps/` -- the folder above it, which holds what that cluster runs;
- an object is in a scope when its file is, or when the overlay, chart or Application that
  renders it (its variant's home) is: an Application in `clusters/prod/` deploys its
  `apps/web/` into the policy's cluster.

The demanding user's side is kept where it matters: a policy folder at the repository's top
(`policies/`) judges the whole repository, the policies of the configured policy directories
(`.gatekeeper.yml`) judge everything, and the base revision's version of a policy the change
alters judges with the same scope. What a scope leaves out is a sample or a cluster of its own,
which a policy of its own must cover.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import Any

from gatekeeper.document import Document

# Objects that may sit in a policy folder beside the policies: what they read or select.
_POLICY_FOLDER_KINDS = frozenset(
    {
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ValidatingPolicy",
        "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "Namespace", "ConfigMap",
    }
)  # fmt: skip


def folders_of_policies_alone(
    objects: Iterable[tuple[str, Any]], param_kinds: set[str]
) -> set[str]:
    """Folders whose files hold admission objects and what they read, and nothing else."""
    holds_others: set[str] = set()
    holds_policies: set[str] = set()
    for file, obj in objects:
        folder = posixpath.dirname(file)
        kind = obj.get("kind") if isinstance(obj, dict) else None
        if kind in _POLICY_FOLDER_KINDS or kind in param_kinds:
            if kind in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"):
                holds_policies.add(folder)
        elif kind:
            holds_others.add(folder)
    return holds_policies - holds_others


def scope_of(file: str, policy_folders: set[str]) -> str:
    """The folder whose objects a policy or binding written in `file` judges ("" = all)."""
    folder = posixpath.dirname(file)
    if folder in policy_folders:
        folder = posixpath.dirname(folder)
    return folder


def in_scope(scopes: tuple[str, ...], document: Document) -> bool:
    """Is the object deployed with a policy of these scopes (its file, or what renders it)?"""
    from gatekeeper.pipeline import variant_home

    places = [document.file]
    variant = document.extra.get("variant")
    if isinstance(variant, str) and variant:
        places.append(variant_home(variant))
    application = document.extra.get("application")
    if isinstance(application, str) and application:
        places.append(application.rsplit(":", 1)[0])
    return any(
        not scope or place == scope or place.startswith(scope + "/")
        for scope in scopes
        for place in places
    )


def assign(admission: Any, objects: list[tuple[str, Any]], configured: set[str]) -> None:
    """Give each binding of `admission` its scopes; those of the configured policy
    directories' files (`configured`) judge everything (no scopes)."""
    param_kinds = {
        str(policy.param_kind.get("kind")) for policy in admission.policies if policy.param_kind
    }
    folders = folders_of_policies_alone(objects, param_kinds)
    for policy in admission.policies:
        for binding in policy.bindings:
            if policy.file in configured or binding.file in configured:
                continue
            files = {policy.file, binding.file or policy.file}
            binding.scopes = tuple(sorted({scope_of(file, folders) for file in files}))
