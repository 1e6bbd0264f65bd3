"""Problems (files we could not load) become findings: nothing is silently dropped."""

from __future__ import annotations

from typing import Any, NamedTuple

from gatekeeper.document import Problem
from gatekeeper.finding import Finding, fingerprint


class ProblemKind(NamedTuple):
    severity: str
    title: str
    remediation: str


PROBLEM_KINDS: dict[str, ProblemKind] = {
    "GK-PARSE-ERROR": ProblemKind(
        "high", "File could not be parsed", "Fix the syntax error so the file can be checked."
    ),
    "GK-YAML-BOMB": ProblemKind(
        "high",
        "YAML alias expansion too large",
        "Remove the recursive or exponentially expanding aliases.",
    ),
    "GK-YAML-DUPLICATE-KEY": ProblemKind(
        "medium",
        "Duplicate mapping key",
        "Remove the duplicate: Kubernetes rejects it, other tools silently keep the last value.",
    ),
    "GK-NOT-AN-OBJECT": ProblemKind(
        "high",
        "Document is not a Kubernetes object",
        "Every document in a manifest file must be a mapping with apiVersion and kind.",
    ),
    "GK-SCHEMA": ProblemKind(
        "high",
        "Field has the wrong type for its kind",
        "Write the field as the Kubernetes API defines it (e.g. a list of containers, not a "
        "mapping; a quoted string for a label value): the API server rejects the object, and "
        "policies cannot check the ill-typed part.",
    ),
    "GK-FILE-TOO-LARGE": ProblemKind(
        "high", "File too large to scan", "Split the file, or exclude it in .gatekeeper.yml."
    ),
    "GK-BINARY-FILE": ProblemKind(
        "high", "Binary file where text was expected", "Exclude the file in .gatekeeper.yml."
    ),
    "GK-ENCODING-ERROR": ProblemKind("high", "File is not valid UTF-8", "Save the file as UTF-8."),
    "GK-READ-ERROR": ProblemKind(
        "high",
        "File could not be read",
        "Check the file's permissions; replace a FIFO, device or link loop with a file.",
    ),
    "GK-LFS-POINTER": ProblemKind(
        "high",
        "Git LFS pointer: content not judged",
        "Commit the file itself rather than through Git LFS (a deployer that fetches LFS "
        "objects applies content no check saw), or exclude the path in .gatekeeper.yml.",
    ),
    "GK-SYMLINK": ProblemKind(
        "high",
        "Symbolic link leads outside the repository",
        "Replace the link with the file, or link to a file inside the repository.",
    ),
    "GK-RENDER-ERROR": ProblemKind(
        "high", "Template could not be rendered", "Fix the template or its values."
    ),
    "GK-HELM-DEFAULTS": ProblemKind(
        "low",
        "Chart does not render with its default values: judged with its ci values",
        "Nothing to do if the chart requires the value on purpose (`required`); otherwise give "
        "it a default. Each ci/*-values.yaml (chart-testing's convention) is rendered and "
        "judged instead.",
    ),
    "GK-HELM-VALUES-MISSING": ProblemKind(
        "medium",
        "Chart requires values no file of the repository gives: not judged",
        "Add a chart-testing values file (ci/test-values.yaml) giving what the chart requires:"
        " its defaults plus those values are then rendered and judged. Nothing in the"
        " repository releases the chart; its users give the values when they install it.",
    ),
    "GK-SCHEMA-NOT-LOADED": ProblemKind(
        "low",
        "A values schema Helm would download is not loaded: the chart is judged without it",
        "Nothing to do if Helm reaches it where the chart deploys (the schema can only reject"
        " values: what is judged here is a superset); vendor it into the chart (a local `#...`"
        " reference) to have values checked here.",
    ),
    "GK-DEPLOY-TIME-FILE": ProblemKind(
        "low",
        "Reads a file git ignores, made at deploy time: judged with it empty",
        "Nothing to do if the deployer writes it (a .env from azd or a CI step); commit it if"
        " it is configuration the overlay needs.",
    ),
    "GK-RENDERER-MISSING": ProblemKind(
        "high",
        "No renderer installed: chart or kustomization not checked",
        "Install gitops-policy-gate[all] (or [helm] / [kustomize] / [jsonnet]), or put helm on"
        " PATH for charts and kubectl or kustomize on PATH for Kustomize.",
    ),
    "GK-NOT-EXPANDED": ProblemKind(
        "low",
        "What this object deploys is not judged",
        "List what it deploys in the repository (a git or list generator), or judge it where "
        "it is defined.",
    ),
    "GK-LOCAL-NOT-EXPANDED": ProblemKind(
        "medium",
        "What this object deploys from this repository is not judged",
        "Deploy it so that it can be judged here (a list or git generator, a plugin without"
        " parameters), or waive it with a reason.",
    ),
    "GK-REMOTE-CHART-VALUES": ProblemKind(
        "high",
        "Values ask a chart that is not judged for privilege or host access",
        "Vendor the chart and name the copy in sources.helm.vendored, so that what it deploys"
        " is judged, or waive this with a reason.",
    ),
    "GK-CHART-VALUES-SECRET": ProblemKind(
        "high",
        "Values given to a chart hold a literal secret",
        "Take the value from a Secret (the chart's existingSecret, Flux valuesFrom a Secret, an"
        " external secret manager) instead of writing it in the values, and rotate it.",
    ),
    "GK-SECRET-PLAINTEXT": ProblemKind(
        "high",
        "A Secret, a file a ConfigMap holds or a CI variable written here holds a literal secret",
        "Commit the Secret encrypted (SOPS, a SealedSecret) or take the value from an external"
        " secret manager (External Secrets, Vault), and rotate it.",
    ),
    "GK-REVISION-UNSEEN": ProblemKind(
        "high",
        "Deploys a revision of this repository the checkout lacks: not judged",
        "Fetch that tag or commit before the check (actions/checkout with fetch-depth: 0), "
        "or point the deployer at the branch the change lands on.",
    ),
    # Findings about the process itself, not about a scanned file's content.
    "GK-POLICY-CHANGE": ProblemKind(
        "info",
        "Policy, configuration or waivers changed",
        "Have the owners of the policies review the change; it applies once merged.",
    ),
    "GK-INLINE-SKIP-AHEAD": ProblemKind(
        "high",  # as severe as the worst policy it skips
        "Inline skip added for a policy the document does not violate",
        "Remove the annotation, or have a code owner of the waivers file approve the pull "
        "request; to accept a violation, add a waiver (owner, expiry) when there is one.",
    ),
    "GK-POLICY-OVERRIDE": ProblemKind(
        "info",
        "Policy replaced by a custom policy",
        "Check that the replacement enforces at least what the policy it replaces did.",
    ),
    "GK-GATE-CHANGE": ProblemKind(
        "high",
        "Workflow or CODEOWNERS of the gate changed",
        "Have someone other than the author (a code owner, where CODEOWNERS names one) "
        "approve the pull request; the check passes on its next run.",
    ),
    "GK-BASE-MOVED": ProblemKind(
        "high",
        "The base branch changed how this change deploys after the branch forked",
        "Update the branch (merge or rebase the base branch) so that the change is judged"
        " with the deployers it will land beside; require branches to be up to date, or a"
        " merge queue, in branch protection.",
    ),
    "GK-GATE-INPUT": ProblemKind(
        "medium",
        "Action input looser than the base configuration ignored",
        "Set the gate's settings in the base branch's .gatekeeper.yml (`gate:`); "
        "inputs may only make them stricter.",
    ),
    "GK-IMPACT": ProblemKind(
        "medium",
        "Policy change newly blocks findings in consumers",
        "Check with the consumers' owners (or announce it in the release notes) before "
        "releasing; `impact.failOn` in .gatekeeper.yml decides whether it fails the check.",
    ),
    "GK-IMPACT-ERROR": ProblemKind(
        "high",
        "Impact on consumers could not be judged",
        "Fix the policies or the `impact:` consumer named (pin git consumers with "
        "`gatekeeper lock`), so the preview can judge every consumer.",
    ),
    "GK-WAIVER-EXPIRED": ProblemKind(
        "high",
        "Waiver expired",
        "Fix what the waiver covered, or renew it with a new expiry date and review.",
    ),
    "GK-WAIVER-EXPIRING": ProblemKind(
        "info",
        "Waiver expires soon",
        "Fix what the waiver covers before it expires, or renew it with review.",
    ),
    "GK-INLINE-SKIP": ProblemKind(
        "medium",
        "Inline skip annotation not honoured",
        "Remove the annotation and add a waiver to the waivers file.",
    ),
    "GK-TEMPLATE": ProblemKind(
        "low",
        "Template of another tool, not valid as written: not checked",
        "Nothing applies it as written (kubectl would fail on it); what renders it is judged "
        "where gatekeeper renders it. Make it valid YAML if a deployer applies it as is.",
    ),
    "GK-TEST-OUTPUT": ProblemKind(
        "low",
        "Golden files of a chart's tests: not judged as manifests of their own",
        "Nothing to do: the chart is judged where it lives, with its values files. A deployer"
        " of the repository that applies these files (an Argo CD or Flux path, a CI"
        " `kubectl -f`) has them judged.",
    ),
    "GK-NOT-A-MANIFEST": ProblemKind(
        "low",
        "Invalid YAML that cannot hold a Kubernetes object: not checked",
        "Nothing to do for gatekeeper: no reader makes an object of it (it cannot spell"
        " apiVersion and kind). Fix the syntax for the tool that reads it.",
    ),
    "GK-JSON-PATCH": ProblemKind(
        "low",
        "Chart renders a JSON patch, not manifests: Helm cannot install it; not judged",
        "Nothing to do if a program renders the chart for its own use (an injector's patch);"
        " what the patch adds to the objects it is applied to is not judged here.",
    ),
    "GK-HELM-LOOKUP": ProblemKind(
        "medium",
        "Chart branch taken where `lookup` finds objects could not be judged",
        "Make the templates render when `lookup` returns an object (guard reads of its "
        "fields), or deploy the chart with Argo CD, whose rendering never finds any.",
    ),
    "GK-HELM-LOOKUP-NOTE": ProblemKind(
        "low",
        "Chart branch taken where `lookup` finds objects could not be judged",
        "Make the templates render when `lookup` returns an object (guard reads of its "
        "fields), if the chart is installed with `helm install` or by Flux.",
    ),
    "GK-HELM-CLOCK": ProblemKind(
        "medium",
        "Chart branch decided by the clock or a random value",
        "Decide the branch with a value (`.Values`), not `now` or `rand*`: what the chart "
        "deploys must be what was reviewed.",
    ),
    "GK-TF-UNEVALUATED": ProblemKind(
        "medium",
        "Terraform function not evaluated: the value it makes is not judged",
        "Write the value another way (a literal, or functions gatekeeper evaluates), or waive "
        "the finding after review.",
    ),
    "GK-DOCKERFILE-FRONTEND": ProblemKind(
        "medium",
        "Dockerfile built by another BuildKit frontend: not judged as written",
        "Build it with docker/dockerfile (`# syntax=docker/dockerfile:1`), or waive the "
        "finding with a reason after reviewing what that frontend builds.",
    ),
    "GK-DANGLING-LINK": ProblemKind(
        "low",
        "Symbolic link to a file the repository does not hold: nothing to check",
        "Nothing is applied through the link as committed (each user creates the file, e.g. "
        "from an example); commit the file if it should be judged, or remove the link.",
    ),
}


