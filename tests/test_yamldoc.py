from __future__ import annotations

import pytest

from gatekeeper import yamldoc
from gatekeeper.document import Problem
from gatekeeper.sources import kubernetes
from gatekeeper.yamldoc import MAX_DEPTH, NodeLocator, YamlDocument, load_all

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: a
spec:
  containers:
    - name: x
      image: nginx
      securityContext:
        privileged: true
"""


def test_locator_points_at_key_and_nearest_ancestor() -> None:
    (document,) = kubernetes.load("pod.yaml", POD.encode()).documents
    exact = document.locator.locate(("spec", "containers", 0, "securityContext", "privileged"))
    assert (exact.line, exact.column, exact.exact) == (10, 9, True)
    missing = document.locator.locate(("spec", "containers", 0, "securityContext", "runAsUser"))
    assert (missing.line, missing.exact) == (9, False)
    item = document.locator.locate(("spec", "containers", 0))
    assert item.line == 7


def test_multi_document_and_list_kind() -> None:
    text = (
        POD
        + "---\n"
        + (
            "apiVersion: v1\nkind: List\nitems:\n"
            "  - apiVersion: v1\n    kind: Service\n    metadata: {name: s}\n"
            "  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: c}\n"
        )
    )
    loaded = kubernetes.load("all.yaml", text.encode())
    assert [d.kind for d in loaded.documents] == ["Pod", "Service", "ConfigMap"]
    assert loaded.documents[2].locator.locate(("metadata", "name")).line == 20
    assert not loaded.problems


def test_merge_keys_are_applied_and_located() -> None:
    text = "base: &b\n  a: 1\n  b: 2\nitem:\n  <<: *b\n  b: 3\n"
    (document,) = [d for d in load_all("m.yaml", text) if isinstance(d, YamlDocument)]
    assert document.obj["item"] == {"a": 1, "b": 3}


def test_a_merge_key_after_a_key_wins_as_kubectl_decodes_it() -> None:
    """The attack: `hostNetwork: false` then `<<: {hostNetwork: true}`. kubectl, Argo CD and
    Helm decode with go-yaml v2, in document order: the pod runs on the host network. That
    value is judged, at the merge, and the key set twice is reported; a key after a merge
    overrides it (as everywhere, not reported); in a list of merges the first wins."""
    text = (
        "spec:\n  hostNetwork: false\n  <<: {hostNetwork: true, x: 1}\n"
        "  after: {<<: {a: 1, b: 1}, b: 2}\n  many: {<<: [{c: 1}, {c: 2, d: 2}]}\n"
        "apiVersion: v1\nkind: Pod\n"  # a manifest (a file that is none has no duplicates)
    )
    loaded = kubernetes.load("p.yaml", text.encode())
    (document,) = [d for d in load_all("p.yaml", text) if isinstance(d, YamlDocument)]
    assert document.obj["spec"] == {
        "hostNetwork": True,
        "x": 1,
        "after": {"a": 1, "b": 2},
        "many": {"c": 1, "d": 2},
    }
    locator = NodeLocator("p.yaml", document.node)
    assert locator.locate(("spec", "hostNetwork")).line == 3
    assert locator.locate(("spec", "after", "b")).line == 4
    duplicates = [(p.code, p.line) for p in loaded.problems if p.code != "GK-NOT-AN-OBJECT"]
    assert duplicates == [("GK-YAML-DUPLICATE-KEY", 3)]


def test_yaml_1_1_short_booleans_read_as_kubectl_reads_them() -> None:
    """The attack: `hostNetwork: y` and `privileged: y`: go-yaml v2 (kubectl, Argo CD, Helm)
    reads `y`, `Y`, `n`, `N` as booleans (YAML 1.1), so the pod ran on the host network
    while every rule saw a string. Quoted, they stay strings."""
    text = "a: y\nb: Y\nc: n\nd: N\ne: 'y'\nf: !!bool y\ng: yes\nh: yy\n"
    (document,) = [d for d in load_all("b.yaml", text) if isinstance(d, YamlDocument)]
    assert document.obj == {
        "a": True,
        "b": True,
        "c": False,
        "d": False,
        "e": "y",
        "f": True,
        "g": True,
        "h": "yy",
    }


def test_timestamps_stay_strings_like_kubernetes() -> None:
    (document,) = list(load_all("t.yaml", "at: 2024-01-01\nn: 010\n"))
    assert isinstance(document, YamlDocument)
    assert document.obj == {"at": "2024-01-01", "n": 8}


def test_billion_laughs_is_a_problem_not_a_hang() -> None:
    levels = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for index in range(1, 9):
        prev, name = chr(ord("a") + index - 1), chr(ord("a") + index)
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    loaded = kubernetes.load("bomb.yaml", ("\n".join(levels) + "\n").encode())
    assert [p.code for p in loaded.problems] == ["GK-YAML-BOMB"]


def test_recursive_alias_is_a_problem() -> None:
    (entry,) = list(load_all("r.yaml", "a: &a [*a]\n"))
    assert isinstance(entry, Problem) and entry.code == "GK-YAML-BOMB"


def test_deep_nesting_is_a_problem() -> None:
    entries = list(load_all("deep.yaml", "[" * 5000 + "]" * 5000 + "\n"))
    assert entries and all(isinstance(e, Problem) for e in entries)


def _block(levels: int) -> str:
    """`levels` nested block mappings, level n opening on line n."""
    return "".join(" " * depth + "a:\n" for depth in range(levels - 1)) + " " * levels + "b: 1\n"


def _merged(levels: int) -> str:
    """`levels` nested mappings reached through merge keys only (the path never grows)."""
    return "x: " + "{<<: " * (levels - 1) + "{b: 1}" + "}" * (levels - 1) + "\n"


@pytest.mark.parametrize(
    "text, deepest_line",
    [
        (_block(MAX_DEPTH), None),
        (_block(MAX_DEPTH + 1), MAX_DEPTH + 1),
        # Past libyaml's own limit (1000 levels since 0.2.6): our limit still answers, same line.
        (_block(2000), MAX_DEPTH + 1),
        ("x:\n" + "- " * (MAX_DEPTH - 1) + "y\n", None),
        ("x:\n" + "- " * MAX_DEPTH + "y\n", 2),
        ("[\n" * 3000 + "]\n" * 3000, MAX_DEPTH + 1),
        (_merged(MAX_DEPTH - 1), None),
        (_merged(MAX_DEPTH), 1),
    ],
)
def test_nesting_limit_is_ours_and_exact(text: str, deepest_line: int | None) -> None:
    """Level MAX_DEPTH loads; one more is refused at the line where it opens, whatever the
    YAML library's own limits, and every later stage can recurse over what loads."""
    entries = list(load_all("deep.yaml", text))
    if deepest_line is None:
        assert [type(e) for e in entries] == [YamlDocument]
    else:
        assert [(e.code, e.line, e.message) for e in entries if isinstance(e, Problem)] == [
            (
                "GK-PARSE-ERROR",
                deepest_line,
                f"nested more than {MAX_DEPTH} levels deep; not loaded",
            )
        ]


