"""A base's kustomize error is one root cause: said once, at the base's line that names the
missing resource, in a few words, with the overlays whose builds it breaks listed once (it
was said in full at each overlay, kustomize's nested error repeating the path three times)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]


def errors(gatekeeper: Gatekeeper, root: Path, *paths: str) -> list[tuple[str, int, str]]:
    run = gatekeeper("scan", *paths, "--format", "json", cwd=root)
    assert run.returncode == 1, run.stderr
    return sorted(
        (f["file"], f["line"], f["message"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "GK-RENDER-ERROR"
    )


def test_a_base_error_is_said_once_at_its_cause(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write("base/kustomization.yaml", "resources:\n  - cm.yaml\n  - missing.yaml\n")
    write("base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    for overlay in ("dev", "prod"):
        write(f"overlays/{overlay}/kustomization.yaml", "resources:\n  - ../../base\n")
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    said = "kustomize: error: resource missing.yaml does not exist"
    assert errors(gatekeeper, tmp_path) == [
        ("base/kustomization.yaml", 3, f"{said} (breaks the builds of overlays/dev, overlays/prod)")
    ]
    # One overlay scanned alone (a hook): the cause is still the base's line.
    assert errors(gatekeeper, tmp_path, "overlays/dev/kustomization.yaml") == [
        ("base/kustomization.yaml", 3, f"{said} (breaks the build of overlays/dev)")
    ]
