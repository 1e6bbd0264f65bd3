"""One finding per kustomization setting line or chart template line, whatever objects it sets.

A kustomization's `images:` entry retags every container of its bases that runs the image:
kubeflow's trainer runtimes overlay said `image .../torchtune-trainer:v2.2.0 of container
node is not pinned by digest` three times at one line, once per ClusterTrainingRuntime, and
its five entries were thirteen findings. The line is what a reader fixes (one digest there
serves every object), so findings at one place of a kustomization (file, line, column,
policy) with the same severity and message are said once: the first one kept (its
fingerprint; a line setting one object keeps its finding as it was), its message ending
`(this line sets it for 3 objects: ...)`, the other objects in `deployed_as`, and their
fingerprints as twins (run_by.TWINS).

A chart template's line is the same (argoproj/argocd-example-apps' app of apps ranges over
fourteen applications: `targetRevision: {{ $config.spec.source.targetRevision }}` said
`tracks master` fourteen times at line 18, and as often the default project and the prune
lines): findings of several objects a chart renders at one template line with the same
message are said once, the same way.

One object's containers a template writes at one line (`range .Values.containers`) whose
findings differ only by the container's name are one finding too, naming them: `container a
has no liveness probe (this line sets it for 2 containers of Deployment/web: a, b)`.

What the folded finding still answers for each object it stands for, as run_by's merged CI
lines do: a waiver waives it only when every object's finding would have been waived
(waivers._covering); `scan --base` matches it by any object's fingerprint, and an object
that newly takes the line makes it new (change.classify, `deployed_as`)."""

from __future__ import annotations

import posixpath
from itertools import groupby

from gatekeeper import image_identity, lazy_re, run_by
from gatekeeper.finding import Finding, by_place
from gatekeeper.sources.names import KUSTOMIZATION_FILES

KEY = "sets_for"  # the objects (kind/namespace/name) the line sets, the kept one's first
TAIL = " (this line sets it "  # the message's tail naming them (run_by.said drops it)
NAMED = 5  # objects named in the message; the others are counted


def one_per_setting(findings: list[Finding]) -> list[Finding]:
    """`findings` (in place order: scanner.merge_variants) with the findings of several
    objects at one kustomization line that say the same thing said once."""
    out: list[Finding] = []
    for _, run in groupby(findings, key=by_place):
        group = list(run)
        if len(group) == 1 or not _at_setting(group[0]):
            out.extend(group)
            continue
        same: dict[tuple[str, ...], list[Finding]] = {}
        for finding in group:
            same.setdefault((finding.severity, finding.message), []).append(finding)
        for key, said in list(same.items()):  # one object's containers, each said alone
            named = _container_said(said[0]) if len(said) == 1 else None
            if named is not None:
                del same[key]
                same.setdefault((said[0].severity, named, *_object(said[0])), []).extend(said)
        for said in same.values():
            out.append(_folded(said) if len(said) > 1 else said[0])
    return out


# `container NAME` in a message: the one word that differs between the findings of one
# object's containers at one line (a template ranging over `.Values.containers`).
_CONTAINER = lazy_re.compile(r"\bcontainer (\S+?)(?=[\s:,;)]|$)")


def _container_said(finding: Finding) -> str | None:
    """The message with its one container name blanked out, or None (none, or several)."""
    found = list(_CONTAINER.finditer(finding.message))
    if len(found) != 1:
        return None
    return finding.message[: found[0].start(1)] + "\0" + finding.message[found[0].end(1) :]


def _container(finding: Finding) -> str:
    found = _CONTAINER.search(finding.message)
    return found.group(1) if found else ""


def _object(finding: Finding) -> tuple[str, str, str]:
    return finding.kind, finding.namespace, finding.name


def _at_setting(finding: Finding) -> bool:
    """A rendered object's finding located at a line of a kustomization file (its `images:`,
    `namespace:`, an inline patch: a kustomization holds no object of its own), or at a
    line of a chart's template (a `range` renders it for each entry, a named template for
    each object including it)."""
    if finding.extra.get("about") == "namespace":
        return False
    if finding.source == "helm":
        return True
    return (
        finding.source == "kustomize"
        and posixpath.basename(finding.file) in KUSTOMIZATION_FILES
        and finding.kind != "Kustomization"
    )


def _folded(said: list[Finding]) -> Finding:
    kept = said[0]
    objects = list(dict.fromkeys(_named(f) for f in said))
    containers = list(dict.fromkeys(_container(f) for f in said))
    if len(objects) == 1 and len({f.message for f in said}) > 1:
        # `(this line sets it for 2 containers of Deployment/web: reload, server)`
        tail = f"{TAIL}for {len(containers)} containers of {objects[0]}: {', '.join(containers)})"
    else:
        tail = _tail(objects, len(said))
    extra = {name: value for name, value in kept.extra.items() if name != "variants"}
    variants = sorted({v for f in said for v in f.extra.get("variants", ())})
    if variants:
        extra["variants"] = variants
    deployed = sorted(
        {d for f in said for d in f.extra.get("deployed_as", ())}
        | {"/".join((f.kind, f.namespace, f.name)) for f in said[1:]}  # as merge_variants
    )
    if deployed:
        extra["deployed_as"] = deployed
    images = image_identity.merged(said)
    if images:
        extra[image_identity.KEY] = images
    extra[KEY] = objects
    extra[run_by.TWINS] = [
        {"fingerprint": f.fingerprint, "name": f.name, "kind": f.kind, "namespace": f.namespace}
        for f in said[1:]
    ]
    return kept.with_(extra=extra, message=kept.message + tail)


def _named(finding: Finding) -> str:
    return "/".join(part for part in (finding.kind, finding.namespace, finding.name) if part)


def _tail(objects: list[str], uses: int) -> str:
    if len(objects) == 1:  # one object, several fields (two jobs' containers of one image)
        return f"{TAIL}{uses} times in {objects[0]})"
    named = ", ".join(objects[:NAMED])
    more = f" and {len(objects) - NAMED} more" if len(objects) > NAMED else ""
    return f"{TAIL}for {len(objects)} objects: {named}{more})"


def without_tail(finding: Finding) -> str:
    """The message as each object's own finding said it."""
    if KEY not in finding.extra:
        return finding.message
    return finding.message.rsplit(TAIL, 1)[0]
