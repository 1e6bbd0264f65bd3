"""A reproducible benchmark corpus: Kubernetes manifests, Helm charts and Terraform modules.

    python benchmarks/corpus.py                 # full size: 20,000 documents in 2,000 files
    python benchmarks/corpus.py --small         # 2,000 documents in 200 files
    python benchmarks/corpus.py --files 50 --docs 400 --out /tmp/corpus

Everything comes from one seeded random generator, so a seed and a size always give the same
bytes. Layout (below the output directory, default ~/.cache/gatekeeper-bench/):

    kubernetes/<team>/<app>.yaml     multi-document manifest files: Deployments, StatefulSets,
                                     CronJobs, Services, Ingresses, ConfigMaps, NetworkPolicies,
                                     ServiceAccounts; some workloads hardened, some careless
    charts/<chart>/                  Helm charts (Chart.yaml, values.yaml, templates/)
    terraform/<module>/              Terraform modules (AWS: S3, security groups, RDS, IAM, EBS)
    corpus.json                      the parameters and the counts
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

# Outside this repository (see real_corpus.CACHE): a scan of it would read the corpus too.
DEFAULT_OUT = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gatekeeper-bench"


@dataclass(frozen=True)
class Size:
    files: int
    docs: int
    charts: int
    modules: int


SIZES = {
    "full": Size(files=2000, docs=20000, charts=40, modules=200),
    "small": Size(files=200, docs=2000, charts=6, modules=20),
}

TEAMS = ("payments", "search", "identity", "platform", "data", "growth", "mobile", "infra")
WORDS = (
    "api", "web", "worker", "gateway", "auth", "billing", "cart", "catalog", "checkout",
    "events", "feed", "indexer", "ledger", "mailer", "notify", "orders", "profile", "quota",
    "ranker", "reports", "scheduler", "session", "stock", "sync", "tracker", "uploader",
)  # fmt: skip
REGISTRIES = ("ghcr.io/acme", "registry.acme.internal", "docker.io/library", "quay.io/acme", "")
# Kinds after the first workload of a file, by weight.
EXTRA_KINDS = (
    ("Service", 24),
    ("ConfigMap", 22),
    ("Deployment", 14),
    ("Ingress", 11),
    ("NetworkPolicy", 10),
    ("CronJob", 7),
    ("ServiceAccount", 6),
    ("StatefulSet", 6),
)


class _Dumper(yaml.SafeDumper):
    """Block style everywhere, `|` for multi-line strings: how people write manifests."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    # --- small helpers ----------------------------------------------------------------------

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def name(self) -> str:
        return "-".join(self.rng.sample(WORDS, 2))

    def image(self, app: str, careless: bool) -> str:
        registry = self.rng.choice(REGISTRIES)
        repo = f"{registry}/{app}" if registry else app
        if careless and self.chance(0.3):
            return repo if self.chance(0.5) else f"{repo}:latest"
        if self.chance(0.15):
            return f"{repo}@sha256:{self.rng.getrandbits(256):064x}"
        return f"{repo}:{self.rng.randint(1, 4)}.{self.rng.randint(0, 30)}.{self.rng.randint(0, 9)}"

    def labels(self, app: str, team: str) -> dict[str, str]:
        labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": team}
        if self.chance(0.7):
            labels["team"] = team
        if self.chance(0.5):
            labels["app.kubernetes.io/version"] = (
                f"{self.rng.randint(1, 9)}.{self.rng.randint(0, 20)}"
            )
        return labels

    def metadata(self, name: str, namespace: str, labels: dict[str, str]) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(labels)}
        if self.chance(0.3):
            meta["annotations"] = {
                "acme.io/owner": f"{labels['app.kubernetes.io/part-of']}@acme.io",
                "acme.io/runbook": f"https://runbooks.acme.io/{name}",
            }
        return meta

    # --- pod specs --------------------------------------------------------------------------

    def container(self, name: str, app: str, hygiene: str) -> dict[str, Any]:
        careless = hygiene == "careless"
        c: dict[str, Any] = {"name": name, "image": self.image(app, careless)}
        if self.chance(0.6):
            c["imagePullPolicy"] = self.rng.choice(("IfNotPresent", "Always"))
        if self.chance(0.3):
            c["args"] = [f"--port={self.rng.choice((8080, 8443, 9000))}", "--log-format=json"]
        port = self.rng.choice((80, 8080, 8443, 9090, 3000))
        c["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        if careless and self.chance(0.15):
            c["ports"][0]["hostPort"] = port
        env = [
            {"name": "LOG_LEVEL", "value": self.rng.choice(("info", "debug", "warn"))},
            {"name": "APP_NAME", "value": app},
        ]
        if self.chance(0.5):
            env.append(
                {
                    "name": "DB_PASSWORD",
                    "valueFrom": {"secretKeyRef": {"name": f"{app}-db", "key": "password"}},
                }
            )
        if careless and self.chance(0.35):
            env.append({"name": "API_TOKEN", "value": f"tok_{self.rng.getrandbits(96):024x}"})
        if self.chance(0.4):
            env.append(
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
            )
        c["env"] = env
        if self.chance(0.3):
            c["envFrom"] = [{"configMapRef": {"name": f"{app}-config"}}]
        if hygiene != "careless" or self.chance(0.4):
            c["resources"] = {
                "requests": {"cpu": f"{self.rng.choice((50, 100, 250))}m", "memory": "128Mi"},
                "limits": {"cpu": f"{self.rng.choice((500, 1000))}m", "memory": "512Mi"},
            }
        if hygiene != "careless" or self.chance(0.3):
            probe = {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": 10}
            c["livenessProbe"] = {**probe, "initialDelaySeconds": 10}
            c["readinessProbe"] = dict(probe)
        c["volumeMounts"] = [{"name": "config", "mountPath": "/etc/app", "readOnly": True}]
        if hygiene == "hardened":
            c["securityContext"] = {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            }
        elif hygiene == "average":
            sc: dict[str, Any] = {"allowPrivilegeEscalation": False}
            if self.chance(0.5):
                sc["runAsNonRoot"] = True
            if self.chance(0.3):
                sc["capabilities"] = {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
            c["securityContext"] = sc
        elif self.chance(0.6):
            sc = {}
            if self.chance(0.4):
                sc["privileged"] = True
            if self.chance(0.4):
                sc["capabilities"] = {
                    "add": self.rng.sample(["SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE"], 2)
                }
            if self.chance(0.3):
                sc["runAsUser"] = 0
            if self.chance(0.3):
                sc["allowPrivilegeEscalation"] = True
            c["securityContext"] = sc
        return c

    def pod_spec(self, app: str, hygiene: str, restart: str | None = None) -> dict[str, Any]:
        containers = [self.container(app, app, hygiene)]
        if self.chance(0.25):
            containers.append(self.container("sidecar", "envoy", hygiene))
        spec: dict[str, Any] = {}
        if self.chance(0.6):
            spec["serviceAccountName"] = app
        if hygiene == "hardened":
            spec["automountServiceAccountToken"] = False
            spec["securityContext"] = {
                "runAsNonRoot": True,
                "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            }
        elif hygiene == "careless":
            if self.chance(0.15):
                spec["hostNetwork"] = True
            if self.chance(0.1):
                spec["hostPID"] = True
        if restart:
            spec["restartPolicy"] = restart
        if self.chance(0.2):
            spec["initContainers"] = [self.container("migrate", app, hygiene)]
        spec["containers"] = containers
        volumes: list[dict[str, Any]] = [{"name": "config", "configMap": {"name": f"{app}-config"}}]
        if hygiene == "careless" and self.chance(0.2):
            volumes.append({"name": "docker", "hostPath": {"path": "/var/run/docker.sock"}})
        elif self.chance(0.3):
            volumes.append({"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}})
        spec["volumes"] = volumes
        if self.chance(0.25):
            spec["nodeSelector"] = {"kubernetes.io/os": "linux"}
        if self.chance(0.2):
            spec["tolerations"] = [
                {"key": "dedicated", "operator": "Equal", "value": app, "effect": "NoSchedule"}
            ]
        return spec

    def template(
        self, app: str, labels: dict[str, str], hygiene: str, restart: str | None = None
    ) -> dict[str, Any]:
        meta: dict[str, Any] = {"labels": dict(labels)}
        if self.chance(0.3):
            meta["annotations"] = {"prometheus.io/scrape": "true", "prometheus.io/port": "9090"}
        return {"metadata": meta, "spec": self.pod_spec(app, hygiene, restart)}

    def hygiene(self) -> str:
        return self.rng.choices(("hardened", "average", "careless"), weights=(3, 4, 3))[0]

    # --- objects ----------------------------------------------------------------------------

    def deployment(self, app: str, name: str, ns: str, labels: dict[str, str]) -> dict[str, Any]:
        selector = {"app.kubernetes.io/name": app}
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": self.metadata(name, ns, labels),
            "spec": {
                "replicas": self.rng.choice((1, 2, 3, 5)),
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": selector},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
                },
                "template": self.template(app, labels, self.hygiene()),
            },
        }

    def statefulset(self, app: str, name: str, ns: str, labels: dict[str, str]) -> dict[str, Any]:
        return {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": self.metadata(f"{name}-db", ns, labels),
            "spec": {
                "serviceName": f"{name}-db",
                "replicas": 3,
                "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
                "template": self.template(app, labels, self.hygiene()),
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "storageClassName": "gp3",
                            "resources": {
                                "requests": {"storage": f"{self.rng.choice((10, 50, 100))}Gi"}
                            },
                        },
                    }
                ],
            },
        }

    def cronjob(self, app: str, name: str, ns: str, labels: dict[str, str]) -> dict[str, Any]:
        return {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": self.metadata(f"{name}-cleanup", ns, labels),
            "spec": {
                "schedule": f"{self.rng.randint(0, 59)} {self.rng.randint(0, 23)} * * *",
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "jobTemplate": {
                    "spec": {
                        "backoffLimit": 2,
                        "template": self.template(app, labels, self.hygiene(), "OnFailure"),
                    }
                },
            },
        }

    def service(self, app: str, name: str, ns: str, labels: dict[str, str]) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "type": self.rng.choices(("ClusterIP", "LoadBalancer", "NodePort"), weights=(8, 1, 1))[
                0
            ],
            "selector": {"app.kubernetes.io/name": app},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        }
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": self.metadata(name, ns, labels),
            "spec": spec,
        }

    def ingress(self, app: str, name: str, ns: str, labels: dict[str, str]) -> dict[str, Any]:
        host = f"{app}.{self.rng.choice(('acme.io', 'acme.dev', 'internal.acme.io'))}"
        spec: dict[str, Any] = {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": app, "port": {"name": "http"}}},
                            }
                        ]
                    },
                }
            ],
        }
        if self.chance(0.7):
            spec["tls"] = [{"hosts": [host], "secretName": f"{app}-tls"}]
        meta = self.metadata(name, ns, labels)
        meta.setdefault("annotations", {})["nginx.ingress.kubernetes.io/ssl-redirect"] = "true"
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": meta,
            "spec": spec,
        }

    def configmap(self, app: str, name: str, ns: str, labels: dict[str, str]) -> dict[str, Any]:
        lines = [
            f"{word}.enabled: {str(self.chance(0.5)).lower()}" for word in self.rng.sample(WORDS, 6)
        ]
        data: dict[str, str] = {
            "LOG_FORMAT": "json",
            "FEATURE_FLAGS": ",".join(self.rng.sample(WORDS, 3)),
            "app.yaml": "\n".join(["server:", "  port: 8080", *(f"  {line}" for line in lines)])
            + "\n",
        }
        if self.chance(0.2):
            data["DATABASE_URL"] = f"postgres://app:hunter{self.rng.randint(2, 99)}@db:5432/{app}"
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": self.metadata(f"{name}-config", ns, labels),
            "data": data,
        }

    def networkpolicy(self, app: str, name: str, ns: str, labels: dict[str, str]) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": app}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                            }
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": 8080}],
                }
            ],
            "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}],
        }
        if self.chance(0.2):
            spec["ingress"] = [{}]  # allow all
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": self.metadata(f"{name}-default", ns, labels),
            "spec": spec,
        }

    def serviceaccount(
        self, app: str, name: str, ns: str, labels: dict[str, str]
    ) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": self.metadata(name, ns, labels),
        }
        if self.chance(0.5):
            obj["automountServiceAccountToken"] = False
        return obj

    def manifest_file(self, team: str, app: str, count: int) -> tuple[str, list[str]]:
        """One multi-document file of an app: a workload first, then its companions."""
        ns = f"{team}-{self.rng.choice(('prod', 'staging', 'dev'))}"
        labels = self.labels(app, team)
        first = self.rng.choices(("Deployment", "StatefulSet", "CronJob"), weights=(7, 2, 1))[0]
        extra = self.rng.choices(
            [kind for kind, _ in EXTRA_KINDS], weights=[w for _, w in EXTRA_KINDS], k=count - 1
        )
        kinds = [first, *extra]
        parts = [f"# {app}: owned by team {team}\n# generated benchmark corpus, do not edit\n"]
        for index, kind in enumerate(kinds):
            # Repeated kinds in a file get distinct names, as in real bundles.
            name = app if index == 0 else f"{app}-{index}"
            obj = getattr(self, kind.lower())(app, name, ns, labels)
            text = dump(obj)
            parts.append(("---\n" if index else "") + text)
        return "".join(parts), kinds

    # --- Helm and Terraform -----------------------------------------------------------------

    def chart(self, name: str) -> dict[str, str]:
        values = {
            "replicaCount": self.rng.choice((1, 2, 3)),
            "image": {"repository": f"ghcr.io/acme/{name}", "tag": f"1.{self.rng.randint(0, 9)}.0"},
            "service": {"type": "ClusterIP", "port": 80},
            "ingress": {"enabled": self.chance(0.5), "host": f"{name}.acme.io"},
            "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
            "securityContext": (
                {"runAsNonRoot": True, "allowPrivilegeEscalation": False}
                if self.chance(0.6)
                else {"privileged": True}
            ),
        }
        helpers = (
            '{{- define "chart.fullname" -}}\n{{ .Release.Name }}-{{ .Chart.Name }}\n{{- end }}\n'
            '{{- define "chart.labels" -}}\napp.kubernetes.io/name: {{ .Chart.Name }}\n'
            "app.kubernetes.io/instance: {{ .Release.Name }}\n{{- end }}\n"
        )
        deployment = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "chart.fullname" . }}
  labels:
    {{- include "chart.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      {{- include "chart.labels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "chart.labels" . | nindent 8 }}
    spec:
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          ports:
            - name: http
              containerPort: 8080
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
"""
        service = """apiVersion: v1
