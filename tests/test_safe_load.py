"""yamldoc.safe_load(_all): yaml's safe loading with libyaml's parser, for the texts the
sources parse whole outside the manifest reader (CI heredocs, files a command edits)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gatekeeper.yamldoc import safe_load, safe_load_all
from tests.conftest import run_cli

TEXTS = [
    "a: 1\nb: [x, 'y', \"z\"]\nc: {d: null, e: ~, f: true, g: 1.5, h: 0x1f, i: 2019-03-20}\n",
    "- &a {k: v}\n- *a\n- <<: *a\n  l: m\n",
    "\ufeffkey: value\n",
    "",
    "plain: 'quoted''s'\nfolded: >\n  one\n  two\nliteral: |\n  three\n",
]


@pytest.mark.parametrize("text", TEXTS)
def test_the_same_objects_as_yamls_safe_loader(text: str) -> None:
    assert list(safe_load_all(text)) == list(yaml.safe_load_all(text))
    assert list(safe_load_all(text.encode())) == list(yaml.safe_load_all(text))
    first = text.split("\n---")[0]
    assert safe_load(first) == yaml.safe_load(first)


@pytest.mark.parametrize("text", ["a: \udc80\n", "a: [1\n", "a: \x07\n", "[" * 2000 + "]" * 2000])
def test_what_cannot_be_read_is_a_yaml_error(text: str) -> None:
    """A lone surrogate (a file decoded with surrogateescape) is yaml's error, not libyaml's
    UnicodeEncodeError; a text nested past 1,000 levels too, where the pure-Python loader's
    recursion raised RecursionError."""
    with pytest.raises(yaml.YAMLError):
        safe_load(text)
    with pytest.raises(yaml.YAMLError):
        list(safe_load_all(text))


def test_a_ci_heredoc_nested_too_deep_is_no_internal_error(tmp_path: Path) -> None:
    """`kubectl apply -f - <<EOF` of a document nested 3,000 levels deep in a workflow: the
    pure-Python loader raised RecursionError through the scan (exit 3); the deploy is
    still said."""
    deep = "[" * 3000 + "]" * 3000
    body = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata: {{a: {deep}}}"
    lines = "".join(f"          {line}\n" for line in body.splitlines())
    workflow = (
        "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n"
        f"      - run: |\n          kubectl apply -f - <<EOF\n{lines}          EOF\n"
    )
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "deploy.yml").write_text(workflow)
    run = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = {f["policy_id"] for f in json.loads(run.stdout)["findings"]}
    assert "WF-GITOPS-IMPERATIVE-DEPLOY" in found
