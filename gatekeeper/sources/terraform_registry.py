"""Well-known registry modules: what a call's inputs set on the resources the module makes.

A module from the Terraform Registry or a git URL is not in the repository, and a scan never
downloads anything, so the resources it makes are unseen: `publicly_accessible = true` on a
call of terraform-aws-modules/rds passed with no finding. For the most used modules the table
below says which input becomes which attribute of which resource (each module passes these
straight through: checked against its source), and a call is judged as those resources
holding what it sets. Only findings at an attribute the call sets (or at a module default
that comes with one, like the EKS module's open CIDRs with a public endpoint) are kept:
the module fills everything else, mostly securely, and that is not the caller's to fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gatekeeper import lazy_re
from gatekeeper.document import Location
from gatekeeper.fieldpath import Path
from gatekeeper.tfeval import Origin, Origins, Value

# Where a finding on an attribute that no input sets is located: no file of the repository,
# so the call's documents (which keep only findings in the calling file) drop it.
MODULE_FILLED = "<set by the module>"


@dataclass(frozen=True)
class Made:
    """One resource a module makes, and which of the module's inputs set which attribute."""

    kind: str
    inputs: Mapping[str, Path]
    blocks: frozenset[str] = frozenset()  # inputs that are a nested block: one object, listed
    # Module defaults that come with an input the call sets (located at that input).
    with_input: Mapping[str, Mapping[Path, Any]] = field(default_factory=dict)
    # Module defaults of the resource's other judged attributes (located at the call).
    defaults: Mapping[Path, Any] = field(default_factory=dict)


# What a module makes, as a builder reads it from the inputs: (resource type, values, origins).
Builder = Callable[[Mapping[str, Value], Origin], Iterator[tuple[str, dict[str, Any], Origins]]]


def _same(*names: str) -> dict[str, Path]:
    return {name: (name,) for name in names}


_RDS_INSTANCE = Made(
    "aws_db_instance",
    _same(
        "publicly_accessible",
        "storage_encrypted",
        "kms_key_id",
        "iam_database_authentication_enabled",
        "deletion_protection",
        "backup_retention_period",
        "auto_minor_version_upgrade",
        "monitoring_interval",
        "enabled_cloudwatch_logs_exports",
        "performance_insights_enabled",
        "copy_tags_to_snapshot",
        "ca_cert_identifier",
        "engine",
        "engine_version",
        "multi_az",
    ),
)
_BLOCKS = (
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
)
_S3 = (
    Made("aws_s3_bucket_acl", _same("acl")),
    # The module's defaults are all true: the call's false ones are what is left open.
    Made(
        "aws_s3_bucket_public_access_block",
        _same(*_BLOCKS),
        defaults={(name,): True for name in _BLOCKS},
    ),
)
_EKS = Made(
    "aws_eks_cluster",
    {
        # v21 names, then v20's
        "endpoint_public_access": ("vpc_config", 0, "endpoint_public_access"),
        "endpoint_public_access_cidrs": ("vpc_config", 0, "public_access_cidrs"),
        "cluster_endpoint_public_access": ("vpc_config", 0, "endpoint_public_access"),
        "cluster_endpoint_public_access_cidrs": ("vpc_config", 0, "public_access_cidrs"),
        "enabled_log_types": ("enabled_cluster_log_types",),
        "cluster_enabled_log_types": ("enabled_cluster_log_types",),
    },
    with_input={
        name: {("vpc_config", 0, "public_access_cidrs"): ["0.0.0.0/0"]}
        for name in ("endpoint_public_access", "cluster_endpoint_public_access")
    },
)
_EC2 = Made(
    "aws_instance",
    {**_same("associate_public_ip_address", "metadata_options", "monitoring", "ebs_optimized")},
    blocks=frozenset({"metadata_options"}),
)
_REDSHIFT = Made("aws_redshift_cluster", _same("publicly_accessible", "encrypted", "kms_key_id"))

