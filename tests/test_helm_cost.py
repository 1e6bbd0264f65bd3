"""What Helm rendering is spared, with the same answers: a template with one part that can
write anything is not matched part by part, and the renderer's environment."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from gatekeeper.sources import LoadContext, helm, helm_engine
from gatekeeper.sources.helm_lines import KeyLine, parse_template, writing_parts
from gatekeeper.tree import WorkTree

CHART = "apiVersion: v2\nname: ch\nversion: 0.1.0\n"


def load_chart(tmp_path: Path, files: dict[str, str]) -> Any:
    for name, text in {"ch/Chart.yaml": CHART, **files}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    context = LoadContext(tree=WorkTree(tmp_path), options={"helm": {}})
    return helm.load("ch/Chart.yaml", (tmp_path / "ch/Chart.yaml").read_bytes(), context)


# A definition wrapped in a condition opened before its `---`, as chart repositories vendor
# CRDs and operators: the first part writes nothing, and most literal keys of the second are
# switched off by the values.
WRAPPED = """{{- if .Values.enabled }}
# vendored from upstream
---
apiVersion: v1
kind: Pod
metadata:
  name: wrapped
spec:
  containers:
    - name: app
      image: app:1
      securityContext:
        privileged: true
{{- if .Values.extra }}
      ports:
        - containerPort: 80
          protocol: TCP
          name: http
      env:
"""
WRAPPED += "".join(f"        - name: V{n}\n          value: v\n" for n in range(10))
WRAPPED += "{{- end }}\n{{- end }}\n"


def test_a_document_after_a_part_that_writes_nothing_is_located_in_its_own_part(
    tmp_path: Path,
) -> None:
    """The part matcher scored the Pod below zero (twenty-five literal keys not rendered) and gave
    it to the empty first part: its fields pointed at no line of theirs. The first part
    writes nothing, so the Pod is the second part's."""
    loaded = load_chart(
        tmp_path, {"ch/templates/pod.yaml": WRAPPED, "ch/values.yaml": "enabled: true\n"}
    )
    assert loaded.problems == []
    (pod,) = loaded.documents
    assert pod.extra["origin"] == "ch/templates/pod.yaml#1"
    path = ("spec", "containers", 0, "securityContext", "privileged")
    location = pod.locator.locate(path)
    assert (location.line, location.exact) == (13, True)


def test_parts_that_write_nothing_are_told_from_parts_that_may() -> None:
    assert writing_parts("{{- if .Values.enabled }}\n# a comment\n---\nkind: A\n") == [1]
    silent = '{{/* note */}}\n{{- $name := include "x" . }}\n  # indented\n\n{{ end }}\n'
    assert writing_parts(f"{silent}---\nkind: A\n---\n{silent}") == [1]
    # what may write a document: an action in a comment line, one spread over lines, an
    # include, a value, literal text, a template defined to be written elsewhere
    for first in (
        '# {{ include "objects" . }}',
        "{{- if or\n  .Values.a .Values.b }}",
        '{{ include "objects" . }}',
        "{{ .Values.raw }}",
        "kind: B",
        '{{- define "objects" }}\nkind: B\n{{- end }}',
        '{{ if eq .Values.x "}}" }}',
    ):
        assert writing_parts(f"{first}\n---\nkind: A\n") == [0, 1], first
    assert writing_parts("kind: A\n") == [0]
    assert writing_parts("") == []


DEFINITION = """{{- if .Values.crds }}
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  annotations:
    note: |
      metadata: not a key
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      schema:
        openAPIV3Schema:
          properties:
            metadata:
              type: object
            spec:
              description: |-
                kind: not a key either
              type: object
{{- end }}
"""


def test_a_top_level_field_is_located_from_the_root_keys_alone(tmp_path: Path) -> None:
    """Every object's inventory entry locates `metadata.namespace`, which a definition has
    not: its `metadata:` line comes from the template's root keys, read without the lines
    below them (a CRD template runs to 14,000), and is the line the whole parse gives. (A
    removed v1beta1 definition: a template of v1 definitions alone is not parsed at all.)"""
    removed = DEFINITION.replace("apiextensions.k8s.io/v1\n", "apiextensions.k8s.io/v1beta1\n")
    loaded = load_chart(
        tmp_path,
        {"ch/templates/crd.yaml": removed, "ch/values.yaml": "crds: true\n"},
    )
    (definition,) = loaded.documents
    shallow = [("metadata", "namespace"), ("metadata",), (), ("kind",), ("nope",)]
    first = [definition.locator.locate(path) for path in shallow]
    assert definition.locator.template._parsed is None  # not parsed whole
    assert [(at.line, at.exact) for at in first] == [
        (4, False),
        (4, True),
        (2, True),
        (3, True),
        (2, False),
    ]
    deep = definition.locator.locate(("spec", "versions", 0, "served"))
    assert (deep.line, deep.exact) == (14, True)
    assert [definition.locator.locate(path) for path in shallow] == first  # from the whole


