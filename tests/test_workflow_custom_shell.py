"""A custom shell is the command GitHub runs: `shell: kubectl apply -f {0}` applies the
`run:` text (red team r26), from a step's own `shell:` or `defaults.run.shell`."""

from __future__ import annotations

from pathlib import Path

from tests.test_workflow_trust import STEPS, Gatekeeper, Write, scan


def test_a_custom_shell_template_is_the_command(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write(
        ".github/workflows/ci.yml",
        "on: push\npermissions: {}\ndefaults: {run: {shell: 'helm upgrade web ./c -f {0}'}}\n"
        "jobs:\n  ship:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - shell: kubectl apply -f {0}\n"
        "        run: |\n          apiVersion: v1\n          kind: Pod\n"
        "      - run: 'replicas: 3'\n"
        "      - shell: bash -e {0}\n        run: kubectl get pods\n",
    )
    assert scan(gatekeeper, tmp_path) == [
        (".github/workflows/ci.yml", 3, "helm upgrade web ./c -f {0}"),
        (".github/workflows/ci.yml", 8, "kubectl apply -f {0}"),
    ]


def test_a_named_shell_runs_the_script(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    write(
        ".github/workflows/ci.yml", STEPS + "      - shell: sh\n        run: kubectl diff -f k8s\n"
    )
    assert scan(gatekeeper, tmp_path) == []


def test_a_docker_action_runs_its_args_behind_the_image(
    gatekeeper: Gatekeeper, write: Write, tmp_path: Path
) -> None:
    """Red team r30: a local action with `runs.using: docker` and kubectl's image."""
    write(
        "tools/kubectl/action.yml",
        "name: k\nruns:\n  using: docker\n  image: docker://bitnami/kubectl:1.31\n"
        "  args: [apply, -f, k8s/prod]\n",
    )
    write(
        "tools/lint/action.yml",
        "name: l\nruns:\n  using: docker\n  image: docker://bitnami/kubectl:1.31\n"
        "  args: [diff, -f, k8s/prod]\n",
    )
    assert scan(gatekeeper, tmp_path) == [
        ("tools/kubectl/action.yml", 5, "kubectl apply -f k8s/prod")
    ]
