"""Manifests read from libyaml's events give what the composer gives: values, lines, every
location, nodes, duplicates and problems; what events cannot build the same is composed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from gatekeeper import yamldoc, yamlevents
from gatekeeper.document import Problem
from gatekeeper.fieldpath import Path
from gatekeeper.sources import kubernetes
from gatekeeper.yamldoc import NodeLocator

DEPLOYMENT = """\
# a comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, "tier": 'front'}
spec:
  replicas: 3
  template:
    spec:
      hostNetwork: y
      containers:
        - name: app
          image: nginx:1.25
          ports: [{containerPort: 80}, {containerPort: 0x1F}]
          args:
            - |
              block text
            - >-
              folded
          securityContext:
            privileged: true
            runAsUser: null
            runAsGroup: ~
            readOnlyRootFilesystem:
          env:
            - {name: WHEN, value: 2001-12-14}
            - name: RATIO
              value: 1.5
      volumes: []
---
---
plain text
---
- a
- [b, {c: d}]
"""

TEXTS = [
    DEPLOYMENT,
    "",
    "# only a comment\n",
    "a: 1\n",
    "[1, 2, {x: y}]\n",
    "{}\n",
    "a: b\n...\n---\nc: d\n",
    "a: &x {b: 1}\nc: *x\n",  # an anchor and an alias
    "a: !!str 1\n",  # an explicit tag
    "a: !custom {b: 1}\n",
    "base: {x: 1}\nm: {<<: {x: 2}, y: 3}\n",  # a merge key
    "'<<': quoted\n",
    "1: one\ntrue: yes\nnull: nothing\n",  # keys that are no strings
    "y: coordinate\nn: north\n",
    "2001-12-14: stamp\n",
    "a: 1\na: 2\nb: {c: 1, c: 2}\n",  # keys set twice
    "? [complex]\n: key\n",
    "a: !!int nope\n",
    "a: b\n---\nc: [unclosed\n",  # a parse error after a document
    "a: b\n  c: d\n",
    "key: 'it''s'\nother: \"tab\\tand \\u00e9\"\n",
    "- - - - deep\n",
    "a: " + "[" * 120 + "]" * 120 + "\n",  # deeper than MAX_DEPTH
    "a: " + "{b: " * 101 + "c" + "}" * 101 + "\n",
    "run: make && make test\n",  # an ampersand that is no anchor
    "=: value\nv: =\nw: <<\n",
    # Line breaks as libyaml counts them: CR LF once, a lone CR, NEL, LS and PS
    "a: 1\r\nb:\r\n  - x\r\n  - y\r\n",
    "a: 1\rb: [x,\r y]\r",
    "a: 1\x85b: {c: d}\u2028e: f\u2029g: 'h\x85i'\n",
    'k: "multi\n  line"\nl: |\n  é中\U0001f600\n  x\nm: end\n',
    "\ufeffa: 1\nb: 2\n",  # a byte order mark
    "a: 1 # comment\x85b: 2\n",
    '- "\\u00e9\\x41" \n- ok\n',
    # Texts that end without a line break: a block collection ends on a line of its own
    "a:\n  b: [1, 2]\n  c: d",
    "a: [1, 2]",
    "- x\n- y # comment",
    "a:\n  - b\n  - c   ",
]


def _composed(file: str, text: str) -> Iterator[yamlevents.Manifest | Problem]:
    for entry in yamldoc.load_all(file, text):
        if isinstance(entry, Problem):
            yield entry
        else:
            locator = NodeLocator(file, entry.node)
            yield yamlevents.Manifest(entry.obj, locator, entry.duplicate_keys)


def _paths(obj: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every path of `obj`, and some that are not there."""
    yield prefix
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from _paths(value, (*prefix, str(key)))
        yield (*prefix, "missing")
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from _paths(value, (*prefix, index))
        yield (*prefix, -1)
        yield (*prefix, len(obj))
    else:
        yield (*prefix, "below a scalar")


