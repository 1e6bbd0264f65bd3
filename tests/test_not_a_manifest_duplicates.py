"""A YAML file that cannot spell `apiVersion` and `kind` is no manifest: a duplicate key in
it (a Hugo site's config.yaml, sealed-secrets' site/config.yaml, session 16) made it one,
with a blocking GK-NOT-AN-OBJECT. Nothing there is judged now; a file of objects keeps its
duplicate keys and its documents that are not objects said."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

SITE = """\
baseURL: "https://example.org"
menu:
  docs:
  - name: Overview
    url: /docs/
    name: Demo
    url: /docs/demo/
"""
MANIFESTS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: app}
data: {a: "1", a: "2"}
---
settings: {debug: true}
"""


def test_a_site_config_with_a_duplicate_key_is_no_manifest(
    tmp_path: Path, gatekeeper: Callable[..., Run]
) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "config.yaml").write_text(SITE)
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    run = gatekeeper("scan", str(tmp_path), "--format", "json")
    found = sorted(
        (f["policy_id"], f["file"], f["line"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"].startswith("GK-")
    )
    assert found == [("GK-NOT-AN-OBJECT", "app.yaml", 6), ("GK-YAML-DUPLICATE-KEY", "app.yaml", 4)]
