"""benchmarks/run.py's Helm comparison: what it reads from the tools' reports, the helm it gives
Checkov, and how a run of some targets joins an earlier results file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from benchmarks import run

# Checkov's JSON for one framework (a list when several ran), cut to what run.py reads.
CHECKOV_REPORT = [
    {
        "check_type": "helm",
        "results": {"failed_checks": [{"check_id": "CKV_K8S_1"}]},
        "summary": {"passed": 50, "failed": 12, "skipped": 0, "resource_count": 30},
    },
    {
        "check_type": "kubernetes",
        "results": {"failed_checks": []},
        "summary": {"passed": 4, "failed": 3, "skipped": 1, "resource_count": 5},
    },
]


def test_checkov_findings_and_documents_come_from_every_summary(tmp_path: Path) -> None:
    output = tmp_path / "checkov.json"
    output.write_text(json.dumps(CHECKOV_REPORT, indent=2))
    assert run.checkov_findings(output) == 15
    assert run.checkov_documents(output) == 35


def test_gatekeeper_documents_are_the_report_summary(tmp_path: Path) -> None:
    output = tmp_path / "gatekeeper.json"
    output.write_text(json.dumps({"summary": {"documents": 275}, "findings": [{}, {}]}))
    assert (run.gatekeeper_findings(output), run.gatekeeper_documents(output)) == (2, 275)


def test_checkov_gets_helm_first_on_path_and_no_remote_chart_repository(tmp_path: Path) -> None:
    env = run.checkov_helm_env("/opt/helm/bin/helm", tmp_path)
    assert env["PATH"].split(os.pathsep)[0] == "/opt/helm/bin"
    assert env["CHECKOV_HELM_ALLOWED_REMOTE_REPOS"] == "none"
    assert env["HELM_CACHE_HOME"] == str(tmp_path / "cache")
    assert env["BC_SKIP_MAPPING"] == "TRUE"


def test_checkov_runs_on_a_fresh_copy_of_the_charts(tmp_path: Path) -> None:
    """It writes Chart.lock and charts/ into the charts it vendors dependencies for: every run
    starts from the corpus as it is, and the corpus is left alone."""
    corpus = tmp_path / "corpus"
    (corpus / "charts" / "c").mkdir(parents=True)
    (corpus / "charts" / "c" / "Chart.yaml").write_text("name: c\n")
    work = tmp_path / "work"
    first = run._fresh_copy(corpus / "charts", work)
    (first / "charts" / "c" / "Chart.lock").write_text("written by the tool\n")
    second = run._fresh_copy(corpus / "charts", work)
    assert sorted(p.name for p in (second / "charts" / "c").iterdir()) == ["Chart.yaml"]
    assert sorted(p.name for p in (corpus / "charts" / "c").iterdir()) == ["Chart.yaml"]


def test_a_merged_run_replaces_its_targets_and_keeps_the_others() -> None:
    def result(tool: str, target: str, cpu: float) -> dict[str, object]:
        return {"tool": tool, "target": target, "median_cpu_s": cpu}

    earlier = {
        "command": "python benchmarks/run.py",
        "machine": {"cpus": 2},
        "checkov_runs": 1,
        "checkov_version": "3.3.30",
        "results": [result("gatekeeper", "k8s", 48.1), result("gatekeeper", "charts", 9.0)],
        "ratios": {"k8s: gatekeeper/checkov": {"cpu": 0.75}, "charts: gatekeeper/x": {}},
        "memory_by_size": {"1x": 1101.5},
    }
    report = {
        "command": "python benchmarks/run.py --targets charts --merge",
        "machine": {"cpus": 2, "load_average_at_start": [3.0]},
        "checkov_runs": 3,
        "checkov_version": "3.3.30",
        "results": [result("gatekeeper", "charts", 2.4), result("checkov", "charts", 16.3)],
        "ratios": {"charts: gatekeeper/checkov": {"cpu": 0.15}},
        "memory_by_size": {},
    }
    out = run.merged(earlier, report)
    assert [(r["tool"], r["target"], r["median_cpu_s"]) for r in out["results"]] == [
        ("gatekeeper", "k8s", 48.1),
        ("gatekeeper", "charts", 2.4),
        ("checkov", "charts", 16.3),
    ]
    assert out["results"][0]["measured_by"]["command"] == "python benchmarks/run.py"
    assert out["results"][1]["measured_by"]["checkov_runs"] == 3
    assert out["ratios"] == {
        "k8s: gatekeeper/checkov": {"cpu": 0.75},
        "charts: gatekeeper/checkov": {"cpu": 0.15},
    }
    assert out["memory_by_size"] == {"1x": 1101.5}
    assert run.merged(out, report)["results"] == out["results"]  # merging again changes nothing


def test_a_baseline_checkout_runs_right_after_this_one_and_imports_its_own_source(
    tmp_path: Path,
) -> None:
    """An A/B pair: the older source's gatekeeper package (and built-in library) is what the
    second tool imports, and its runs are compared pair by pair with this one's."""
    old = tmp_path / "old"
    (old / "gatekeeper").mkdir(parents=True)
    (old / "policies").mkdir()
    tools = run.tools_for("charts", "helm", 3, False, 1, 0, tmp_path, baseline=old)
    assert [tool.name for tool in tools] == ["gatekeeper", "gatekeeper-baseline"]
    this, baseline = tools
    assert baseline.command == this.command and baseline.runs == 3
    folder = Path(baseline.env["PYTHONPATH"])
    assert (folder / "gatekeeper").resolve() == old / "gatekeeper"
    assert (folder / "gatekeeper_policies").resolve() == old / "policies"
    measured = [run.Measure(wall, cpu, 100, 100, 0, 90) for wall, cpu in [(2, 1), (4, 3)]]
    results = [run.Result(tool.name, "charts", tool.command) for tool in tools]
    results[0].runs = [measured[0], measured[0]]
    results[1].runs = [measured[1], measured[1]]
    ratio = run.ratios(results)["charts: gatekeeper/gatekeeper-baseline"]
    assert (ratio["wall"], ratio["cpu"], ratio["tree_pss"]) == (0.5, 0.333, 1.0)


