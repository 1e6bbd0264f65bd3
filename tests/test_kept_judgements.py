"""Judgements kept between hook runs (gatekeeper.kept_judgements): an engine of the same
bundle, parameters and code gives the kept judgement of an equal object, located in its own
document; any other engine, object, namespace or context is judged again, and a kept entry
of another shape is no judgement."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import marshal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import kept_judgements
from gatekeeper.document import Document
from gatekeeper.evaluate import Engine
from gatekeeper.policy.loader import builtin_dir, load_bundle
from gatekeeper.sources import LoadContext, kubernetes

POLICIES = load_bundle([builtin_dir()])
POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  hostNetwork: true
  containers:
    - {name: a, image: nginx, securityContext: {privileged: true}}
"""


@pytest.fixture
def keeping(own_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This process keeps judgements (as a hook does), in the test's own cache."""
    monkeypatch.setattr(kept_judgements, "_keeping", True)
    yield own_cache / "judgements-v1"


def loaded(name: str, text: str) -> Document:
    (document,) = kubernetes.load(name, text.encode(), LoadContext()).documents
    return document


def never_judged(engine: Engine) -> Engine:
    """`engine`, failing the test when it judges a document itself."""

    def judge(document: Document) -> Any:
        raise AssertionError(f"judged again: {document.file}")

    engine._judge = judge  # type: ignore[method-assign]
    return engine


def test_an_equal_object_gets_the_kept_judgement_in_its_own_place(keeping: Path) -> None:
    first = Engine(POLICIES, bundle_key="bundle").evaluate(loaded("a.yaml", POD))
    assert len({f.policy_id for f in first}) >= 3 and list(keeping.glob("*/*"))
    moved = loaded("b.yaml", "# moved\n\n" + POD)
    again = never_judged(Engine(POLICIES, bundle_key="bundle")).evaluate(moved)
    assert again == Engine(POLICIES).evaluate(moved)  # as judged without keeping
    assert [(f.file, f.line) for f in again] == [("b.yaml", f.line + 2) for f in first]


def test_what_decides_a_judgement_is_in_its_key(keeping: Path) -> None:
    document = loaded("a.yaml", POD)
    Engine(POLICIES, bundle_key="bundle").evaluate(document)
    params = {"K8S-API-REMOVED": {"kubeVersion": "1.20"}}
    others = [
        Engine(POLICIES, bundle_key="another bundle"),
        Engine(POLICIES, params, bundle_key="bundle"),
        Engine([p for p in POLICIES if p.id != "K8S-PSS-PRIVILEGED"], bundle_key="bundle"),
    ]
    changed = [
        dataclasses.replace(document, namespace="prod"),
        dataclasses.replace(document, extra={**document.extra, "context": {"a": 1}}),
        loaded("a.yaml", POD.replace("privileged: true", "privileged: false")),
    ]
    for engine, one in [*((e, document) for e in others), *((others[0], c) for c in changed)]:
        judged: list[str] = []
        plain = engine._judge

        def judge(
            document: Document,
            plain: Callable[[Document], Any] = plain,
            judged: list[str] = judged,
        ) -> Any:
            judged.append(document.file)
            return plain(document)

        engine._judge = judge  # type: ignore[method-assign]
        engine.evaluate(one)
        assert judged, (engine.bundle_key, one.namespace, one.extra)
    # Without a bundle key (policies not loaded as a bundle) nothing is kept or read.
    assert kept_judgements.engine_key(None, {}) is None


def test_a_kept_entry_of_another_shape_is_judged_again(keeping: Path) -> None:
    document = loaded("a.yaml", POD)
    first = Engine(POLICIES, bundle_key="bundle").evaluate(document)
    (entry,) = keeping.glob("*/*")
    check, _, payload = entry.read_bytes().partition(b"\n")
    unknown_policy = marshal.dumps((True, [("NO-SUCH", "m", (), False)]))
    for wrong in [b"\x00", b"not marshal", unknown_policy, marshal.dumps([1])]:
        entry.write_bytes(hashlib.sha256(wrong).hexdigest().encode() + b"\n" + wrong)
        assert Engine(POLICIES, bundle_key="bundle").evaluate(document) == first
    assert check and payload


def test_a_hook_run_again_says_the_same_and_follows_the_config(
    tmp_path: Path, own_cache: Path, gatekeeper: Callable[..., Any]
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pod.yaml").write_text(POD)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    env = {"GATEKEEPER_CACHE_DIR": str(own_cache)}

    def hook() -> list[tuple[str, int]]:
        run = gatekeeper("scan", "--hook", "pod.yaml", "--format", "json", cwd=repo, env=env)
        assert run.returncode == 1, run.stderr
        return sorted((f["policy_id"], f["line"]) for f in json.loads(run.stdout)["findings"])

    first = hook()
    assert ("K8S-PSS-PRIVILEGED", 7) in first and list(own_cache.glob("judgements-v1/*/*"))
    assert hook() == first
    (repo / ".gatekeeper.yaml").write_text("disable: [K8S-PSS-PRIVILEGED]\n")
    assert hook() == [found for found in first if found[0] != "K8S-PSS-PRIVILEGED"]
