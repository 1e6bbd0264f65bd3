"""One finding per namespace for repository-scope policies about namespaces (`group:
namespace`): "namespace shop has no NetworkPolicy" is one fact, however many workloads run
there. Said at the namespace's first workload (by file and line), listing all of them, with
a fingerprint of the policy and the namespace: a pull request adding a workload to a
namespace already said is not a new finding, one adding the first workload of a namespace
is (elastic/cloud-on-k8s said `default` 162 times, once per workload)."""

from __future__ import annotations

from collections.abc import Sequence

from gatekeeper.finding import Finding, fingerprint
from gatekeeper.policy.model import Policy


def grouped(findings: list[Finding], policies: Sequence[Policy]) -> list[Finding]:
    """`findings` with those of `group: namespace` policies said once per namespace."""
    from gatekeeper import inventory
    from gatekeeper.evaluate import namespace_key

    by_namespace = {policy.id for policy in policies if policy.group == "namespace"}
    if not by_namespace:
        return findings
    out: list[Finding] = []
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        if finding.policy_id not in by_namespace or finding.extra.get("about") != "namespace":
            out.append(finding)
            continue
        variant = (finding.extra.get("variants") or [""])[0]
        entry = inventory.make(
            finding.source, "", finding.kind, finding.namespace, finding.name, {},
            finding.file, finding.line, variant,
        )  # fmt: skip
        groups.setdefault((finding.policy_id, namespace_key(entry)), []).append(finding)
    for (policy_id, key), group in groups.items():
        group.sort(key=lambda f: (f.file, f.line, f.kind, f.name))
        first = group[0]
        objects = sorted({f"{f.kind}/{f.name}" for f in group})
        # The message names one workload and stays the same as workloads come and go (a
        # changed message makes a finding new); `objects` lists them all.
        message = f"{first.message}; said once for all its workloads"
        variants = sorted(
            {v for f in group if (f.file, f.line) == (first.file, first.line)
             for v in f.extra.get("variants") or ()}
        )  # fmt: skip
        extra = {name: value for name, value in first.extra.items() if name != "variants"}
        if variants:
            extra["variants"] = variants
        extra["objects"] = objects
        out.append(
            first.with_(
                message=message,
                fingerprint=fingerprint(policy_id, "namespace", key.replace("\x00", "/")),
                extra=extra,
            )
        )
    return out