def test_the_root_keys_are_the_whole_parses_keys_at_the_root() -> None:
    texts = [
        DEFINITION,
        "a:\n  - b: 1\n- c: 2\nd: |\n  e: 3\n\tf: 4\n---\n  g: 5\nh: 6\n",
        "- - a: 1\n  b: 2\nc:\n    d: 1\n  e: 2\n# f: 3\n{{ $k }}: v\n---x: 1\nkind: Pod\n",
    ]
    for text in texts:
        whole = parse_template(text)
        roots = whole._replace(keys=[key for key in whole.keys if key.parent == 0])
        assert parse_template(text, 1) == roots, text


def test_the_keys_to_a_depth_are_the_whole_parses_keys_that_deep() -> None:
    """A release namespace is asked of every object rendered into `default`: the keys two
    deep answer it (metadata.namespace) without the template parsed whole."""
    texts = [
        DEFINITION,
        "a:\n  - b: 1\n- c: 2\nd: |\n  e: 3\n\tf: 4\n---\n  g: 5\nh: 6\n",
        "- - a: 1\n  b: 2\nc:\n    d: 1\n  e: 2\n# f: 3\n{{ $k }}: v\n---x: 1\nkind: Pod\n",
        "spec:\n  containers:\n  - name: a\n    args: |\n      x: 1\n  volumes:\n  - b: |\n"
        "      c: 2\n  y: |\n    z: 3\n  w: 4\nmetadata:\n  namespace: n\n  labels:\n"
        "    l: {{ .Values.l }}\n  name: m\n",
    ]

    def depth(key: KeyLine, lines: dict[int, KeyLine]) -> int:
        return 1 if key.parent == 0 else 1 + depth(lines[key.parent], lines)

    for text in texts:
        whole = parse_template(text)
        lines = {key.line: key for key in whole.keys}
        for most in (1, 2, 3):
            kept = [key for key in whole.keys if depth(key, lines) <= most]
            assert parse_template(text, most) == whole._replace(keys=kept), (most, text)


def _environ(pid: int) -> list[bytes]:
    """A child's environment, once exec() has set it up: the parent's Popen returns when the
    child closes its descriptors, a moment before (it read as empty now and then)."""
    for _ in range(500):
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        if environ:
            break
        time.sleep(0.01)
    return environ.split(b"\0")


def test_the_renderer_collects_its_garbage_less_often_under_its_memory_target() -> None:
    """GOGC=400 beside GOMEMLIMIT (48 MiB, or half the address-space cap when lower),
    whatever the caller's environment says."""
    helm_engine.release()  # (one an earlier test left may be a hook's)
    worker = helm_engine._Worker.get(helm_engine.MEMORY_MIB)
    try:
        environ = _environ(worker.proc.pid)
    finally:
        worker.stop()
    assert b"GOGC=400" in environ
    assert b"GOMEMLIMIT=48MiB" in environ
    assert helm_engine.memory_target(64) == "32MiB"


def test_a_hooks_renderer_has_more_room_for_its_go_heap(monkeypatch: Any) -> None:
    """A hook (which keeps renderings) renders a few charts in a short-lived process: its
    renderer's soft limit is 96 MiB, where the collector ran through a fifth of the CPU of a
    chart of large templates under 48; the address-space cap still bounds it."""
    from gatekeeper.sources import helm_renders

    monkeypatch.setattr(helm_renders, "_keeping", True)
    helm_engine.release()  # a renderer an earlier test left running was started without
    worker = helm_engine._Worker.get(helm_engine.MEMORY_MIB)
    try:
        environ = _environ(worker.proc.pid)
    finally:
        worker.stop()
    assert b"GOMEMLIMIT=96MiB" in environ
    assert helm_engine.memory_target(64) == "32MiB"


