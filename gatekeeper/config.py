"""`.gatekeeper.yml`: the consuming repo's configuration; schema-checked, unknown keys fail."""

from __future__ import annotations

import functools
import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatekeeper.errors import ConfigError
from gatekeeper.fieldpath import format_path
from gatekeeper.tree import Tree
from gatekeeper.yamldoc import NodeLocator, read_single

CONFIG_NAMES = (".gatekeeper.yml", ".gatekeeper.yaml")
DEFAULT_THRESHOLD = "medium"
DEFAULT_WAIVERS_FILE = ".gatekeeper/waivers.yml"
# Test data, fixtures and docs: manifests there are examples, not what is deployed.
DEFAULT_ADVISORY_PATHS = (
    "**/test/**",
    "**/tests/**",
    "**/testdata/**",
    "**/test-data/**",
    "**/fixtures/**",
    "**/__fixtures__/**",
    "**/docs/**",
    # Its long spelling: strimzi's documentation/ links its book's folders to the install
    # files (documentation/modules/install -> ../../packaging/install): each of their
    # findings blocked five times more, at paths no one deploys from.
    "**/documentation/**",
    # Go modules `go mod vendor` copies in, each below its module path, whose first element
    # is a domain (vendor/github.com/..., vendor/k8s.io/...): knative/serving's held a test
    # pod of k8s.io/apimachinery and vegeta's Dockerfile (22 blocking findings). Not any
    # vendor/ folder: a team's own chart copy (vendor/web) is no test data. What something
    # deploys or CI applies from there still counts.
    "**/vendor/*.*/**",
    # Kyverno's test folders, as kyverno/policies lays them out and the teams that copy its
    # policies keep them: `kyverno test` reads `.kyverno-test/` offline (resources meant to
    # fail), Chainsaw applies `.chainsaw-test/` to a test cluster. kyverno/policies had
    # 146,811 blocking findings there, none on a policy. What deploys them still counts.
    "**/.kyverno-test/**",
    "**/.chainsaw-test/**",
    # End-to-end test material (external-dns' e2e/: the demo app and CoreDNS its e2e job
    # applies to a kind cluster; keda's config/e2e patches): 30 blocking findings in
    # external-dns, none deployed anywhere. What deploys them still counts.
    "**/e2e/**",
)


@dataclass
class Config:
    """`.gatekeeper.yml` as read, with the defaults of what it leaves out."""

    file: str = ""
    severity_threshold: str = DEFAULT_THRESHOLD
    policies: list[dict[str, Any]] = field(default_factory=list)  # extra policy sources
    builtin: bool = True  # load the built-in library
    packs: list[str] = field(default_factory=list)  # empty: every pack
    disable: list[str] = field(default_factory=list)  # policy ids
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    advisory_paths: list[str] = field(default_factory=lambda: list(DEFAULT_ADVISORY_PATHS))
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-source options
    overrides: list[Override] = field(default_factory=list)  # per-directory (monorepos)
    waivers_file: str = DEFAULT_WAIVERS_FILE
    max_horizon_days: int = 90  # a waiver may not expire later than this many days ahead
    warn_days: int = 14  # warn about waivers expiring this soon
    forbid_inline_skips: bool = False
    raw: dict[str, Any] = field(default_factory=dict)
    # lines of settings, for errors that name them (chart paths, policy params)
    locator: NodeLocator | None = field(default=None, repr=False, compare=False)

    def line_of(self, *path: str | int) -> int:
        """The line of a setting, for errors that name it (1 when unknown)."""
        return self.locator.locate(path).line if self.locator else 1


@dataclass(frozen=True)
class Override:
    """Settings for the files under one glob: `overrides: [{path: services/a/**, ...}]`."""

    path: str
    severity_threshold: str | None = None
    disable: tuple[str, ...] = ()
    params: dict[str, dict[str, Any]] = field(default_factory=dict)


def schema_text(name: str) -> str:
    """A JSON Schema the package ships (gatekeeper/schemas/NAME), read beside this module:
    importlib.resources cost a hook more to import than the read."""
    return (Path(__file__).parent / "schemas" / name).read_text()


@functools.cache
def config_schema() -> dict[str, Any]:
    text = schema_text("config.schema.json")
    schema: dict[str, Any] = json.loads(text)
    return schema


def parse_config(name: str, data: bytes) -> Config:
    document = read_single(name, data, "the configuration", ConfigError)
    if document is None:
        return Config(file=name)
    from gatekeeper.policy.loader import validate

    locator = NodeLocator(name, document.node)
    validate(document.obj, config_schema(), name, locator, ConfigError)
    raw = document.obj
    waivers = raw.get("waivers", {})
    return Config(
        file=name,
        severity_threshold=raw.get("severityThreshold", DEFAULT_THRESHOLD),
        policies=list(raw.get("policies", [])),
        builtin=raw.get("builtin", True),
        packs=list(raw.get("packs", [])),
        disable=list(raw.get("disable", [])),
        params={key: dict(value) for key, value in raw.get("params", {}).items()},
        include=list(raw.get("include", [])),
        exclude=list(raw.get("exclude", [])),
        advisory_paths=list(raw.get("advisoryPaths", DEFAULT_ADVISORY_PATHS)),
        sources={key: dict(value) for key, value in raw.get("sources", {}).items()},
        overrides=[
            Override(
                path=entry["path"],
                severity_threshold=entry.get("severityThreshold"),
                disable=tuple(entry.get("disable", ())),
                params={key: dict(value) for key, value in entry.get("params", {}).items()},
            )
            for entry in raw.get("overrides", [])
        ],
        waivers_file=waivers.get("file", DEFAULT_WAIVERS_FILE),
        max_horizon_days=waivers.get("maxHorizonDays", 90),
        warn_days=waivers.get("warnDays", 14),
        forbid_inline_skips=waivers.get("forbidInlineSkips", False),
        raw=raw,
        locator=locator,
    )


def named_files(config: Config) -> list[tuple[str, tuple[str | int, ...], str]]:
    """Every file the configuration names: (path in the tree, the setting that names it,
    what it should be)."""
    from gatekeeper.sources.names import CHART_FILE

    found: list[tuple[str, tuple[str | int, ...], str]] = []
    charts = config.sources.get("helm", {}).get("charts", [])
    for index, entry in enumerate(charts):
        setting: tuple[str | int, ...] = ("sources", "helm", "charts", index)
        chart = posixpath.normpath(str(entry["path"]).removesuffix(CHART_FILE) or ".")
        found.append((posixpath.join(chart, CHART_FILE), (*setting, "path"), "a chart"))
        for number, values in enumerate(entry.get("valuesFiles", [])):
            found.append((posixpath.normpath(values), (*setting, "valuesFiles", number), "a file"))
    return found


def check_paths(config: Config, tree: Tree) -> None:
    """Paths the configuration names must exist in the tree: a chart entry with a typo would
    otherwise leave the chart rendered with its defaults (or not at all), silently."""
    for file, setting, what in named_files(config):
        if not tree.exists(file):
            raise ConfigError(
                f"{format_path(setting)}: {file!r} is not {what} in the repository",
                config.file,
                config.line_of(*setting),
            )