# terraform-aws-modules/security-group: rule names -> [from, to, protocol] (its rules.tf).
_SG_RULES: dict[str, tuple[int, int, str]] = {
    "all-all": (-1, -1, "-1"),
    "all-tcp": (0, 65535, "tcp"),
    "all-udp": (0, 65535, "udp"),
    "ssh-tcp": (22, 22, "tcp"),
    "rdp-tcp": (3389, 3389, "tcp"),
    "rdp-udp": (3389, 3389, "udp"),
    "winrm-http-tcp": (5985, 5985, "tcp"),
    "winrm-https-tcp": (5986, 5986, "tcp"),
    "mysql-tcp": (3306, 3306, "tcp"),
    "postgresql-tcp": (5432, 5432, "tcp"),
    "mssql-tcp": (1433, 1433, "tcp"),
    "oracle-db-tcp": (1521, 1521, "tcp"),
    "redis-tcp": (6379, 6379, "tcp"),
    "memcached-tcp": (11211, 11211, "tcp"),
    "mongodb-27017-tcp": (27017, 27017, "tcp"),
    "elasticsearch-rest-tcp": (9200, 9200, "tcp"),
    "kafka-broker-tcp": (9092, 9092, "tcp"),
    "cassandra-clients-tcp": (9042, 9042, "tcp"),
    "etcd-client-tcp": (2379, 2379, "tcp"),
    "kubernetes-api-tcp": (6443, 6443, "tcp"),
    "docker-swarm-mngmt-tcp": (2377, 2377, "tcp"),
    "http-80-tcp": (80, 80, "tcp"),
    "https-443-tcp": (443, 443, "tcp"),
}
# Its per-service submodules add these rules themselves (auto_ingress_rules).
_SG_SUBMODULES: dict[str, tuple[str, ...]] = {
    "ssh": ("ssh-tcp",),
    "rdp": ("rdp-tcp", "rdp-udp"),
    "mysql": ("mysql-tcp",),
    "postgresql": ("postgresql-tcp",),
    "mssql": ("mssql-tcp",),
    "redis": ("redis-tcp",),
    "mongodb": ("mongodb-27017-tcp",),
    "winrm": ("winrm-http-tcp", "winrm-https-tcp"),
    "http-80": ("http-80-tcp",),
    "https-443": ("https-443-tcp",),
}


def _security_group_rules(auto: tuple[str, ...]) -> Builder:
    """`ingress_rules` (names) with `ingress_cidr_blocks`, and `ingress_with_cidr_blocks`
    (maps whose `cidr_blocks` is a comma-joined string), as the module's
    aws_security_group_rule resources."""

    def build(
        inputs: Mapping[str, Value], call: Origin
    ) -> Iterator[tuple[str, dict[str, Any], Origins]]:
        cidrs = inputs.get("ingress_cidr_blocks")
        given = cidrs.origins if cidrs is not None else {}
        cidr_origins = {("cidr_blocks", *path): origin for path, origin in given.items()}
        names = inputs.get("ingress_rules")
        listed = names.data if names is not None and isinstance(names.data, list) else []
        # A submodule's own rules (`modules/ssh`) are located at the CIDRs the call opens.
        opened = given.get(())
        at = opened if opened is not None else call
        chosen = [(name, Origin(at.file, at.span, exact=False)) for name in auto]
        for index, name in enumerate(listed):
            assert names is not None
            origin = names.origins.get((index,))
            if origin is None:  # only the list as a whole is placed: its line, not exact
                whole = names.origins.get((), call)
                origin = Origin(whole.file, whole.span, exact=False)
            chosen.append((name, origin))
        if cidrs is not None and isinstance(cidrs.data, list):
            for name, origin in chosen:
                rule = _SG_RULES.get(name) if isinstance(name, str) else None
                if rule is None:
                    continue
                values = {
                    "type": "ingress",
                    "from_port": rule[0],
                    "to_port": rule[1],
                    "protocol": rule[2],
                    "cidr_blocks": cidrs.data,
                }
                origins: Origins = {
                    key: origin for key in ((), ("from_port",), ("to_port",), ("protocol",))
                }
                yield "aws_security_group_rule", values, {**origins, **cidr_origins}
        maps = inputs.get("ingress_with_cidr_blocks")
        for index, item in enumerate(maps.data if maps and isinstance(maps.data, list) else []):
            if not isinstance(item, dict):
                continue
            values = {"type": "ingress", **item}
            named = item.get("rule")
            rule = _SG_RULES.get(named) if isinstance(named, str) else None
            if rule is not None:
                values.update(from_port=rule[0], to_port=rule[1], protocol=rule[2])
            blocks = item.get("cidr_blocks")
            if isinstance(blocks, str):
                values["cidr_blocks"] = [part.strip() for part in blocks.split(",")]
            elif blocks is None and cidrs is not None:
                values["cidr_blocks"] = cidrs.data  # the module's fallback
            assert maps is not None
            item_origins: Origins = {
                tuple(path[1:]): origin
                for path, origin in maps.origins.items()
                if path[:1] == (index,) and len(path) > 1
            }
            item_at = maps.origins.get((index,))
            if item_at is None:  # only the list as a whole is placed: its line, not exact
                listed_at = maps.origins.get(())
                if listed_at is not None:
                    item_at = Origin(listed_at.file, listed_at.span, exact=False)
            if item_at is not None:
                item_origins[()] = item_at
            yield "aws_security_group_rule", values, item_origins

    return build


@dataclass(frozen=True)
class Module:
    made: tuple[Made, ...] = ()
    build: Builder | None = None


