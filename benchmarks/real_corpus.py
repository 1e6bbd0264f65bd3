"""A benchmark corpus of public repositories, pinned by commit: what real repositories hold.

    python benchmarks/real_corpus.py --mirrors /work/.mirror     # from local bare mirrors
    python benchmarks/real_corpus.py --network                   # clone from github.com
    python benchmarks/real_corpus.py --out /tmp/real --scales 2 4

No third-party file is committed here: the corpus is rebuilt from the pinned commits (CI does
not reach GitHub, and benchmarks do not run in CI). A mirror is a bare git directory named
`owner+name` (or `owner+name/repo`) under `--mirrors`; with `--network`, missing ones are
fetched (one commit, no history) into `--cache`. Layout below the output directory (default
~/.cache/gatekeeper-bench/real/, outside this repository), each target its own git root
holding `<owner>+<name>/<path in the repository>`:

    k8s/          YAML files of the Kubernetes repositories, outside Helm charts and fixtures
    k8s-full/     k8s plus the policy libraries' test fixture folders (many findings per file)
    charts/       every Helm chart directory (a folder holding Chart.yaml) with all its files
    terraform/    the Terraform files (.tf, .tfvars) of the Terraform repositories
    scaled-Nx/    N copies of k8s (copy-1/ ... copy-N/): memory and time against size
    corpus.json   the sources (repository, commit, licence) and the counts
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Outside this repository: gatekeeper's root is the git top level, and a corpus below it
# (ignored or not) would be read by every scan of this repository, tests included.
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gatekeeper-bench"
DEFAULT_OUT = CACHE / "real"
DEFAULT_CACHE = CACHE / "mirrors"
YAML_SUFFIXES = (".yaml", ".yml")
TERRAFORM_SUFFIXES = (".tf", ".tfvars")
DEFAULT_SCALES = (2, 4, 8)
# Bumped when the selection rules change, so run.py rebuilds an older layout.
LAYOUT = 1


@dataclass(frozen=True)
class Source:
    repo: str  # owner/name on GitHub
    commit: str
    licence: str
    k8s: bool = False  # its YAML outside charts and fixtures goes to k8s
    fixtures: tuple[str, ...] = ()  # path parts of test fixture folders: k8s-full only
    charts: bool = False
    terraform: bool = False

    @property
    def folder(self) -> str:
        return self.repo.replace("/", "+")

    def is_fixture(self, path: str) -> bool:
        return any(part in f"/{path}" for part in self.fixtures)


# Apache-2.0 projects only. Example applications and a platform's own manifests (argo-cd),
# cloud samples, a monitoring stack's charts, two policy libraries with their fixtures, and
# Terraform modules of several styles (a deliberately insecure one, registry modules).
SOURCES = (
    Source(
        "argoproj/argo-cd", "37ee0097cf851bc2dd7665fc081bbce61a7e836e", "Apache-2.0",
        k8s=True, charts=True,
    ),
    Source(
        "kubernetes/examples", "279e8e4fe314f6cb7bc55fa3fbc21bbeaa48c0ea", "Apache-2.0",
        k8s=True, charts=True,
    ),
    Source(
        "GoogleCloudPlatform/microservices-demo", "34ffea9175946982c3088ed84994fe6019ad6e92",
        "Apache-2.0", k8s=True, charts=True, terraform=True,
    ),
    Source(
        "fluxcd/flux2-kustomize-helm-example", "4f1a5b1051b469108d1bdf0ebec6c814427e3834",
        "Apache-2.0", k8s=True,
    ),
    Source(
        "prometheus-community/helm-charts", "cf408a290aec489277a94450bb3511432477a53a",
        "Apache-2.0", k8s=True, charts=True,
    ),
    Source(
        "open-policy-agent/gatekeeper-library", "5c441fb645f257b2c428fe9aea22da24a94b5bab",
        "Apache-2.0", k8s=True, fixtures=("/samples/", "/tests/", "/test/"),
    ),
    Source(
        "kubernetes/pod-security-admission", "8f84a87c7f617f64a4ddc1aea24aeeb7a2e07cb8",
        "Apache-2.0", k8s=True, fixtures=("/test/testdata/",),
    ),
    Source(
        "bridgecrewio/terragoat", "729f8da62c6a85ce4af5ad3d123de97776d954c4", "Apache-2.0",
        terraform=True,
    ),
    Source(
        "terraform-aws-modules/terraform-aws-eks", "bef29c4d9523523e57fe898643fde2895106b339",
        "Apache-2.0", terraform=True,
    ),
    Source(
        "terraform-aws-modules/terraform-aws-rds", "fa183b6b36204913fac1219d09b4979c1e60443a",
        "Apache-2.0", terraform=True,
    ),
    Source(
        "terraform-aws-modules/terraform-aws-s3-bucket",
        "dd0c434de5e74d8864e249ee020d917b076b6e32", "Apache-2.0", terraform=True,
    ),
    Source(
        "terraform-aws-modules/terraform-aws-security-group",
        "3cf4e1a48a4649179e8ea27308daf0b551cb0bfa", "Apache-2.0", terraform=True,
    ),
    Source(
        "terraform-aws-modules/terraform-aws-vpc", "82d1929e669efef4e2ad00611b8a68e7a56e049c",
        "Apache-2.0", terraform=True,
    ),
)  # fmt: skip


class CorpusError(Exception):
    """A source that cannot be had: no mirror, no network, or the pinned commit is missing."""


def git_dir(source: Source, mirrors: list[Path], cache: Path, network: bool) -> Path:
    """A git directory holding the pinned commit: a mirror, or a one-commit fetch."""
    for root in [*mirrors, cache]:
        for candidate in (root / source.folder / "repo", root / source.folder):
            if (candidate / "objects").is_dir() and _has_commit(candidate, source.commit):
                return candidate
    if not network:
        raise CorpusError(
            f"{source.repo}@{source.commit[:12]}: no mirror under "
            f"{', '.join(map(str, mirrors)) or '(none given)'}; pass --mirrors DIR or --network"
        )
    target = cache / source.folder
    if not (target / "objects").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        _git(target, "init", "--bare", "-q")
    url = f"https://github.com/{source.repo}"
    _git(target, "fetch", "-q", "--depth", "1", url, source.commit)
    return target


def _has_commit(directory: Path, commit: str) -> bool:
    probe = subprocess.run(
        ["git", "--git-dir", str(directory), "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def _git(directory: Path, *args: str) -> bytes:
    return _git_input(directory, b"", *args)


def _git_input(directory: Path, request: bytes, *args: str) -> bytes:
    done = subprocess.run(
        ["git", "--git-dir", str(directory), *args], input=request, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise CorpusError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def tree_at(directory: Path, commit: str) -> dict[str, str]:
    """path -> blob id of every regular file of the commit (symlinks and submodules left out:
    a link may point anywhere, and a corpus copy must not reach outside itself)."""
    listing = _git(directory, "ls-tree", "-r", "-z", commit).decode()
    blobs = {}
    for entry in filter(None, listing.split("\0")):
        meta, _, path = entry.partition("\t")
        mode, kind, blob = meta.split()
        if kind == "blob" and mode in ("100644", "100755"):
            blobs[path] = blob
    return blobs


def read_blobs(directory: Path, blobs: list[str]) -> dict[str, bytes]:
    """Contents by blob id, through one `git cat-file --batch`; blobs a partial mirror lacks
    are left out."""
    request = "".join(f"{blob}\n" for blob in blobs).encode()
    output = _git_input(directory, request, "cat-file", "--batch")
    contents: dict[str, bytes] = {}
    at = 0
    while at < len(output):
        end = output.index(b"\n", at)
        header = output[at:end].split()
        at = end + 1
        if header[-1] == b"missing":
            continue
        size = int(header[2])
        contents[header[0].decode()] = output[at : at + size]
        at += size + 1
    return contents


def chart_roots(paths: list[str]) -> list[str]:
    """Folders holding a Chart.yaml ("" for the root), outermost first."""
    roots = {path.rpartition("/")[0] for path in paths if path.rpartition("/")[2] == "Chart.yaml"}
    return sorted(roots, key=lambda root: (root.count("/"), root))


def _in_chart(path: str, roots: list[str]) -> str | None:
    for root in roots:
        if root == "" or path.startswith(root + "/"):
            return root
    return None


def place(source: Source, paths: list[str]) -> Iterator[tuple[str, str]]:
    """(target, path) for each file of a source that goes into the corpus."""
    roots = chart_roots(paths)
    for path in paths:
        if _in_chart(path, roots) is not None:
            if source.charts:
                yield "charts", path
            # else: a chart of a source not compared as charts; its templates are no YAML
        elif source.terraform and path.endswith(TERRAFORM_SUFFIXES):
            yield "terraform", path
        elif source.k8s and path.endswith(YAML_SUFFIXES):
            if not source.is_fixture(path):
                yield "k8s", path
            yield "k8s-full", path


def count_manifests(data: bytes) -> tuple[int, int]:
    """(documents, Kubernetes-looking documents) of one YAML file; unparsable counts nothing."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        documents = list(yaml.load_all(data, Loader=loader))
    except yaml.YAMLError:
        return 0, 0
    manifests = sum(
        1 for doc in documents if isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc
    )
    return len(documents), manifests


