"""Ownership.files_above: the files of given names in a folder and every folder above it,
each folder asked once (compose files above every manifest of a repository)."""

from __future__ import annotations

from gatekeeper import ownership
from gatekeeper.sources import LoadContext, compose
from gatekeeper.tree import MemoryTree
from tests.test_ownership import CountingTree

NAMES = ("compose.yaml", "docker-compose.yml")


def test_nearest_first_in_name_order() -> None:
    tree = CountingTree(
        {
            "compose.yaml": b"",
            "docker-compose.yml": b"",
            "a/docker-compose.yml": b"",
            "a/b/c/compose.yaml": b"",
            "a/b/c/docker-compose.yml": b"",
        }
    )
    index = ownership.of(tree)
    expected = (
        "a/b/c/compose.yaml",
        "a/b/c/docker-compose.yml",
        "a/docker-compose.yml",
        "compose.yaml",
        "docker-compose.yml",
    )
    assert index.files_above("a/b/c", NAMES) == expected
    assert index.files_above("a/b", NAMES) == expected[2:]
    assert index.files_above("", NAMES) == expected[3:]
    assert index.files_above("x/y", NAMES) == expected[3:]
    # each folder's names asked once: a/b/c, a/b, a, "", x/y, x
    assert sorted(tree.asked) == sorted({*tree.asked}) and len(tree.asked) == 2 * 6


def test_compose_owners_as_a_walk_up_finds_them() -> None:
    files = {
        "compose.yaml": b"include: [deploy/app.yaml]\n",
        "deploy/docker-compose.yml": b"services: {web: {extends: {file: app.yaml}}}\n",
        "deploy/app.yaml": b"services: {}\n",
        "deploy/other.yaml": b"services: {}\n",
        "docs/app.yaml": b"x: 1\n",
    }
    context = LoadContext(tree=MemoryTree(files))
    assert compose.owners("deploy/app.yaml", context) == [
        "deploy/docker-compose.yml",
        "compose.yaml",
    ]
    assert compose.owners("deploy/other.yaml", context) == []
    assert compose.owners("docs/app.yaml", context) == ["compose.yaml"]
    assert compose.owners("compose.yaml", context) == []


def test_union_above_asks_each_folder_once() -> None:
    asked: list[str] = []

    def own(tree: object, folder: str) -> frozenset[str]:
        asked.append(folder)
        return frozenset({f"{folder or 'root'}-patch"}) if folder in ("a", "") else frozenset()

    index = ownership.of(MemoryTree({}))
    assert index.union_above("p", "a/b/c", own) == {"a-patch", "root-patch"}
    assert index.union_above("p", "a/b", own) == {"a-patch", "root-patch"}
    assert index.union_above("p", "x", own) == {"root-patch"}
    assert index.union_above("p", "", own) == {"root-patch"}
    assert sorted(asked) == ["", "a", "a/b", "a/b/c", "x"]


def test_a_patch_is_known_from_any_folder_below_its_kustomization() -> None:
    from gatekeeper.sources import kustomize

    files = {
        "apps/kustomization.yaml": b"resources: [web]\npatches: [{path: web/patch.yaml}]\n",
        "apps/web/deploy.yaml": b"kind: Deployment\n",
        "apps/web/patch.yaml": b"kind: Deployment\n",
        "kustomization.yaml": b"patchesStrategicMerge: [other/p.yaml]\n",
        "other/p.yaml": b"kind: Service\n",
    }
    tree = MemoryTree(files)
    assert kustomize.is_patch("apps/web/patch.yaml", tree)
    assert kustomize.is_patch("other/p.yaml", tree)
    assert not kustomize.is_patch("apps/web/deploy.yaml", tree)
    assert not kustomize.is_patch("apps/kustomization.yaml", tree)


def test_kustomize_owners_of_files_sharing_a_name() -> None:
    from gatekeeper.sources import kustomize

    files = {
        "a/kustomization.yaml": b"resources: [web/deploy.yaml]\n",
        "a/web/deploy.yaml": b"kind: Deployment\nmetadata: {name: a}\n",
        "b/kustomization.yaml": b"resources: [deploy.yaml]\n",
        "b/deploy.yaml": b"kind: Deployment\nmetadata: {name: b}\n",
        "c/deploy.yaml": b"kind: Deployment\nmetadata: {name: c}\n",
        "d/kustomization.yaml": b"resources: [../b]\n",
    }
    context = LoadContext(tree=MemoryTree(files))
    assert kustomize.owners("a/web/deploy.yaml", context) == ["a/kustomization.yaml"]
    assert kustomize.owners("b/deploy.yaml", context) == [
        "b/kustomization.yaml",
        "d/kustomization.yaml",
    ]
    assert kustomize.owners("c/deploy.yaml", context) == []


def test_helm_owner_is_the_outermost_chart_below_the_root() -> None:
    from gatekeeper.sources import helm

    files = {
        "Chart.yaml": b"name: root\n",
        "charts/outer/Chart.yaml": b"name: outer\n",
        "charts/outer/charts/inner/Chart.yaml": b"name: inner\n",
        "charts/outer/charts/inner/templates/x.yaml": b"kind: Pod\n",
        "other/x.yaml": b"kind: Pod\n",
    }
    context = LoadContext(tree=MemoryTree(files))
    inner = "charts/outer/charts/inner/templates/x.yaml"
    assert helm.owners(inner, context) == ["charts/outer/Chart.yaml"]
    assert helm.owners("charts/outer/charts/inner/Chart.yaml", context) == [
        "charts/outer/Chart.yaml"
    ]
    assert helm.owners("charts/outer/Chart.yaml", context) == []
    assert helm.owners("other/x.yaml", context) == []  # the root's chart is not above it
    assert helm.owners("x.yaml", context) == []
