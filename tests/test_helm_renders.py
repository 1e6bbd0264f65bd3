"""Helm's renderings kept between hook runs: asked again for the same chart, the same jobs
and the same library, the kept answer is the answer; anything else renders anew."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.cache import Entries
from gatekeeper.sources import helm_engine, helm_renders
from gatekeeper.sources.helm_copy import ChartCopy

CHART = "apiVersion: v2\nname: web\nversion: 0.1.0\n"
POD = """apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
    - name: app
      image: "app:{{ .Values.tag }}"
      securityContext: {privileged: true}
"""
JOBS: list[dict[str, Any]] = [
    {"values": {}, "options": {"name": "release-name", "namespace": "default"}},
    {"values": {"tag": "2"}, "options": {"name": "release-name", "namespace": "default"}},
]


def _chart(folder: Path, pod: str = POD) -> Path:
    (folder / "templates").mkdir(parents=True)
    (folder / "Chart.yaml").write_text(CHART)
    (folder / "values.yaml").write_text("tag: '1'\n")
    (folder / "templates/pod.yaml").write_text(pod)
    return folder


@pytest.fixture
def keeping(monkeypatch: pytest.MonkeyPatch, own_cache: Path) -> Path:
    monkeypatch.setattr(helm_renders, "_keeping", True)
    return own_cache


def _kept(cache: Path) -> list[Path]:
    return [p for p in (cache / helm_renders._NAME).glob("*/*") if not p.name.startswith(".")]


def test_a_kept_rendering_answers_the_same_request_and_only_it(
    tmp_path: Path, keeping: Path
) -> None:
    root = str(_chart(tmp_path / "chart"))
    limit = helm_engine.DEFAULT_LIMITS
    first = helm_renders.render(root, JOBS, limit)
    assert first == helm_engine.render(root, JOBS, limit)  # what Helm says, kept as it is
    pods = [(r.manifests or {}).get("web/templates/pod.yaml", "") for r in first.renderings]
    assert ["app:2" in pod for pod in pods] == [False, True]
    assert len(_kept(keeping)) == 1
    # The kept answer is what a second request gets: one told apart from Helm's proves it.
    found = helm_renders._key(root, JOBS, limit)
    assert found is not None
    key = found[0][0]
    marked = first._replace(dependencies=("kept",))
    Entries(helm_renders._NAME).put_bytes(key, helm_renders._encoded(marked))
    assert helm_renders.render(root, JOBS, limit) == marked
    # Other jobs, other limits, another file of the chart: rendered by Helm again.
    assert helm_renders.render(root, JOBS[:1], limit).dependencies == ()
    assert helm_renders.render(root, JOBS, limit._replace(seconds=29.0)).dependencies == ()
    edited = POD.replace("privileged: true", "privileged: false")
    (tmp_path / "chart/templates/pod.yaml").write_text(edited)
    again = helm_renders.render(root, JOBS, limit)
    assert again.dependencies == () and "privileged: false" in str(again.renderings[0].manifests)


def test_a_values_file_edited_only_in_its_comments_renders_nothing_again(
    tmp_path: Path, keeping: Path
) -> None:
    """Helm reads a chart's values.yaml only as the values it parses (it is not in `.Files`):
    kept under its YAML events, a comment or spacing edited is answered from the kept
    rendering (told apart from Helm's to prove it), a value edited is rendered again, and a
    block scalar's `# line` is a value."""
    folder = _chart(tmp_path / "chart")
    (folder / "values.yaml").write_text("tag: '1'\nnote: |\n  text\n")
    root, limit = str(folder), helm_engine.DEFAULT_LIMITS
    first = helm_renders.render(root, JOBS, limit)
    found = helm_renders._key(root, JOBS, limit)
    assert found is not None
    marked = first._replace(dependencies=("kept",))
    Entries(helm_renders._NAME).put_bytes(found[0][0], helm_renders._encoded(marked))
    (folder / "values.yaml").write_text("# edited\ntag:   '1'  # the tag\nnote: |\n  text\n# end\n")
    assert helm_renders.render(root, JOBS, limit) == marked
    for edited in ("tag: '2'\nnote: |\n  text\n", "tag: '1'\nnote: |\n  text\n  # end\n"):
        (folder / "values.yaml").write_text(edited)
        assert helm_renders.render(root, JOBS, limit).dependencies == ()


def test_a_chart_helm_cannot_load_is_kept_under_its_bytes(tmp_path: Path, keeping: Path) -> None:
    """Its error may be about its values file, with a line a comment moves."""
    folder = _chart(tmp_path / "chart")
    (folder / "Chart.yaml").write_text("apiVersion: v2\nname: web\n")  # no version
    root, limit = str(folder), helm_engine.DEFAULT_LIMITS
    assert helm_renders.render(root, JOBS, limit).load_error
    found = helm_renders._key(root, JOBS, limit)
    assert found is not None
    (by_events, by_bytes) = found[0]
    assert Entries(helm_renders._NAME).get_bytes(by_events) is None
    assert Entries(helm_renders._NAME).get_bytes(by_bytes) is not None


@pytest.mark.parametrize(
    "call", ["{{ randAlphaNum 8 }}", '{{ now | date "2006" }}', '{{ (genCA "x" 3).Cert }}']
)
def test_a_chart_that_renders_differently_each_time_is_never_kept(
    tmp_path: Path, keeping: Path, call: str
) -> None:
    pod = POD.replace('"app:{{ .Values.tag }}"', f'"app:{call}"')
    root = str(_chart(tmp_path / "chart", pod))
    result = helm_renders.render(root, JOBS, helm_engine.DEFAULT_LIMITS)
    assert result.renderings[0].manifests is not None
    assert _kept(keeping) == []


def test_a_chart_with_a_packaged_subchart_is_never_kept(tmp_path: Path, keeping: Path) -> None:
    """Its templates are in the archive, not read for the calls above."""
    root = _chart(tmp_path / "chart")
    sub = _chart(tmp_path / "sub", POD.replace('"app:{{ .Values.tag }}"', '"app:{{ now }}"'))
    (root / "charts").mkdir()
    subprocess.run(
        ["tar", "-czf", str(root / "charts/sub-0.1.0.tgz"), "-C", str(tmp_path), "sub"],
        check=True,
    )
    (sub / "Chart.yaml").write_text(CHART.replace("name: web", "name: sub"))
    helm_renders.render(str(root), JOBS, helm_engine.DEFAULT_LIMITS)
    assert _kept(keeping) == []


def test_what_the_templates_call_is_read_once_for_their_content(
    tmp_path: Path, keeping: Path
) -> None:
    """A hook on an edited values file misses the kept renderings (the values are in the
    key) and read every template again for calls of the clock: their verdict is kept under
    a digest of them. A kept verdict told apart from the truth (the clock is called) proves
    it is read; an edited template is read again."""
    folder = _chart(tmp_path / "chart")
    limit = helm_engine.DEFAULT_LIMITS
    helm_renders.render(str(folder), JOBS, limit)
    assert len(_kept(keeping)) == 1
    (verdict,) = (keeping / "helm-template-calls-v1").glob("*/*")
    key = verdict.parent.name + verdict.name
    assert Entries("helm-template-calls-v1").get_bytes(key) == b"00"
    Entries("helm-template-calls-v1").put_bytes(key, b"10")  # "the clock is called"
    (folder / "values.yaml").write_text("tag: '3'\n")
    helm_renders.render(str(folder), JOBS, limit)
    assert len(_kept(keeping)) == 1  # the kept verdict said so: not kept
    (folder / "templates/pod.yaml").write_text(POD + "# edited\n")
    helm_renders.render(str(folder), JOBS, limit)
    assert len(_kept(keeping)) == 2


def test_nothing_is_kept_outside_the_hook(tmp_path: Path, own_cache: Path) -> None:
    root = str(_chart(tmp_path / "chart"))
    helm_renders.render(root, JOBS, helm_engine.DEFAULT_LIMITS)
    assert _kept(own_cache) == []


def test_a_hook_on_a_chart_says_the_same_from_kept_renderings(
    tmp_path: Path, own_cache: Path, gatekeeper: Callable[..., Any]
) -> None:
    """The second hook on the unchanged chart says what the first said; a changed values
    file is rendered again."""
    repo = tmp_path / "repo"
    _chart(repo / "chart")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    env = {"GATEKEEPER_CACHE_DIR": str(own_cache)}
    runs = [
        gatekeeper("scan", "--hook", "chart/values.yaml", "--format", "json", cwd=repo, env=env)
        for _ in range(2)
    ]
    assert [run.returncode for run in runs] == [1, 1]
    assert runs[0].stdout == runs[1].stdout
    assert len(_kept(own_cache)) == 1
    found = json.loads(runs[1].stdout)["findings"]
    assert any("privileged" in f["message"] for f in found)
    (repo / "chart/values.yaml").write_text("tag: '3'\n")
    third = gatekeeper("scan", "--hook", "chart/values.yaml", "--format", "json", cwd=repo, env=env)
    assert "app:3" in third.stdout and "app:3" not in runs[0].stdout
    assert len(_kept(own_cache)) == 2
    # Comments edited: the kept rendering, and what a hook without any says.
    (repo / "chart/values.yaml").write_text("# the image\n\ntag: '3'  # pinned\n")
    fourth = gatekeeper(
        "scan", "--hook", "chart/values.yaml", "--format", "json", cwd=repo, env=env
    )
    assert len(_kept(own_cache)) == 2
    fresh = {"GATEKEEPER_CACHE_DIR": str(tmp_path / "fresh")}
    unkept = gatekeeper(
        "scan", "--hook", "chart/values.yaml", "--format", "json", cwd=repo, env=fresh
    )
    assert fourth.returncode == unkept.returncode == 1 and fourth.stdout == unkept.stdout


def test_the_renderer_is_started_ahead_only_for_a_chart_changed_since_the_last_hook(
    tmp_path: Path, own_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unchanged, its renderings are likely kept: no start-up spent on a child never asked."""
    from gatekeeper.sources import helm_deployers

    _chart(tmp_path / "chart")
    monkeypatch.chdir(tmp_path)
    helm_engine._stop_worker()
    try:
        helm_deployers.prestart(["chart/values.yaml"])  # never seen: started
        assert helm_engine._Worker.current is not None
        helm_engine._stop_worker()
        helm_deployers.prestart(["chart/values.yaml"])  # as the last hook found it
        assert helm_engine._Worker.current is None
        with (tmp_path / "chart/values.yaml").open("a") as values:
            values.write("# a comment: the same values\n")
        helm_deployers.prestart(["chart/values.yaml"])
        assert helm_engine._Worker.current is None
        (tmp_path / "chart/values.yaml").write_text("tag: '4'\n")
        helm_deployers.prestart(["chart/values.yaml"])
        assert helm_engine._Worker.current is not None
    finally:
        helm_engine._stop_worker()


def test_a_kept_answer_reads_back_exactly_and_a_damaged_one_is_a_miss() -> None:
    """The texts kept after a JSON head come back as Helm gave them (any character, a lone
    surrogate as JSON had kept it); lengths that do not add up are no answer."""
    result = helm_engine.ChartResult(
        "",
        ("sub",),
        (
            helm_engine.Rendering({"web/a.yaml": 'a: "x"\n# é ✓ \ud800\n', "web/b.yaml": ""}, ""),
            helm_engine.Rendering(None, "helm: failed"),
            helm_engine.Rendering({}, ""),
        ),
    )
    payload = helm_renders._encoded(result)
    assert helm_renders._decoded(payload) == result
    head, _, texts = payload.partition(b"\n")
    assert helm_renders._decoded(payload + b"x") is None
    assert helm_renders._decoded(payload[:-1]) is None
    assert helm_renders._decoded(head) is None
    assert helm_renders._decoded(b"[]\n" + texts) is None


def _copy_of(folder: Path, root: Path) -> ChartCopy:
    copy = ChartCopy(root)
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            copy.add(path.relative_to(folder).as_posix(), path.read_bytes())
    return copy


def test_a_chart_copy_is_written_only_when_helm_renders_it(tmp_path: Path, keeping: Path) -> None:
    """A chart copy held in memory (helm_copy) is keyed by its contents and its folders: a
    kept rendering answers without writing it; a new one writes it, then Helm loads it; an
    empty folder Helm would load (a local dependency with no file) is in the key."""
    folder = _chart(tmp_path / "chart")
    limit = helm_engine.DEFAULT_LIMITS
    first = _copy_of(folder, tmp_path / "copy-1")
    rendered = helm_renders.render(str(first.root), JOBS, limit, first)
    assert first.written and (first.root / "templates/pod.yaml").read_text() == POD
    assert rendered == helm_engine.render(str(folder), JOBS, limit)
    again = _copy_of(folder, tmp_path / "copy-2")
    assert helm_renders.render(str(again.root), JOBS, limit, again) == rendered
    assert not again.written and not again.root.exists()
    # The same files, one more (empty) folder: rendered by Helm again.
    emptier = _copy_of(folder, tmp_path / "copy-3")
    emptier.make_folder("charts/db")
    helm_renders.render(str(emptier.root), JOBS, limit, emptier)
    assert emptier.written and (emptier.root / "charts/db").is_dir()
    with pytest.raises(RuntimeError):
        emptier.add("templates/more.yaml", b"")