def _view(entries: list[yamlevents.Manifest | Problem]) -> list[Any]:
    out: list[Any] = []
    for entry in entries:
        if isinstance(entry, Problem):
            out.append(entry)
            continue
        duplicates = [(path, node.start_mark.line) for path, node in entry.duplicate_keys]
        locations = [entry.locator.locate(path) for path in _paths(entry.obj)]
        nodes = []
        for path in _paths(entry.obj):
            node = entry.locator.node_at(path)
            if node is not None:
                start, end = node.start_mark, node.end_mark
                nodes.append((node.tag, start.line, start.column, end.line, end.column))
            else:
                nodes.append(None)
        out.append((repr(entry.obj), duplicates, locations, nodes))
    return out


@pytest.mark.parametrize("text", TEXTS)
def test_events_give_what_the_composer_gives(text: str) -> None:
    read = list(yamlevents.manifests("f.yaml", text))
    assert _view(read) == _view(list(_composed("f.yaml", text)))


def test_plain_manifests_are_read_from_events_and_composed_only_when_asked() -> None:
    first, *_ = yamlevents.manifests("f.yaml", DEPLOYMENT)
    assert isinstance(first, yamlevents.Manifest)
    table = first.locator.table
    assert first.locator.root is None and table is not None
    assert first.locator.locate(("spec", "replicas")).line == 8
    assert table._composed is None  # type: ignore[attr-defined]  # located without nodes
    node = first.locator.node_at(("metadata", "name"))
    assert node is not None and node.value == "web"


@pytest.mark.parametrize(
    "text",
    ["a: &x {b: 1}\nc: *x\n", "a: !!str 1\n", "1: one\n", "a: 1\na: 2\n", "<<: {a: 1}\n"],
)
def test_what_events_cannot_build_alike_is_composed(text: str) -> None:
    (entry,) = yamlevents.manifests("f.yaml", text)
    assert isinstance(entry, yamlevents.Manifest)
    assert entry.locator.table is None and entry.locator.root is not None


def test_a_document_too_deep_is_the_composers_one_problem() -> None:
    text = "ok: 1\n---\n" + "a: " + "[" * 120 + "]" * 120 + "\n"
    read = [e if isinstance(e, Problem) else e.obj for e in yamlevents.manifests("f", text)]
    assert read == [e if isinstance(e, Problem) else e.obj for e in yamldoc.load_all("f", text)]
    assert read[0] == {"ok": 1}
    assert isinstance(read[1], Problem) and "100 levels deep" in read[1].message


def test_kubernetes_findings_point_at_the_same_lines() -> None:
    """kubernetes.load from events: the documents and their locations as composed."""
    loaded = kubernetes.load("d.yaml", DEPLOYMENT.encode())
    (deployment,) = [d for d in loaded.documents if d.kind == "Deployment"]
    where = ("spec", "template", "spec", "containers", 0, "securityContext", "privileged")
    assert deployment.locator.locate(where).line == 22
    assert [p.code for p in loaded.problems] == ["GK-NOT-AN-OBJECT"] * 2
    assert [p.line for p in loaded.problems] == [33, 35]


@pytest.mark.parametrize(
    "text", [DEPLOYMENT, "a: &x {b: 1}\nc: *x\n", "a: [unclosed\n", "1: one\n", "a: !!int x\n"]
)
def test_libyamls_event_classes_are_back_after_a_read(text: str) -> None:
    """A read lends libyaml's binding lean events; it gives them back however it ends (read,
    composed, stopped by an error), so other readers of events get yaml.events' classes."""
    list(yamlevents.manifests("f.yaml", text))
    loader = yaml.CSafeLoader("a: [b, {c: d}]\n")
    try:
        kinds = [type(loader.get_event()) for _ in range(10)]
    finally:
        loader.dispose()
    assert kinds == [
        yaml.StreamStartEvent,
        yaml.DocumentStartEvent,
        yaml.MappingStartEvent,
        yaml.ScalarEvent,
        yaml.SequenceStartEvent,
        yaml.ScalarEvent,
        yaml.MappingStartEvent,
        yaml.ScalarEvent,
        yaml.ScalarEvent,
        yaml.MappingEndEvent,
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a",
        "a\n",
        "a\nb",
        "\n\n",
        "a\r\nb\r\n",
        "a\rb\r",
        "a\r",
        "a\r\n\r\n",
        "x\x85y\u2028z\u2029",
        "x\u2029",
        "a\x0bb\n",  # splitlines breaks there, libyaml does not
        "a\x0cb\x1c\x1d\x1ec\r\nd",
    ],
)
def test_line_starts_are_where_libyaml_starts_lines(text: str) -> None:
    every_break = re.finditer("\r\n|[\r\n\x85\u2028\u2029]", text)
    assert yamlevents._line_starts(text) == [0, *(match.end() for match in every_break)]