# A long, shallow manifest: past the cheap bounds of `may_be_deep` (indicators and line leads).
_WIDE = "".join(f"k{i}: [{{a: 1}}, - x]\n" for i in range(400)) + " " * 460 + "z: 1\n"


@pytest.mark.parametrize(
    "text",
    [
        _WIDE,
        _WIDE + "---\n" + _block(MAX_DEPTH + 1),  # the second document too deep: nothing loads
        _block(MAX_DEPTH + 1) + "---\n" + _WIDE,
        _WIDE + "---\n" + "a: !!int x\n" + "---\n" + _block(MAX_DEPTH + 1),  # a problem first
        _WIDE + "---\n" + "a: !!int x\n",  # a problem, nothing too deep
        _WIDE + "---\n" + _block(2000),  # libyaml's own limit, in a later document
        _WIDE + "---\n" + "base: &b {x: 1}\nuse: {<<: *b, y: 2}\ndup: 1\ndup: 2\n",
        _WIDE + "---\n" + "[" * 3000 + "]" * 3000 + "\n",
        _WIDE + "---\nkey: [unclosed\n",
    ],
)
def test_deep_check_after_loading_agrees_with_walking_first(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text that may nest deep is loaded first and walked only if loading met a problem:
    what that gives is what walking it first gave (one Problem for a too-deep text, else
    every document and problem as loaded)."""
    assert yamldoc.may_be_deep(text)
    loaded = [_comparable(entry) for entry in load_all("f.yaml", text)]
    monkeypatch.setattr(yamldoc, "_NESTING_LIMITED", False)
    walked = [_comparable(entry) for entry in load_all("f.yaml", text)]
    assert loaded == walked
    assert loaded


def test_nesting_limit_of_libyaml_is_known() -> None:
    """The loader this package ships with stops by itself at 1000 levels (see _SHALLOW)."""
    assert yamldoc._NESTING_LIMITED


def _comparable(entry: YamlDocument | Problem) -> object:
    if isinstance(entry, Problem):
        return entry
    where = [(path, node.start_mark.line) for path, node in entry.duplicate_keys]
    return (entry.obj, entry.node.start_mark.line, entry.node.end_mark.line, where)


def test_duplicate_keys_are_reported_with_line() -> None:
    loaded = kubernetes.load("d.yaml", b"apiVersion: v1\nkind: Pod\nkind: Pod\n")
    duplicates = [(p.code, p.line) for p in loaded.problems if p.code != "GK-NOT-AN-OBJECT"]
    assert duplicates == [("GK-YAML-DUPLICATE-KEY", 3)]


def test_non_objects_in_a_manifest_file_are_reported() -> None:
    loaded = kubernetes.load("n.yaml", (POD + "---\n- 1\n---\njust a string\n").encode())
    assert [(p.code, p.line) for p in loaded.problems] == [
        ("GK-NOT-AN-OBJECT", 12),
        ("GK-NOT-AN-OBJECT", 14),
    ]


def test_unrelated_yaml_is_not_claimed() -> None:
    loaded = kubernetes.load("mkdocs.yml", b"site_name: docs\nnav: []\n")
    assert not loaded.documents and not loaded.problems