def build(
    out: Path, mirrors: list[Path], cache: Path, network: bool, scales: tuple[int, ...]
) -> dict[str, Any]:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    counts: dict[str, dict[str, int]] = {
        target: {"files": 0, "documents": 0, "manifests": 0, "charts": 0}
        for target in ("k8s", "k8s-full", "charts", "terraform")
    }
    sources = []
    for source in SOURCES:
        directory = git_dir(source, mirrors, cache, network)
        blobs = tree_at(directory, source.commit)
        placed_paths = list(place(source, sorted(blobs)))
        content = read_blobs(directory, sorted({blobs[path] for _, path in placed_paths}))
        placed = missing = 0
        for target, path in placed_paths:
            data = content.get(blobs[path])
            if data is None:
                missing += 1
                continue
            destination = out / target / source.folder / path
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(data)
            counts[target]["files"] += 1
            placed += 1
            if target.startswith("k8s"):
                documents, manifests = count_manifests(data)
                counts[target]["documents"] += documents
                counts[target]["manifests"] += manifests
            elif target == "charts" and path.rpartition("/")[2] == "Chart.yaml":
                counts[target]["charts"] += 1
        sources.append(
            {"repo": source.repo, "commit": source.commit, "licence": source.licence,
             "files": placed, "missing_in_mirror": missing}
        )  # fmt: skip
        print(f"  {source.repo}: {placed} files ({missing} missing)", file=sys.stderr)
    for scale in scales:
        for copy in range(1, scale + 1):
            shutil.copytree(out / "k8s", out / f"scaled-{scale}x" / f"copy-{copy}")
    for folder in out.iterdir():
        if folder.is_dir():
            make_repository(folder)
    summary = {
        "kind": "real",
        "layout": LAYOUT,
        "sources": sources,
        "targets": {target: value for target, value in counts.items()},
        "scales": list(scales),
    }
    (out / "corpus.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def make_repository(directory: Path) -> None:
    """Make a target its own repository root (an empty `git init`), as a scanned checkout is:
    gatekeeper's root is the git top level, and a corpus inside this repository would else
    be judged with every other file of it (repository-scope policies read the whole root)."""
    if not (directory / ".git").exists():
        subprocess.run(["git", "init", "-q", str(directory)], check=True)


def is_built(out: Path) -> bool:
    """Is `out` a corpus of this layout and these sources?"""
    try:
        summary = json.loads((out / "corpus.json").read_text())
    except (OSError, ValueError):
        return False
    pinned = [{"repo": s.repo, "commit": s.commit} for s in SOURCES]
    held = [{"repo": s.get("repo"), "commit": s.get("commit")} for s in summary.get("sources", [])]
    return summary.get("layout") == LAYOUT and held == pinned


def build_command(out: Path = DEFAULT_OUT) -> str:
    """The command that builds the corpus, for messages."""
    where = "" if out == DEFAULT_OUT else f" --out {out}"
    return f"python benchmarks/real_corpus.py --mirrors /work/.mirror{where}  (or --network)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument(
        "--mirrors", type=Path, action="append", default=[], help="folder of bare git mirrors"
    )
    parser.add_argument("--network", action="store_true", help="fetch missing sources")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where fetches go")
    parser.add_argument(
        "--scales", type=int, nargs="*", default=list(DEFAULT_SCALES), help="copies of k8s"
    )
    args = parser.parse_args()
    try:
        summary = build(args.out, args.mirrors, args.cache, args.network, tuple(args.scales))
    except CorpusError as error:
        sys.exit(f"real_corpus: {error}")
    print(json.dumps(summary["targets"], indent=2))


if __name__ == "__main__":
    main()
