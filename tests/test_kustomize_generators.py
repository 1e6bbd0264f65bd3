"""configMapGenerator and secretGenerator built in-process and by kubectl: names with
kustomize's hash suffix, data, options and the references to generated names must agree
(tests.test_kustomize_build.both_ways)."""

from __future__ import annotations

import pytest

from tests.test_kustomize_build import ROOT, both_ways, refused

POD = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx
          envFrom: [{configMapRef: {name: settings}}, {secretRef: {name: creds}}]
      volumes:
        - {name: c, configMap: {name: files}}
        - {name: s, secret: {secretName: creds}}
"""

GENERATORS = """\
configMapGenerator:
  - name: settings
    literals: [A=1, B="two words", "C='quoted'", D=, E=a=b, "F=<&>", G=ünïcode]
    envs: [app.env]
  - name: files
    files: [config.json, renamed.txt=notes.txt]
    options: {labels: {own: label}, annotations: {note: here}}
  - name: empty
secretGenerator:
  - name: creds
    literals: [password=s3cr3t, long=%s]
  - name: typed
    type: kubernetes.io/tls
    files: [tls.crt=notes.txt, tls.key=notes.txt]
""" % ("x" * 120)

INPUTS = {
    "app/deploy.yaml": POD,
    "app/app.env": "\ufeff# settings\nH=from env\n\n   I=indented\nJ=trailing space \nK=x=y\r\n",
    "app/config.json": '{"a": [1, 2], "b": "<tag>"}\n',
    "app/notes.txt": "line one\nline two\n\ttabbed\n",
}


@pytest.mark.parametrize(
    "settings",
    [
        "",
        "generatorOptions: {disableNameSuffixHash: true}\n",
        "generatorOptions: {labels: {common: yes-it-is, own: common}, immutable: true}\n",
        "namePrefix: p-\nnamespace: apps\ncommonLabels: {team: sre}\n",
    ],
)
def test_generated_objects_and_their_references(settings: str) -> None:
    files = {ROOT: "resources: [deploy.yaml]\n" + GENERATORS + settings, **INPUTS}
    objects = {o["metadata"]["name"]: o for o in both_ways(files)}
    deployment = next(o for o in objects.values() if o["kind"] == "Deployment")
    env = deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert env[0]["configMapRef"]["name"] in objects
    assert env[1]["secretRef"]["name"] in objects


def test_generators_in_a_base_patched_and_hashed_in_the_overlay() -> None:
    files = {
        ROOT: "resources: [../base]\nnameSuffix: -prod\n"
        "patches:\n  - target: {kind: ConfigMap, name: settings}\n"
        "    patch: '- {op: add, path: /data/Z, value: patched}'\n",
        "base/kustomization.yaml": "resources: [deploy.yaml]\n" + GENERATORS,
        **{name.replace("app/", "base/"): text for name, text in INPUTS.items()},
    }
    objects = both_ways(files)
    settings = next(o for o in objects if o["kind"] == "ConfigMap" and "Z" in o.get("data", {}))
    assert settings["metadata"]["name"].startswith("settings-prod-")


@pytest.mark.parametrize(
    ("generators", "reason"),
    [
        (
            "resources: [../base]\n"
            "configMapGenerator: [{name: settings, behavior: merge, literals: [A=1]}]\n",
            "merge",
        ),
        ("configMapGenerator: [{name: settings, literals: [A=1, A=2]}]\n", "twice"),
        ("configMapGenerator: [{name: settings, literals: [noequals]}]\n", "key=value"),
        ("configMapGenerator: [{name: settings, literals: ['bad key=1']}]\n", "rejects"),
        ("configMapGenerator: [{name: settings, files: [../outside.txt]}]\n", "outside"),
        ("configMapGenerator: [{name: settings, envs: [bad.env]}]\n", "env file"),
        ("configMapGenerator: [{name: settings, files: [binary.bin]}]\n", "control"),
        (
            "configMapGenerator: [{name: settings, literals: [A=1]}]\npatches: [{path: cm.yaml}]\n",
            "generated object",
        ),
    ],
)
def test_what_the_builder_leaves_to_kubectl(generators: str, reason: str) -> None:
    files = {
        ROOT: generators
        if generators.startswith("resources")
        else "resources: [deploy.yaml]\n" + generators,
        **INPUTS,
        "base/kustomization.yaml": "configMapGenerator: [{name: settings, literals: [B=2]}]\n",
        "outside.txt": "x\n",
        "app/bad.env": "1BAD=x\n",
        "app/binary.bin": "\x01",
        "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n"
        "data: {B: '2'}\n",
    }
    assert reason in refused(files)