def test_a_text_read_again_gives_what_a_fresh_read_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    """Equal files (a policy library's fixtures) are read once: a copy gets values of its
    own, located in its own file, built without the events (_build_all not called)."""
    first = list(yamlevents.manifests("a.yaml", DEPLOYMENT))
    fresh = _view(list(_composed("b.yaml", DEPLOYMENT)))

    def not_again(*args: Any) -> None:
        raise AssertionError("read from events again")

    monkeypatch.setattr(yamlevents, "_build_all", not_again)
    copy = list(yamlevents.manifests("b.yaml", DEPLOYMENT))
    assert _view(copy) == fresh
    assert all(isinstance(e, yamlevents.Manifest) and e.locator.file == "b.yaml" for e in copy)
    head, again = first[0], copy[0]
    assert isinstance(head, yamlevents.Manifest) and isinstance(again, yamlevents.Manifest)
    assert head.obj == again.obj and head.obj is not again.obj
    head.obj["spec"]["replicas"] = 9  # a reader changing its values changes no copy's
    assert again.obj["spec"]["replicas"] == 3
    third = next(iter(yamlevents.manifests("c.yaml", DEPLOYMENT)))
    assert isinstance(third, yamlevents.Manifest) and third.obj["spec"]["replicas"] == 3


@pytest.mark.parametrize("text", ["a: &x {b: 1}\nc: *x\n", "a: 2001-12-14\n", "a: [unclosed\n"])
def test_a_text_read_again_that_events_do_not_keep_is_read_again(text: str) -> None:
    """Composed texts, values marshal cannot copy (a timestamp) and problems: read as the
    first time, the problem in the second file."""
    for file in ("a.yaml", "b.yaml"):
        assert _view(list(yamlevents.manifests(file, text))) == _view(list(_composed(file, text)))


def test_copies_of_a_text_are_located_from_the_first_ones_places(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A copy of a file whose values are the first's (one judgement) has its findings at the
    places found for the first, in its own file, without walking its table again; a copy
    whose values were changed before judging is located on its own."""
    from gatekeeper.evaluate import Engine
    from gatekeeper.policy.loader import load_policy_file
    from tests.conftest import PRIVILEGED_POD, REPO

    engine = Engine([load_policy_file(REPO / "policies/kubernetes/pss-baseline-privileged.yaml")])
    text = "# two\n# comments\n" + PRIVILEGED_POD
    first = engine.evaluate(kubernetes.load("a/pod.yaml", text.encode()).documents[0])
    walked: list[Path] = []
    span = yamlevents._Table.span

    def counted(self: Any, path: Path) -> Any:
        walked.append(path)
        return span(self, path)

    monkeypatch.setattr(yamlevents._Table, "span", counted)
    copy = engine.evaluate(kubernetes.load("b/pod.yaml", text.encode()).documents[0])
    assert walked == []
    assert [f.with_(file="a/pod.yaml") for f in copy] == first and first
    assert {f.file for f in copy} == {"b/pod.yaml"}
    changed = kubernetes.load("c/pod.yaml", text.encode()).documents[0]
    changed.obj["spec"]["containers"][0]["image"] = "ghcr.io/acme/app:2.0"
    assert [f.line for f in engine.evaluate(changed)] == [f.line for f in first]
    assert walked