def test_a_pod_dressed_as_a_definition_in_crds_is_judged(tmp_path: Path) -> None:
    """crds/ files of definitions alone go unparsed (megabytes no policy reads), told by
    their top-level lines; a second `kind` written quoted, which YAML reads last, made a Pod
    (or a removed v1beta1 definition) look like one and go unjudged."""
    definition = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
    pod = '"kind": Pod\nmetadata:\n  name: sneaky\nspec:\n  hostPID: true\n'
    loaded = load_chart(
        tmp_path,
        {
            "ch/crds/a.yaml": definition + "metadata:\n  name: a.example.com\n",
            "ch/crds/b.yaml": definition.replace("v1\n", "v1beta1\n", 1),
            "ch/crds/c.yaml": definition + pod,
        },
    )
    judged = sorted((d.file, d.kind, d.obj["apiVersion"]) for d in loaded.documents)
    assert judged == [
        ("ch/crds/b.yaml", "CustomResourceDefinition", "apiextensions.k8s.io/v1beta1"),
        ("ch/crds/c.yaml", "Pod", "apiextensions.k8s.io/v1"),
    ]


def test_a_template_rendering_definitions_alone_is_not_parsed(tmp_path: Path) -> None:
    """A template that renders v1 CustomResourceDefinitions alone (prometheus-operator-crds:
    4.4 MB, a tenth of the real charts' CPU) is passed over as a crds/ file of them is; one
    that renders anything else beside them, or a definition YAML could read as another kind,
    is parsed and judged."""
    definition = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
    pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  hostPID: true\n"
    loaded = load_chart(
        tmp_path,
        {
            "ch/values.yaml": "crds: true\n",
            "ch/templates/a.yaml": DEFINITION + "---\n" + DEFINITION,
            "ch/templates/b.yaml": DEFINITION + "---\n" + pod,
            "ch/templates/c.yaml": definition + '"kind": Pod\nmetadata:\n  name: c\n',
            "ch/templates/d.yaml": DEFINITION.replace("/v1\n", "/v1beta1\n", 1),
        },
    )
    judged = sorted((d.file, d.kind, d.obj["apiVersion"]) for d in loaded.documents)
    assert judged == [
        ("ch/templates/b.yaml", "CustomResourceDefinition", "apiextensions.k8s.io/v1"),
        ("ch/templates/b.yaml", "Pod", "v1"),
        ("ch/templates/c.yaml", "Pod", "apiextensions.k8s.io/v1"),
        ("ch/templates/d.yaml", "CustomResourceDefinition", "apiextensions.k8s.io/v1beta1"),
    ]
    assert not loaded.problems


_CHILD_PROBE = """
import json, runpy, sys
child = runpy.run_path(sys.argv[1], run_name="helm_child")
helm = child["Library"].open(sys.argv[2])
pieces = []
root = sys.stdin.read()
child["render_here"](helm, root, [(b"{}", b'{"name": "r"}')], pieces.append)
loaded = sorted(m for m in sys.modules if m.startswith(("helm_python", "gatekeeper")))
print(json.dumps({"modules": loaded, "answer": json.loads(b"".join(pieces))}))
"""


def test_the_renderer_loads_the_library_without_the_sdks_python_api(tmp_path: Path) -> None:
    """The child declares the calls a render makes and loads the library helm_python would:
    no helm_python (or gatekeeper) module is imported, and the answer is the SDK's own, the
    one it gives when the library is named by HELM_C_LIB (then helm_python loads it)."""
    import json
    import os
    import subprocess
    import sys

    chart = tmp_path / "ch"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART)
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
    )
    sdk = helm_engine._sdk_folder()
    answers = []
    # direct; HELM_C_LIB names the library; helm_python elsewhere (the child has site then)
    for override, isolated, folder in (
        ("", ["-I", "-S"], sdk),
        (os.path.join(sdk, "lib"), ["-I", "-S"], sdk),
        ("", ["-I"], ""),
    ):
        done = subprocess.run(
            [sys.executable, *isolated, "-c", _CHILD_PROBE, helm_engine._CHILD_FILE, folder],
            input=str(chart),
            capture_output=True,
            text=True,
            env={**os.environ, "HELM_C_LIB": override},
            check=True,
        )
        answers.append(json.loads(done.stdout))
    direct, *through_sdk = answers
    assert direct["modules"] == []
    for other in through_sdk:
        assert "helm_python._native" in other["modules"]
        assert other["answer"] == direct["answer"]
    (rendering,) = direct["answer"]["renderings"]
    assert rendering["error"] == ""
    assert list(rendering["manifests"]) == ["ch/templates/cm.yaml"]
    assert "name: r\n" in rendering["manifests"]["ch/templates/cm.yaml"]