def dangling_links(targets: dict[str, str]) -> list[Problem]:
    """{link: the path inside the repository it names, which does not exist} -> one problem
    per target, at its first link: a per-user file linked from every environment folder
    (`envs/*/terraform.tfvars -> ../../terraform.tfvars`) is one notice, not one per link."""
    by_target: dict[str, list[str]] = {}
    for link in sorted(targets):
        by_target.setdefault(targets[link], []).append(link)
    problems = []
    for target, links in sorted(by_target.items(), key=lambda item: item[1][0]):
        message = f"symbolic link to {target}, which the repository does not hold: not read"
        if len(links) > 1:
            others = ", ".join(links[1:4]) + (", ..." if len(links) > 4 else "")
            message += f" (also {len(links) - 1} other link(s) to it: {others})"
        problems.append(Problem("GK-DANGLING-LINK", links[0], 1, message))
    return problems


def to_finding(
    problem: Problem,
    source: str = "",
    *,
    identity: tuple[str, ...] | None = None,
    title: str = "",
    extra: dict[str, Any] | None = None,
) -> Finding:
    """The finding for a problem; `identity` (default: its message) keys the fingerprint."""
    kind = PROBLEM_KINDS.get(problem.code) or ProblemKind("high", problem.code, "")
    if problem.subject:
        extra = {**(extra or {}), "subject": problem.subject}
    return Finding(
        policy_id=problem.code,
        severity=kind.severity,
        title=title or kind.title,
        message=problem.message,
        file=problem.file,
        line=problem.line,
        column=problem.column,
        source=source,
        fingerprint=fingerprint(
            problem.code, problem.file, *(identity if identity is not None else (problem.message,))
        ),
        remediation=kind.remediation,
        extra=extra or {},
    )