MODULES: dict[str, Module] = {
    "terraform-aws-modules/rds/aws": Module((_RDS_INSTANCE,)),
    "terraform-aws-modules/rds/aws//modules/db_instance": Module((_RDS_INSTANCE,)),
    "terraform-aws-modules/s3-bucket/aws": Module(_S3),
    "terraform-aws-modules/eks/aws": Module((_EKS,)),
    "terraform-aws-modules/ec2-instance/aws": Module((_EC2,)),
    "terraform-aws-modules/redshift/aws": Module((_REDSHIFT,)),
    "terraform-aws-modules/security-group/aws": Module(build=_security_group_rules(())),
    **{
        f"terraform-aws-modules/security-group/aws//modules/{name}": Module(
            build=_security_group_rules(rules)
        )
        for name, rules in _SG_SUBMODULES.items()
    },
}

_HOSTS = lazy_re.compile(r"^(?:registry\.terraform\.io|registry\.opentofu\.org)/", re.IGNORECASE)
# git::https://github.com/terraform-aws-modules/terraform-aws-rds.git//modules/x?ref=v6
_GITHUB = lazy_re.compile(
    r"^(?:git::)?(?:https://|ssh://git@|git@)?github\.com[/:]"
    r"(?P<owner>[\w.-]+)/terraform-(?P<provider>[a-z0-9]+)-(?P<name>[\w.-]+?)(?:\.git)?"
    r"(?P<sub>//[^?]*)?(?:\?.*)?$",
    re.IGNORECASE,
)


def registry_address(source: str) -> str:
    """A module source as `namespace/name/provider[//subdir]`, lower case: the registry's
    own spelling, a host-qualified one, or the module's GitHub repository."""
    source = _HOSTS.sub("", source.strip())
    found = _GITHUB.match(source)
    if found is not None:
        sub = (found["sub"] or "").rstrip("/")
        source = f"{found['owner']}/{found['name']}/{found['provider']}{sub}"
    else:
        source = source.split("?", 1)[0].rstrip("/")
    return source.lower()


def module_for(source: Any) -> Module | None:
    if not isinstance(source, str) or source.startswith(("./", "../", "/")):
        return None
    return MODULES.get(registry_address(source))


def resources(
    module: Module, inputs: Mapping[str, Value], call: Origin
) -> Iterator[tuple[str, dict[str, Any], Origins]]:
    """The resources a call of `module` makes, as far as its inputs say: (kind, values,
    origins by attribute path)."""
    for made in module.made:
        values: dict[str, Any] = {}
        origins: Origins = {}
        for name, path in made.inputs.items():
            given = inputs.get(name)
            if given is None or given.data is None:
                continue
            data = [given.data] if name in made.blocks else given.data
            at = (*path, 0) if name in made.blocks else path
            _put(values, path, data)
            for sub, origin in given.origins.items():
                origins[(*at, *sub)] = origin
            whole = given.origins.get(())
            for default_path, default in made.with_input.get(name, {}).items():
                if not _has(values, default_path):  # what the module adds: at the input
                    _put(values, default_path, default)
                    place = whole or call
                    origins[default_path] = Origin(place.file, place.span, exact=False)
        if values:
            # The resource as a whole (a rule over several attributes): the first input set.
            first = min(origins.values(), key=lambda o: (o.span.line, o.span.column), default=call)
            origins[()] = Origin(first.file, first.span, exact=False)
            for default_path, default in made.defaults.items():
                if not _has(values, default_path):
                    _put(values, default_path, default)
                    origins[default_path] = Origin(call.file, call.span, exact=False)
            yield made.kind, values, origins
    if module.build is not None:
        yield from module.build(inputs, call)


def _put(values: dict[str, Any], path: Path, data: Any) -> None:
    """Set `path` (names and list indexes) in nested values, making what is missing."""
    here: Any = values
    for step, following in zip(path, (*path[1:], None), strict=True):
        if following is None:
            if isinstance(here, list):
                while len(here) <= int(step):
                    here.append({})
            here[step] = data
            return
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(here, list):
            while len(here) <= int(step):
                here.append(empty)
            here = here[int(step)]
        else:
            here = here.setdefault(step, empty)


def _has(values: dict[str, Any], path: Path) -> bool:
    here: Any = values
    try:
        for step in path:
            here = here[step]
    except (KeyError, IndexError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class FilledLocator:
    """Where a module resource's attributes were set: a call argument, else the module."""

    origins: tuple[tuple[Path, Origin], ...]  # longest path first

    def locate(self, path: Path) -> Location:
        for prefix, origin in self.origins:
            # The resource as a whole is not every attribute: those are the module's.
            if tuple(path[: len(prefix)]) == prefix and (prefix or not path):
                span, exact = origin.span.find(tuple(path[len(prefix) :]))
                return Location(
                    origin.file,
                    span.line,
                    span.column,
                    span.end_line,
                    span.end_column,
                    exact and origin.exact,
                )
        return Location(MODULE_FILLED, 1, 1, exact=False)
