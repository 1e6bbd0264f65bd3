"""A ConfigMap key named like a secret whose value is a JSON document of settings that each
say, by their own names, that they are no secret (kserve's `inferenceservice-config`
`credentials` section names Secrets, their keys and file names: 83 blocking
K8S-CONFIGMAP-SECRETS in kserve) passes; a document holding any value that is not so named,
a number, or a credential's format keeps the finding, and a Secret's values are judged as
before (GK-SECRET-PLAINTEXT)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Run

Gatekeeper = Callable[..., Run]
Write = Callable[[str, str], Path]

SETTINGS = """{
   "storageSpecSecretName": "storage-config",
   "storageSecretNameAnnotation": "serving.kserve.io/storageSecretName",
   "gcs": {"gcsCredentialFileName": "gcloud-application-credentials.json"},
   "s3": {
       "s3AccessKeyIDName": "AWS_ACCESS_KEY_ID",
       "s3SecretAccessKeyName": "AWS_SECRET_ACCESS_KEY",
       "s3Endpoint": "",
       "s3UseHttps": "",
       "s3VerifySSL": true,
       "ports": [443]
   }
}"""


def _config_map(name: str, value: str, kind: str = "ConfigMap", field: str = "data") -> str:
    body = "\n".join("    " + line for line in value.splitlines())
    return (
        f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: kserve\n"
        f"{field}:\n  credentials: |-\n{body}\n"
    )


def test_a_json_document_of_named_settings_is_no_secret(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    write("config/settings.yaml", _config_map("settings", SETTINGS))
    for name, value in (
        ("plain", SETTINGS.replace('"s3Endpoint": ""', '"pw": "hunter2x"')),
        ("value", SETTINGS.replace('"s3Endpoint": ""', '"clientSecret": "9fQxLr2v"')),
        ("number", SETTINGS.replace('"s3Endpoint": ""', '"pin": 48151623')),
        ("format", SETTINGS.replace('"s3Endpoint": ""', '"keyIdName": "AKIAIOSFODNN7EXAMPLE"')),
        ("text", "user=admin\npassword=hunter2x"),
        ("list", '{"users": ["hunter2x"]}'),
    ):
        write(f"config/{name}.yaml", _config_map(name, value))
    write("config/secret.yaml", _config_map("secret", SETTINGS, "Secret", "stringData"))
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = sorted(
        (f["policy_id"], f["file"])
        for f in json.loads(run.stdout)["findings"]
        if "SECRET" in f["policy_id"]
    )
    assert found == [
        ("GK-SECRET-PLAINTEXT", "config/secret.yaml"),
        ("K8S-CONFIGMAP-SECRETS", "config/format.yaml"),
        ("K8S-CONFIGMAP-SECRETS", "config/list.yaml"),
        ("K8S-CONFIGMAP-SECRETS", "config/number.yaml"),
        ("K8S-CONFIGMAP-SECRETS", "config/plain.yaml"),
        ("K8S-CONFIGMAP-SECRETS", "config/text.yaml"),
        ("K8S-CONFIGMAP-SECRETS", "config/value.yaml"),
    ]


def test_a_value_nested_past_the_parsers_depth_is_a_finding_not_a_crash(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """A ConfigMap's or a Secret's JSON value nested 5,000 deep (under 64 KiB) made json.loads
    raise RecursionError: exit 3 (also on 3571605, through the reading of a file a key holds).
    It is read as text that is not JSON: the key's name judges it."""
    write(".gatekeeper.yml", "packs: [kubernetes]\n")
    deep = '{"a": ' + "[" * 5000 + "]" * 5000 + "}"
    write("config/map.yaml", _config_map("map", deep))
    write("config/secret.yaml", _config_map("secret", deep, "Secret", "stringData"))
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = sorted(
        (f["policy_id"], f["file"], f["line"])
        for f in json.loads(run.stdout)["findings"]
        if "SECRET" in f["policy_id"]
    )
    assert found == [
        ("GK-SECRET-PLAINTEXT", "config/secret.yaml", 7),
        ("K8S-CONFIGMAP-SECRETS", "config/map.yaml", 7),
    ]


def test_helm_values_nested_past_the_readers_depth_are_said_at_their_line(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """An Argo CD Application's `helm.values` string nested 5,000 deep: the YAML reader's
    RecursionError became a GK-PARSE-ERROR at line 1 naming the Python error (exit 3 under
    GATEKEEPER_STRICT, as conftest sets it). Now a blocking GK-PARSE-ERROR at the `values:`
    line says they are not read (an unread value may ask for anything: fail closed)."""
    deep = '{"a": ' + "[" * 5000 + "]" * 5000 + "}"
    write(
        "app.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        "metadata: {name: a, namespace: argocd}\n"
        "spec:\n  destination: {server: https://kubernetes.default.svc, namespace: x}\n"
        "  source:\n    repoURL: https://charts.example.com\n    chart: x\n"
        f"    targetRevision: 1.0.0\n    helm:\n      values: '{deep}'\n",
    )
    run = gatekeeper("scan", "--format", "json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    found = [
        (f["line"], f["message"], f["blocking"])
        for f in json.loads(run.stdout)["findings"]
        if f["policy_id"] == "GK-PARSE-ERROR"
    ]
    message = "helm values for chart x are nested too deeply to read; not judged"
    assert found == [(11, message, True)]
