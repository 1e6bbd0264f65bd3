from __future__ import annotations

from gatekeeper.document import Problem
from gatekeeper.sources import kubernetes
from gatekeeper.yamldoc import YamlDocument, load_all

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


def test_duplicate_keys_are_reported_with_line() -> None:
    loaded = kubernetes.load("d.yaml", b"apiVersion: v1\nkind: Pod\nkind: Pod\n")
    assert [(p.code, p.line) for p in loaded.problems] == [("GK-YAML-DUPLICATE-KEY", 3)]


def test_non_objects_in_a_manifest_file_are_reported() -> None:
    loaded = kubernetes.load("n.yaml", (POD + "---\n- 1\n---\njust a string\n").encode())
    assert [(p.code, p.line) for p in loaded.problems] == [
        ("GK-NOT-AN-OBJECT", 12),
        ("GK-NOT-AN-OBJECT", 14),
    ]


def test_unrelated_yaml_is_not_claimed() -> None:
    loaded = kubernetes.load("mkdocs.yml", b"site_name: docs\nnav: []\n")
    assert not loaded.documents and not loaded.problems