kind: Service
metadata:
  name: {{ include "chart.fullname" . }}
spec:
  type: {{ .Values.service.type }}
  ports:
    - port: {{ .Values.service.port }}
      targetPort: http
  selector:
    {{- include "chart.labels" . | nindent 4 }}
"""
        ingress = """{{- if .Values.ingress.enabled }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "chart.fullname" . }}
spec:
  rules:
    - host: {{ .Values.ingress.host }}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {{ include "chart.fullname" . }}
                port:
                  name: http
{{- end }}
"""
        chart = {
            "apiVersion": "v2",
            "name": name,
            "version": "0.1.0",
            "appVersion": "1.0.0",
            "type": "application",
        }
        return {
            "Chart.yaml": dump(chart),
            "values.yaml": dump(values),
            "templates/_helpers.tpl": helpers,
            "templates/deployment.yaml": deployment,
            "templates/service.yaml": service,
            "templates/ingress.yaml": ingress,
        }

    def module(self, name: str) -> dict[str, str]:
        careless = self.chance(0.4)
        blocks = [
            f'resource "aws_s3_bucket" "{name}" {{\n  bucket = "acme-{name}"\n'
            f'  tags = {{\n    Team = "{self.rng.choice(TEAMS)}"\n  }}\n}}\n'
        ]
        if not careless:
            blocks.append(
                f'resource "aws_s3_bucket_public_access_block" "{name}" {{\n'
                f"  bucket                  = aws_s3_bucket.{name}.id\n"
                "  block_public_acls       = true\n  block_public_policy     = true\n"
                "  ignore_public_acls      = true\n  restrict_public_buckets = true\n}\n"
            )
            blocks.append(
                f'resource "aws_s3_bucket_server_side_encryption_configuration" "{name}" {{\n'
                f"  bucket = aws_s3_bucket.{name}.id\n  rule {{\n"
                '    apply_server_side_encryption_by_default {\n      sse_algorithm = "aws:kms"\n'
                "    }\n  }\n}\n"
            )
        cidr = '"0.0.0.0/0"' if careless else "var.vpc_cidr"
        blocks.append(
            f'resource "aws_security_group" "{name}" {{\n  name   = "{name}"\n'
            "  vpc_id = var.vpc_id\n\n  ingress {\n    from_port   = 22\n    to_port     = 22\n"
            f'    protocol    = "tcp"\n    cidr_blocks = [{cidr}]\n  }}\n\n'
            '  egress {\n    from_port   = 0\n    to_port     = 0\n    protocol    = "-1"\n'
            '    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n'
        )
        blocks.append(
            f'resource "aws_db_instance" "{name}" {{\n  identifier        = "{name}"\n'
            '  engine            = "postgres"\n  instance_class    = "db.t3.medium"\n'
            f"  allocated_storage = 20\n  storage_encrypted = {str(not careless).lower()}\n"
            f"  publicly_accessible = {str(careless and self.chance(0.5)).lower()}\n"
            "  username          = var.db_user\n  password          = var.db_password\n}\n"
        )
        action = '"*"' if careless else '["s3:GetObject", "s3:PutObject"]'
        blocks.append(
            f'resource "aws_iam_policy" "{name}" {{\n  name = "{name}"\n'
            '  policy = jsonencode({\n    Version = "2012-10-17"\n    Statement = [{\n'
            f'      Effect   = "Allow"\n      Action   = {action}\n'
            f"      Resource = aws_s3_bucket.{name}.arn\n    }}]\n  }})\n}}\n"
        )
        blocks.append(
            f'resource "aws_ebs_volume" "{name}" {{\n  availability_zone = "eu-west-1a"\n'
            f"  size              = 40\n  encrypted         = {str(not careless).lower()}\n}}\n"
        )
        variables = "".join(
            f'variable "{var}" {{\n  type = string\n}}\n\n'
            for var in ("vpc_id", "vpc_cidr", "db_user", "db_password")
        )
        outputs = f'output "bucket_arn" {{\n  value = aws_s3_bucket.{name}.arn\n}}\n'
        return {"main.tf": "\n".join(blocks), "variables.tf": variables, "outputs.tf": outputs}


def split(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` documents over `parts` files, each at least 1, uneven as real repos are."""
    if parts <= 0:
        return []
    total = max(total, parts)
    counts = [1] * parts
    for _ in range(total - parts):
        counts[min(int(rng.expovariate(1.0) * parts / 3), parts - 1)] += 1
    rng.shuffle(counts)
    return counts


