"""A pod that leaves `automountServiceAccountToken` unset gets its ServiceAccount's setting:
judged so where the ServiceAccount is deployed with it (one file, one chart release)."""

from __future__ import annotations

from pathlib import Path

import gatekeeper

ACCOUNT = (
    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n"
    "automountServiceAccountToken: false\n"
)
DEPLOYMENT = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n"
    "  selector: {{matchLabels: {{app: x}}}}\n  template:\n    metadata: {{labels: {{app: x}}}}\n"
    "    spec:\n      serviceAccountName: {account}\n"
    "      containers: [{{name: c, image: r.example.com/x:1}}]\n"
)


def _mounting(root: Path) -> list[str]:
    report = gatekeeper.scan(root, root=root, jobs=1)
    return sorted(
        f.name for f in report.verdict.findings if f.policy_id == "K8S-POD-AUTOMOUNT-TOKEN"
    )


def test_a_service_account_that_turns_the_token_off_covers_its_pods(tmp_path: Path) -> None:
    """grafana's tempo-distributed sets `automountServiceAccountToken: false` on its
    ServiceAccount (as K8S-SA-AUTOMOUNT-TOKEN asks) and got 6 medium findings saying its
    pods mount that account's token. A pod of another account still mounts one."""
    (tmp_path / "ch" / "templates").mkdir(parents=True)
    (tmp_path / "ch" / "Chart.yaml").write_text("apiVersion: v2\nname: ch\nversion: 0.1.0\n")
    (tmp_path / "ch" / "templates" / "sa.yaml").write_text(ACCOUNT.format(name="quiet"))
    (tmp_path / "ch" / "templates" / "a.yaml").write_text(
        DEPLOYMENT.format(name="a", account="quiet")
    )
    (tmp_path / "ch" / "templates" / "b.yaml").write_text(
        DEPLOYMENT.format(name="b", account="other")
    )
    assert _mounting(tmp_path) == ["b"]
