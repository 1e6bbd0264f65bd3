"""Manifests inside other objects, applied as they are by the controller that reads them.

Crossplane's provider-kubernetes `Object` applies `spec.forProvider.manifest`; Open Cluster
Management's `ManifestWork` applies `spec.workload.manifests` on a managed cluster; a Tekton
`TriggerTemplate` creates its `spec.resourcetemplates` on every event; Katib runs each
trial as `spec.trialTemplate.trialSpec`. A privileged Pod written there reached the cluster
with no finding (red team r03); here each embedded object is a document of its own, located
where it is written, and every policy judges it.
"""

from __future__ import annotations

from typing import Any

from gatekeeper.document import Document, SubLocator
from gatekeeper.fieldpath import WILDCARD, Pattern, expand
from gatekeeper.sources.gitops import DEPLOYED_BY

# (API group, kind) -> where the manifests it applies are written.
EMBEDDING: dict[tuple[str, str], tuple[Pattern, ...]] = {
    ("kubernetes.crossplane.io", "Object"): (("spec", "forProvider", "manifest"),),
    ("work.open-cluster-management.io", "ManifestWork"): (
        ("spec", "workload", "manifests", WILDCARD),
    ),
    ("work.open-cluster-management.io", "ManifestWorkReplicaSet"): (
        ("spec", "manifestWorkTemplate", "workload", "manifests", WILDCARD),
    ),
    ("triggers.tekton.dev", "TriggerTemplate"): (("spec", "resourcetemplates", WILDCARD),),
    ("kubeflow.org", "Experiment"): (("spec", "trialTemplate", "trialSpec"),),
}


def embedding(obj: dict[str, Any]) -> tuple[Pattern, ...]:
    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    return EMBEDDING.get((group, str(obj.get("kind") or "")), ())


def objects(document: Document) -> list[Document]:
    """The objects `document` makes its controller apply, each a document of its own."""
    obj = document.obj
    out: list[Document] = []
    for pattern in embedding(obj) if isinstance(obj, dict) else ():
        for path, found in expand(obj, pattern):
            if not (isinstance(found, dict) and "kind" in found and "apiVersion" in found):
                continue
            metadata = found.get("metadata")
            named = metadata if isinstance(metadata, dict) else {}
            out.append(
                Document(
                    source=document.source,
                    file=document.file,
                    obj=found,
                    locator=SubLocator(document.locator, tuple(path)),
                    index=document.index,
                    kind=str(found.get("kind", "")),
                    namespace=str(named.get("namespace") or ""),
                    name=str(named.get("name") or ""),
                    extra={
                        "variant": f"{DEPLOYED_BY}{document.file}:{document.name} ({document.kind})"
                    },
                )
            )
    return out
