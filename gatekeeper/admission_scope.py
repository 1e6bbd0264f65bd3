"""Which objects an admission policy written in the repository judges: those deployed with it.

A ValidatingAdmissionPolicy acts in the cluster it is applied to. A repository says which by
how it is laid out: a folder is applied together (`kubectl apply -f dir/`, a kustomization,
an Argo CD Application or Flux Kustomization pointing at it). In a monorepo of samples
(kubernetes-engine-samples), `autoscaling/custom-compute-classes/vap/restrict-toleration.yaml`
is one sample's policy: judging every other sample of the repository with it blocked 272
unrelated Deployments. So a policy written in the repository judges the objects of its
*scope*:

- the folder above the one its binding (and the policy) is written in, with all below it: a
  policy folder sits in what it governs (`clusters/prod/policies/` in `clusters/prod/`, a
  sample's `vap/` beside its manifests, a top-level `policies/` beside `apps/`);
- an object is in a scope when its file is, or when the overlay, chart or Application that
  renders it (its variant's home) is: an Application in `clusters/prod/` deploys its
  `apps/web/` into the policy's cluster.

The scope depends on where the policy and its binding are written, never on what else a
folder holds: a pull request adding a Deployment beside the policies cannot narrow it.
The demanding user's side is kept where it matters: a policy folder at the repository's top
(`policies/`) judges the whole repository, the policies of the configured policy directories
(`.gatekeeper.yml`) judge everything, and the base revision's version of a policy the change
alters judges with the same scope. What a scope leaves out is a sample or a cluster of its own,
which a policy of its own must cover.
"""

from __future__ import annotations

import posixpath
from typing import Any

from gatekeeper.document import Document


def scope_of(file: str) -> str:
    """The folder whose objects a policy or binding written in `file` judges ("" = all)."""
    return posixpath.dirname(posixpath.dirname(file))


def places_of(document: Document) -> tuple[str, ...]:
    """Where the object is deployed from: its file, and what renders it."""
    from gatekeeper.pipeline import variant_home

    places = [document.file]
    variant = document.extra.get("variant")
    if isinstance(variant, str) and variant:
        places.append(variant_home(variant))
    application = document.extra.get("application")
    if isinstance(application, str) and application:
        places.append(application.rsplit(":", 1)[0])
    return tuple(places)


def within(scopes: tuple[str, ...], places: tuple[str, ...]) -> bool:
    """Is the object deployed from `places` (places_of) deployed with a policy of these
    scopes?"""
    return any(
        not scope or place == scope or place.startswith(scope + "/")
        for scope in scopes
        for place in places
    )


def assign(admission: Any, configured: set[str]) -> None:
    """Give each binding of `admission` its scopes; those of the configured policy
    directories' files (`configured`) judge everything (no scopes)."""
    for policy in admission.policies:
        for binding in policy.bindings:
            if policy.file in configured or binding.file in configured:
                continue
            files = {policy.file, binding.file or policy.file}
            binding.scopes = tuple(sorted({scope_of(file) for file in files}))