def generate(out: Path, size: Size, seed: int = 1) -> dict[str, Any]:
    """Write the corpus below `out` (replacing what is there) and return its summary."""
    if out.exists():
        shutil.rmtree(out)
    gen = Generator(seed)
    counts = split(size.docs, size.files, gen.rng)
    kinds: dict[str, int] = {}
    used: set[str] = set()
    for index, count in enumerate(counts):
        team = TEAMS[index % len(TEAMS)]
        app = gen.name()
        while f"{team}/{app}" in used:
            app = f"{gen.name()}-{len(used)}"
        used.add(f"{team}/{app}")
        text, file_kinds = gen.manifest_file(team, app, count)
        for kind in file_kinds:
            kinds[kind] = kinds.get(kind, 0) + 1
        _write(out / "kubernetes" / team / f"{app}.yaml", text)
    for index in range(size.charts):
        for name, text in gen.chart(f"chart{index:03d}").items():
            _write(out / "charts" / f"chart{index:03d}" / name, text)
    for index in range(size.modules):
        for name, text in gen.module(f"mod{index:04d}").items():
            _write(out / "terraform" / f"mod{index:04d}" / name, text)
    summary = {
        "seed": seed,
        "size": asdict(size),
        "kubernetes_files": len(counts),
        "kubernetes_documents": sum(counts),
        "kinds": dict(sorted(kinds.items())),
        "charts": size.charts,
        "terraform_modules": size.modules,
    }
    (out / "corpus.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def size_from(args: argparse.Namespace) -> Size:
    base = SIZES["small" if args.small else "full"]
    return Size(
        files=args.files if args.files is not None else base.files,
        docs=args.docs if args.docs is not None else base.docs,
        charts=args.charts if args.charts is not None else base.charts,
        modules=args.modules if args.modules is not None else base.modules,
    )


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--small", action="store_true", help="2,000 documents in 200 files")
    parser.add_argument("--files", type=int, help="Kubernetes manifest files")
    parser.add_argument("--docs", type=int, help="Kubernetes documents (over all files)")
    parser.add_argument("--charts", type=int, help="Helm charts")
    parser.add_argument("--modules", type=int, help="Terraform modules")
    parser.add_argument("--seed", type=int, default=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_arguments(parser)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args()
    summary = generate(args.out, size_from(args), args.seed)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