def test_the_renders_of_a_scan_are_replayed_by_a_fresh_renderer(tmp_path: Path) -> None:
    """benchmarks/helm_renders.py: what a scan asks the renderer (the chart as written for
    Helm, its jobs) is kept, and a child started as helm_engine starts it answers it all."""
    from benchmarks import helm_renders

    chart = tmp_path / "repo" / "ch"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: ch\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
    )
    (request,) = helm_renders.record(tmp_path / "repo", tmp_path / "recorded")
    assert (Path(request["root"]) / "templates" / "cm.yaml").exists()
    assert [job["options"]["name"] for job in request["jobs"]] == ["release-name"]
    cpu, peak_mb = helm_renders.replay([request], "200")
    assert cpu > 0 and peak_mb > 10


def test_the_renders_of_a_chart_say_why_each_was_asked_for(tmp_path: Path) -> None:
    """benchmarks/helm_renders.py tells each rendering of a chart apart by its options: the
    install, an assumed API, a Kubernetes version, the upgrade; and a copy for `lookup`."""
    from benchmarks import helm_renders

    chart = tmp_path / "repo" / "ch"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: ch\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n"
        '  a: {{ .Capabilities.APIVersions.Has "example.com/v1" | quote }}\n'
        '  b: {{ semverCompare ">=1.31.0" .Capabilities.KubeVersion.Version | quote }}\n'
        "  c: {{ .Release.IsUpgrade | quote }}\n"
        '  d: {{ lookup "v1" "Secret" "x" "y" | quote }}\n'
    )
    first, found = helm_renders.record(tmp_path / "repo", tmp_path / "recorded")
    said = helm_renders.reasons(first)
    assert said[0] == "install" and "install +1 API" in said and "upgrade" in said
    assert any(reason.startswith("install kube v1.31.0") for reason in said)
    assert helm_renders.reasons(found) == ["install lookup"]


def test_hook_bench_edits_a_comment_or_a_value(tmp_path: Path) -> None:
    """`hook_bench.py --edit comment` leaves a values file's values as they were (a chart's
    renderings are kept for it), `--edit value` changes them at every run."""
    import yaml

    from benchmarks import hook_bench

    values = tmp_path / "values.yaml"
    values.write_text("image:\n  tag: '1'\n")
    hook_bench.edit(str(tmp_path), "values.yaml", "comment", 1)
    assert yaml.safe_load(values.read_text()) == {"image": {"tag": "1"}}
    hook_bench.edit(str(tmp_path), "values.yaml", "value", 2)
    hook_bench.edit(str(tmp_path), "values.yaml", "value", 3)
    edited = {"image": {"tag": "1"}, "hookBenchEdit2": 2, "hookBenchEdit3": 3}
    assert yaml.safe_load(values.read_text()) == edited
    before = values.read_text()
    hook_bench.edit(str(tmp_path), "values.yaml", "", 4)
    assert values.read_text() == before
