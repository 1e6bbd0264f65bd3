from __future__ import annotations

from gatekeeper.sources import LoadContext, compose

COMPOSE = """\
services:
  web:
    image: ghcr.io/acme/web:1.0
    environment:
      - LOG_LEVEL=debug
      - API_TOKEN
  db:
    image: ${DB_IMAGE}
    environment:
      POSTGRES_PASSWORD: example
      DEBUG: true
  app:
    build: .
"""


def test_environment_vars_are_normalised_and_located() -> None:
    loaded = compose.load("compose.yaml", COMPOSE.encode(), LoadContext())
    assert loaded.problems == []
    (document,) = loaded.documents
    assert document.kind == "Compose"
    web = document.obj["services"]["web"]
    db = document.obj["services"]["db"]
    assert web["environment_vars"] == [
        {"name": "LOG_LEVEL", "value": "debug"},
        {"name": "API_TOKEN", "value": None},
    ]
    assert db["environment_vars"][1] == {"name": "DEBUG", "value": "true"}
    locate = document.locator.locate
    assert locate(("services", "web", "environment_vars", 1)).line == 6
    assert locate(("services", "db", "environment_vars", 0)).line == 10
    assert locate(("services", "db", "image")).line == 8


def test_images_skip_variables_and_build_only_services() -> None:
    (document,) = compose.load("compose.yaml", COMPOSE.encode(), LoadContext()).documents
    assert compose.images(document) == [("ghcr.io/acme/web:1.0", ("services", "web", "image"))]


def test_not_a_mapping_is_a_problem() -> None:
    loaded = compose.load("compose.yaml", b"[1, 2]\n", LoadContext())
    assert [(p.code, p.line) for p in loaded.problems] == [("GK-PARSE-ERROR", 1)]


def test_wrong_shapes_are_problems() -> None:
    text = b"services:\n  a: 5\n  b:\n    image: [x]\n    privileged: true\n"
    loaded = compose.load("compose.yaml", text, LoadContext())
    assert [(p.line, p.message) for p in loaded.problems] == [
        (2, "invalid compose file: services.a must be a mapping"),
        (4, "invalid compose file: services.b.image must be a string"),
    ]
    (document,) = loaded.documents
    assert document.obj["services"]["a"] == {}
