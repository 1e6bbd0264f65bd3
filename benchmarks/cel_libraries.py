"""Why cel-expr-python: time one policy-shaped CEL rule in each Python CEL library.

    pip install cel-python common-expression-language   # the two contenders, not deps
    python benchmarks/cel_libraries.py

Each library compiles the rule once and evaluates it N times on a Deployment-sized object,
including the conversion of the Python dict into CEL values, as gatekeeper does per subject.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import yaml

DEPLOYMENT = yaml.safe_load(
    """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod, labels: {app: web, team: a}}
spec:
  replicas: 3
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80}]
        env: [{name: A, value: b}, {name: C, value: d}]
        resources: {limits: {cpu: 500m, memory: 128Mi}, requests: {cpu: 100m, memory: 64Mi}}
        securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false}
      - name: side
        image: busybox
"""
)
ITEM = DEPLOYMENT["spec"]["template"]["spec"]["containers"][0]
ITEM_RULE = (
    "has(item.securityContext) && has(item.securityContext.runAsNonRoot)"
    " && item.securityContext.runAsNonRoot == true"
)
OBJECT_RULE = (
    "object.spec.template.spec.containers.all(c, has(c.securityContext)"
    " && c.securityContext.allowPrivilegeEscalation == false)"
)


def cel_cpp() -> tuple[Callable[[dict[str, Any]], Any], Callable[[dict[str, Any]], Any]]:
    from cel_expr_python import cel

    env = cel.NewEnv(variables={"item": cel.Type.DYN, "object": cel.Type.DYN})
    item, obj = env.compile(ITEM_RULE), env.compile(OBJECT_RULE)
    return (lambda d: item.eval(data=d).value()), (lambda d: obj.eval(data=d).value())


def cel_rust() -> tuple[Callable[[dict[str, Any]], Any], Callable[[dict[str, Any]], Any]]:
    import cel  # type: ignore[import-not-found]

    item, obj = cel.compile(ITEM_RULE), cel.compile(OBJECT_RULE)
    return item.execute, obj.execute


def cel_python() -> tuple[Callable[[dict[str, Any]], Any], Callable[[dict[str, Any]], Any]]:
    import celpy  # type: ignore[import-not-found]

    env = celpy.Environment()
    item = env.program(env.compile(ITEM_RULE))
    obj = env.program(env.compile(OBJECT_RULE))

    def run(program: Any) -> Callable[[dict[str, Any]], Any]:
        return lambda d: program.evaluate({k: celpy.json_to_cel(v) for k, v in d.items()})

    return run(item), run(obj)


LIBRARIES = {
    "cel-expr-python (cel-cpp)": cel_cpp,
    "common-expression-language (cel-rust)": cel_rust,
    "cel-python (pure Python)": cel_python,
}


def per_call_us(function: Callable[[dict[str, Any]], Any], data: dict[str, Any], n: int) -> float:
    function(data)
    started = time.perf_counter()
    for _ in range(n):
        function(data)
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="evaluations per measurement")
    args = parser.parse_args()
    print(f"{'library':40} {'item rule':>12} {'object rule':>12}")
    for name, make in LIBRARIES.items():
        try:
            item, obj = make()
        except ImportError:
            print(f"{name:40} {'not installed':>25}")
            continue
        n = args.n if "pure" not in name else max(args.n // 50, 20)
        item_us = per_call_us(item, {"item": ITEM}, n)
        obj_us = per_call_us(obj, {"object": DEPLOYMENT}, n)
        print(f"{name:40} {item_us:10.1f}us {obj_us:10.1f}us")


if __name__ == "__main__":
    main()
