"""What a chart's files say (the cluster versions its templates test, where they read the
clock) kept between hook runs: the same files and code give the kept answer, any edited
file is read again, and a hook says the same with or without them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gatekeeper.sources import helm, helm_clock, helm_facts

TESTED = b'{{ if .Capabilities.APIVersions.Has "x.io/v1" }}a: 1{{ end }}\n'
CLOCK = b'privileged: {{ gt (now | date "2006" | atoi) 2026 }}\n'


def test_a_kept_answer_is_given_for_the_same_files_only(own_cache: Path) -> None:
    files = [("templates/a.yaml", TESTED)]
    assert helm_facts.Facts(files).kept("k", lambda: ["first"], helm_facts.strings) == ["first"]
    # Told apart from what computing says: the kept answer is what is given.
    assert helm_facts.Facts(files).kept("k", lambda: ["again"], helm_facts.strings) == ["first"]
    assert helm_facts.Facts(files).kept("other", lambda: ["b"], helm_facts.strings) == ["b"]
    edited = [("templates/a.yaml", TESTED + b"# edited\n")]
    assert helm_facts.Facts(edited).kept("k", lambda: ["new"], helm_facts.strings) == ["new"]
    renamed = [("templates/b.yaml", TESTED)]
    assert helm_facts.Facts(renamed).kept("k", lambda: ["new"], helm_facts.strings) == ["new"]
    # A kept value of another shape is no answer.
    assert helm_facts.Facts(files).kept("k", lambda: [1], lambda v: v == [1]) == [1]


def test_the_kept_answers_are_the_computed_ones(own_cache: Path) -> None:
    files = [("templates/a.yaml", TESTED + CLOCK), ("charts/sub/templates/b.yaml", CLOCK)]
    wanted = [helm.Release()]
    plain = helm.with_cluster_apis(wanted, files, [])
    for _ in range(2):  # computed and kept, then read back
        facts = helm_facts.Facts(files)
        assert helm.with_cluster_apis(wanted, files, [], facts=facts) == plain
        kept = helm_clock.problems(files, "web", {"sub": "libs/sub"}, facts)
        assert kept == helm_clock.problems(files, "web", {"sub": "libs/sub"})
        assert [(p.file, p.line) for p in kept] == [
            ("web/templates/a.yaml", 2),
            ("libs/sub/templates/b.yaml", 1),
        ]
    assert any(r.assumed == ("x.io/v1",) for _, r in plain)


def test_a_hook_sees_a_template_edited_to_read_the_clock(
    tmp_path: Path, own_cache: Path, gatekeeper: Callable[..., Any]
) -> None:
    """The second hook, after a template starts reading the clock, says so; the first had
    kept what the unedited files said."""
    repo = tmp_path / "repo"
    (repo / "chart/templates").mkdir(parents=True)
    (repo / "chart/Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n")
    (repo / "chart/values.yaml").write_text("tag: '1'\n")
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  hostNetwork: false\n"
    (repo / "chart/templates/pod.yaml").write_text(pod)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    env = {"GATEKEEPER_CACHE_DIR": str(own_cache)}

    def hook() -> list[str]:
        run = gatekeeper(
            "scan", "--hook", "chart/values.yaml", "--format", "json", cwd=repo, env=env
        )
        return [f["policy_id"] for f in json.loads(run.stdout)["findings"]]

    assert "GK-HELM-CLOCK" not in hook()
    assert list((own_cache / "helm-chart-facts-v1").glob("*/*"))
    clock = pod.replace("false", '{{ gt (now | date "2006" | atoi) 2026 }}')
    (repo / "chart/templates/pod.yaml").write_text(clock)
    assert "GK-HELM-CLOCK" in hook()