# The child as a script (exec: runpy itself imports collections and functools), then the
# modules a render had it import among those json would (json, re, enum, collections), and
# its answer.
_LEAN_PROBE = """
import sys
file = sys.argv[1]
child = {"__name__": "helm_child"}
exec(compile(open(file).read(), file, "exec"), child)
helm = child["Library"].open(sys.argv[2])
root, jobs = child["read_request"](sys.stdin.buffer.read())
pieces = []
child["render_here"](helm, root, jobs, pieces.append)
heavy = [m for m in ("json", "re", "enum", "collections", "typing") if m in sys.modules]
sys.stdout.buffer.write(repr(heavy).encode() + b"\\n" + b"".join(pieces))
"""


def test_the_renderer_reads_requests_and_answers_without_a_json_module(tmp_path: Path) -> None:
    """json (with re, enum and collections) was a fifth of the child's start-up, paid by every
    hook on a chart: a request's values and options are JSON texts on one line, passed to
    Helm as they are, and the answer is Helm's JSON with a few strings quoted around it. A
    tab, a line break and a quote in a value or in an error come through as they are; the
    subcharts Helm loaded are named."""
    import ast
    import json
    import os
    import subprocess
    import sys

    chart = tmp_path / "ch"
    (chart / "templates").mkdir(parents=True)
    (chart / "charts/sub/templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART)
    (chart / "charts/sub/Chart.yaml").write_text(CHART.replace("name: ch", "name: sub"))
    required = 'required "x, \\"quoted\\"\\tand tabbed" .Values.x'
    (chart / "templates/cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n"
        f"data:\n  x: {{{{ {required} | quote }}}}\n"
    )
    sdk = helm_engine._sdk_folder()
    jobs = [
        {"values": {"x": "a\tb\nc \u00e9"}, "options": {"name": "r", "namespace": "default"}},
        {"values": {}, "options": {"name": "r", "namespace": "default"}},
    ]
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _LEAN_PROBE, helm_engine._CHILD_FILE, sdk],
        input=helm_engine.request_line(str(chart), jobs),
        capture_output=True,
        env={**os.environ, "HELM_C_LIB": ""},
        check=True,
    )
    heavy, _, answer = done.stdout.partition(b"\n")
    assert ast.literal_eval(heavy.decode()) == []
    assert b"\n" not in answer
    data = json.loads(answer)
    assert [dependency["name"] for dependency in data["dependencies"]] == ["sub"]
    rendered, failed = data["renderings"]
    assert '  x: "a\\tb\\nc \u00e9"\n' in rendered["manifests"]["ch/templates/cm.yaml"]
    assert failed["manifests"] is None and 'x, "quoted"\tand tabbed' in failed["error"]
    # What the engine makes of it.
    result = helm_engine.render(str(chart), jobs)
    assert (
        result.dependencies == ("sub",)
        and result.renderings[0].manifests == (rendered["manifests"])
    )


def test_the_sdk_is_never_looked_up_in_the_working_directory(tmp_path: Path) -> None:
    """Under `python -m gatekeeper` sys.path begins with the working directory, during a
    scan the scanned repository: a `helm_python/` planted there is not the library the
    renderer loads."""
    import subprocess
    import sys

    planted = tmp_path / "helm_python"
    (planted / "lib").mkdir(parents=True)
    (planted / "_native.py").write_text('EXPECTED_HELM_C_VERSION = "0.2.2"\n')
    (planted / "__init__.py").write_text("")
    (planted / "lib" / "libhelm_c.so.0.2.2").write_bytes(b"not a library")
    probe = "from gatekeeper.sources import helm_engine; print(helm_engine._sdk_folder())"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    found = done.stdout.strip()
    assert found and not found.startswith(str(tmp_path))
    assert Path(found, "_native.py").is_file()


