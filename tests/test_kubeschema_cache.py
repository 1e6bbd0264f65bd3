"""The Kubernetes schemas a run needs, kept between runs (gatekeeper.kubeschema): a kind's
definition comes with every definition it refers to, the same answers as the whole file,
and a cache entry of any other shape is not used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import kubeschema
from gatekeeper.cache import Entries

pytestmark = pytest.mark.usefixtures("own_cache")  # each test its own cache directory

MISTYPED = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "spec": {"replicas": "x", "template": {"spec": {"containers": {"a": 1}}}},
}


def _refs(value: Any) -> set[str]:
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("$ref"), str):
                found.add(kubeschema._REF.sub("", item["$ref"]))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _fresh() -> kubeschema._Schemas:
    kubeschema._schemas.cache_clear()
    kubeschema._node.cache_clear()
    schemas = kubeschema._schemas()
    assert schemas is not None  # the [schema] extra is installed for the tests
    return schemas


def test_a_kind_is_kept_with_every_definition_it_refers_to() -> None:
    schemas = _fresh()
    every = schemas.definitions.every()
    for name in sorted(set(schemas.kinds.values())):
        closure = kubeschema._closure(name, every)
        assert name in closure
        for definition in closure.values():
            assert {ref for ref in _refs(definition) if ref in every} <= set(closure), name


_CHECK = """\
import json, sys
from gatekeeper import kubeschema
if sys.argv[1] == "cached-only":  # the whole file must not be read
    def refuse(self):
        raise OSError("read the whole file")
    kubeschema._Definitions.every = refuse
obj = json.loads(sys.argv[2])
errors = kubeschema.shape_errors(obj)
print(json.dumps([[list(e.path), e.message] for e in errors]))
print(json.dumps(kubeschema.unknown_field("Deployment", ["spec", "template", "spec", "nope"])))
"""


def _check(mode: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", _CHECK, mode, json.dumps(MISTYPED)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_second_run_checks_from_the_cache_with_the_same_answers(own_cache: Path) -> None:
    first = _check("any")
    assert "expected an integer" in first and "expected a list" in first
    assert _check("cached-only") == first  # no read of the whole file, the same errors
    assert [p for p in (own_cache / "kube-schemas-v1").rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    "planted",
    [
        {"kinds": [["apps/v1", "Deployment"]], "definitions": {}},
        {"kinds": [], "definitions": {"x": "not a definition"}},
        ["not", "an", "entry"],
    ],
)
def test_an_entry_of_another_shape_is_not_used(planted: Any) -> None:
    schemas = _fresh()
    Entries("kube-schemas-v1").put(str(schemas.definitions.key), planted)
    again = _fresh()
    assert again.kinds == schemas.kinds
    assert kubeschema.shape_errors(MISTYPED) != []