def test_schemas_are_looked_for_among_the_files_written_for_helm(tmp_path: Path) -> None:
    """Not by walking the copy twice: a folder named values.schema.json (or x.tgz) is no
    schema, and the chart renders (it was an error: the folder read as a file)."""
    loaded = load_chart(
        tmp_path,
        {
            "ch/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
            "ch/files/values.schema.json/x.json": "{}\n",
            "ch/files/old.tgz/y.txt": "\n",
            "ch/values.schema.json": '{"$ref": "https://example.com/s.json"}\n',
        },
    )
    assert [d.name for d in loaded.documents] == ["a"]
    (problem,) = loaded.problems
    assert problem.file == "ch/values.schema.json" and "never uses the network" in problem.message
    assert problem.code == "GK-SCHEMA-NOT-LOADED"  # low: the chart is judged without it


def test_go_templates_rendered_outside_charts_do_not_keep_the_renderer() -> None:
    """An ApplicationSet's Go templates start the Helm child; a scan rendering no chart
    would keep it (about 57 MB of the k8s corpus's peak) to the end: it is stopped."""
    from gatekeeper.sources import applicationsets_go, helm_engine

    helm_engine._stop_worker()
    found = applicationsets_go.render(["{{ .env | upper }}"], [{"env": "prod"}])
    assert found == [{"{{ .env | upper }}": "PROD"}]
    assert helm_engine._Worker.current is None


def _read_only_library_kb(pid: int) -> int:
    """kB resident in the Helm library's mappings that cannot be written, in process `pid`."""
    total, counted = 0, False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and ":" not in parts[0]:
            counted = len(parts) >= 6 and "libhelm_c" in parts[5] and "w" not in parts[1]
        elif counted and parts[0] == "Rss:":
            total += int(parts[1])
    return total


def test_a_scans_renderer_hands_back_the_pages_only_loading_the_library_touched(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """The library's relocations and its packages' start-up code and data (25 to 35 MB) are
    read once, when it loads: a scan's renderer, alive beside the scan's peak, drops them
    (those a render reads come back); a hook's keeps them (short-lived, timed by its CPU).
    Either renders the same."""
    from gatekeeper.sources import helm_renders

    for name, text in {"ch/Chart.yaml": CHART, "ch/templates/cm.yaml": "kind: ConfigMap\n"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    job = {"values": {}, "options": {"name": "r"}}
    answers, resident = [], []
    for keeping in (True, False):
        monkeypatch.setattr(helm_renders, "_keeping", keeping)
        helm_engine.release()
        worker = helm_engine._Worker.get(helm_engine.MEMORY_MIB)
        try:
            assert worker._read_line(helm_engine.STARTUP_SECONDS) == b"ready"
            worker.ready = True
            resident.append(_read_only_library_kb(worker.proc.pid))
            answers.append(helm_engine.render(str(tmp_path / "ch"), [job]))
        finally:
            worker.stop()
    kept, lean = resident
    assert kept > 20_000
    assert lean < kept / 2
    assert answers[0] == answers[1]
    assert answers[0].renderings[0].manifests == {"ch/templates/cm.yaml": "kind: ConfigMap\n"}


def test_only_clean_read_only_mappings_of_the_library_are_dropped() -> None:
    smaps = """\
7f0000000000-7f0000001000 r--p 00000000 08:01 42 /venv/helm_python/lib/libhelm_c.so.0.2.2
Rss:                   4 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
7f0000001000-7f0000003000 r-xp 00001000 08:01 42 /venv/helm_python/lib/libhelm_c.so.0.2.2
Rss:                   8 kB
Private_Dirty:         0 kB
VmFlags: rd ex mr mw me
7f0000003000-7f0000004000 r--p 00003000 08:01 42 /venv/helm_python/lib/libhelm_c.so.0.2.2
Private_Dirty:         4 kB
7f0000004000-7f0000005000 rw-p 00004000 08:01 42 /venv/helm_python/lib/libhelm_c.so.0.2.2
Private_Dirty:         0 kB
7f0000005000-7f0000006000 r-xp 00000000 08:01 43 /usr/lib/libc.so.6
Private_Dirty:         0 kB
7f0000006000-7f0000007000 r--p 00000000 00:00 0
Anonymous:             4 kB
"""
    from gatekeeper.sources.helm_child import _clean_mappings

    found = _clean_mappings(smaps.splitlines(keepends=True), "libhelm_c")
    assert found == [(0x7F0000000000, 0x7F0000001000), (0x7F0000001000, 0x7F0000003000)]
