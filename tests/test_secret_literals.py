"""Secret literals in compose files and Dockerfiles: what is flagged, where, and never the value."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harden_lib.redact import SECRETS
from harden_lib.secret_literals import (
    LiteralSecret,
    is_compose_file,
    is_dockerfile,
    is_literal_secret,
    scan_compose,
    scan_dockerfile,
    scan_file,
)

# Fake values planted in the files below; none may ever appear in a LiteralSecret.
PG_PASSWORD = "Pg-literal-7f3a9c2e5b"
BLOB_VALUE = "q8Zr7TmXw2LpK9vB4nYc"
API_SECRET = "Zx9Qw8Er7Ty6Ui5Op4Lk"
NPM_TOKEN = "npm_Fk3Jd8Lq2Wz7Xc5Vb1"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def keys(hits: list[LiteralSecret]) -> dict[str, int]:
    """key -> line, asserting each key is reported once."""
    out: dict[str, int] = {}
    for hit in hits:
        assert hit.key not in out, f"{hit.key} reported twice"
        out[hit.key] = hit.line
    return out


# --------------------------------------------------------------------------- is_literal_secret


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("DB_PASSWORD", "hunter2-but-longer", True),
        ("DB_PASSWORD", "${DB_PASSWORD}", False),
        ("DB_PASSWORD", "$DB_PASSWORD", False),
        ("DB_PASSWORD", "${DB_PASSWORD:?must be set}", False),
        ("DB_PASSWORD", "", False),
        ("DB_PASSWORD", "   ", False),
        ("DB_PASSWORD", '""', False),
        ("DB_PASSWORD", None, False),
        ("LOG_LEVEL", "debug", False),
        ("PORT", "3000", False),
        ("APP_URL", "https://app.example.com/path", False),
        ("BLOB", BLOB_VALUE, True),  # random-looking value under an innocent key
    ],
)
def test_is_literal_secret(key, value, expected):
    assert is_literal_secret(key, value) is expected


# --------------------------------------------------------------------------- compose


COMPOSE = f"""
# a comment on line 1
services:
  api:
    image: ghcr.io/acme/api:1.0
    environment:
      DATABASE_URL: ${{DATABASE_URL}}
      API_TOKEN: $API_TOKEN
      EMPTY_SECRET: ""
      UNSET_SECRET:
      LOG_LEVEL: debug
      PORT: 3000
      BLOB: {BLOB_VALUE}
      API_SECRET: "{API_SECRET}"
  db:
    image: postgres:16
    environment:
      - POSTGRES_USER=acme
      - POSTGRES_PASSWORD={PG_PASSWORD}
      - POSTGRES_DB_PASSWORD_FILE_REF=${{PG_PW}}
      - REDIS_PASSWORD
      - EMPTY_PASSWORD=
  worker:
    image: worker
"""


def test_compose_mapping_and_list_forms_with_line_numbers(tmp_path):
    path = write(tmp_path, "docker-compose.yml", COMPOSE)
    hits = scan_compose(path)
    assert keys(hits) == {"BLOB": 12, "API_SECRET": 13, "POSTGRES_PASSWORD": 18}
    by_key = {h.key: h for h in hits}
    assert by_key["BLOB"].where == "compose service 'api' environment"
    assert by_key["POSTGRES_PASSWORD"].where == "compose service 'db' environment"
    assert by_key["POSTGRES_PASSWORD"].file == "docker-compose.yml"
    assert by_key["POSTGRES_PASSWORD"].target == "docker-compose.yml:18"
    # The line really holds the literal (line numbers are 1-based).
    lines = path.read_text().splitlines()
    assert PG_PASSWORD in lines[18 - 1] and BLOB_VALUE in lines[12 - 1] and API_SECRET in lines[13 - 1]


def test_compose_display_name_is_used_in_target(tmp_path):
    path = write(tmp_path, "compose.yaml", COMPOSE)
    hits = scan_compose(path, display="repo/deploy/compose.yaml")
    assert {h.target for h in hits} == {
        "repo/deploy/compose.yaml:12",
        "repo/deploy/compose.yaml:13",
        "repo/deploy/compose.yaml:18",
    }


def test_compose_without_literals_is_empty(tmp_path):
    path = write(
        tmp_path,
        "compose.yaml",
        """
        services:
          api:
            environment:
              NEXTAUTH_SECRET: ${NEXTAUTH_SECRET}
              LOG_LEVEL: info
            env_file: .env
          web:
            environment: [NODE_ENV=production, "SESSION_SECRET=${SESSION_SECRET}"]
        """,
    )
    assert scan_compose(path) == []


def test_compose_anchor_is_reported_at_the_anchor(tmp_path):
    path = write(
        tmp_path,
        "docker-compose.yml",
        f"""
        x-env: &shared
          DB_PASSWORD: {PG_PASSWORD}
        services:
          api:
            environment: *shared
        """,
    )
    hits = scan_compose(path)
    assert [(h.key, h.line) for h in hits] == [("DB_PASSWORD", 2)]


@pytest.mark.parametrize(
    "text",
    [
        "services:\n  api:\n    environment:\n      - A=1\n    bad: [unclosed\n",  # malformed YAML
        "services: [1, 2]\n",  # services not a mapping
        "- just\n- a list\n",  # top level not a mapping
        "",  # empty
        "version: '3'\n",  # no services
        "services:\n  api: just-a-string\n",  # service not a mapping
        "services:\n  api:\n    environment: 42\n",  # environment a scalar
    ],
)
def test_compose_odd_or_malformed_returns_empty_without_raising(tmp_path, text):
    path = tmp_path / "docker-compose.yml"
    path.write_text(text)
    assert scan_compose(path) == []
    assert scan_file(path) == []


def test_compose_not_utf8_or_missing_returns_empty(tmp_path):
    path = tmp_path / "docker-compose.yml"
    path.write_bytes(b"services:\n  api:\n    environment:\n      A: \xff\xfe\n")
    assert scan_compose(path) == []
    assert scan_compose(tmp_path / "absent-compose.yml") == []


def test_compose_yaml_null_is_not_a_literal(tmp_path):
    path = write(
        tmp_path,
        "docker-compose.yml",
        """
        services:
          api:
            environment:
              DB_PASSWORD: ~
              API_TOKEN: null
        """,
    )
    assert scan_compose(path) == []


def test_boolean_flags_under_secretish_names_are_not_literals(tmp_path):
    compose = write(
        tmp_path,
        "docker-compose.yml",
        """
        services:
          api:
            environment:
              SESSION_COOKIE_SECURE: "true"
              AUTH_ENABLED: "false"
        """,
    )
    dockerfile = write(tmp_path, "Dockerfile", "FROM x\nARG AUTH_ENABLED=false\nENV SESSION_SECURE=true\n")
    assert scan_compose(compose) == []
    assert scan_dockerfile(dockerfile) == []


def test_reference_with_a_literal_secret_default_is_flagged(tmp_path):
    path = write(
        tmp_path,
        "docker-compose.yml",
        f"""
        services:
          api:
            environment:
              DB_PASSWORD: ${{DB_PASSWORD:-{PG_PASSWORD}}}
        """,
    )
    assert keys(scan_compose(path)) == {"DB_PASSWORD": 4}


# --------------------------------------------------------------------------- Dockerfile


DOCKERFILE = f"""
# syntax=docker/dockerfile:1
FROM node:20-alpine AS build
ARG NPM_TOKEN={NPM_TOKEN}
ARG BUILD_SECRET
ARG VERSION=1.2.3
ENV NODE_ENV=production PORT=3000
ENV API_SECRET {API_SECRET}
env db_password="{PG_PASSWORD}"
ENV FROM_ENV=${{FROM_ENV}} OTHER_TOKEN=$OTHER_TOKEN EMPTY_KEY=
RUN echo "ENV FAKE_SECRET=not-an-instruction-because-it-is-in-run"
COPY . /app
CMD ["node", "server.js"]
"""


def test_dockerfile_env_arg_and_legacy_forms(tmp_path):
    path = write(tmp_path, "Dockerfile", DOCKERFILE)
    hits = scan_dockerfile(path)
    assert keys(hits) == {"NPM_TOKEN": 3, "API_SECRET": 7, "db_password": 8}
    where = {h.key: h.where for h in hits}
    assert where == {"NPM_TOKEN": "Dockerfile ARG", "API_SECRET": "Dockerfile ENV", "db_password": "Dockerfile ENV"}
    lines = path.read_text().splitlines()
    for hit, value in zip(sorted(hits, key=lambda h: h.line), (NPM_TOKEN, API_SECRET, PG_PASSWORD), strict=True):
        assert value in lines[hit.line - 1]


def test_dockerfile_legacy_env_value_with_spaces(tmp_path):
    path = write(tmp_path, "Dockerfile", "FROM x\nENV CLIENT_SECRET alpha beta gamma\nENV GREETING hello world\n")
    assert [(h.key, h.line, h.where) for h in scan_dockerfile(path)] == [("CLIENT_SECRET", 2, "Dockerfile ENV")]


def test_dockerfile_multiline_continuation(tmp_path):
    path = write(
        tmp_path,
        "Dockerfile",
        f"""
        FROM x
        ENV NODE_ENV=production \\
            SESSION_SECRET={API_SECRET} \\
            PORT=3000
        ARG VERSION=1
        ENV A_TOKEN={NPM_TOKEN}
        """,
    )
    hits = scan_dockerfile(path)
    assert [h.key for h in hits] == ["SESSION_SECRET", "A_TOKEN"]
    # The ENV instruction starts on line 2; lines after the continuation keep their own numbers.
    assert hits[0].line in (2, 3)
    assert hits[1].line == 6
    assert hits[0].where == "Dockerfile ENV"


def test_dockerfile_continuation_reports_the_line_holding_the_literal(tmp_path):
    path = write(tmp_path, "Dockerfile", f"FROM x\nENV NODE_ENV=production \\\n    SESSION_SECRET={API_SECRET}\n")
    assert [(h.key, h.line) for h in scan_dockerfile(path)] == [("SESSION_SECRET", 3)]


def test_dockerfile_unbalanced_quote_does_not_raise(tmp_path):
    path = write(tmp_path, "Dockerfile", f"FROM x\nENV API_SECRET='{API_SECRET}\n")
    hits = scan_dockerfile(path)
    assert [(h.key, h.line) for h in hits] == [("API_SECRET", 2)]


def test_dockerfile_unreadable_returns_empty(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_bytes(b"FROM x\nENV A_SECRET=\xff\xfe\xfd\n")
    assert scan_dockerfile(path) == []
    assert scan_dockerfile(tmp_path / "Dockerfile.absent") == []


# --------------------------------------------------------------------------- dispatch


@pytest.mark.parametrize(
    ("name", "compose", "docker"),
    [
        ("docker-compose.yml", True, False),
        ("docker-compose.yaml", True, False),
        ("docker-compose.prod.yml", True, False),
        ("docker-compose.override.yaml", True, False),
        ("compose.yaml", True, False),
        ("compose.yml", True, False),
        ("compose-staging.yml", True, False),
        ("Docker-Compose.YML", True, False),
        ("Dockerfile", False, True),
        ("dockerfile", False, True),
        ("Dockerfile.api", False, True),
        ("api.dockerfile", False, True),
        ("values.yaml", False, False),
        ("mycompose.yml", False, False),
        ("docker-compose.yml.bak", False, False),
        ("Dockerfile_notes.md", False, False),
        ("settings.py", False, False),
    ],
)
def test_file_name_classification(name, compose, docker):
    assert is_compose_file(name) is compose
    assert is_dockerfile(name) is docker


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("docker-compose.prod.yml", {"BLOB": 12, "API_SECRET": 13, "POSTGRES_PASSWORD": 18}),
        ("compose.yaml", {"BLOB": 12, "API_SECRET": 13, "POSTGRES_PASSWORD": 18}),
        ("Dockerfile.api", {"NPM_TOKEN": 3, "API_SECRET": 7, "db_password": 8}),
        ("api.dockerfile", {"NPM_TOKEN": 3, "API_SECRET": 7, "db_password": 8}),
        ("Dockerfile", {"NPM_TOKEN": 3, "API_SECRET": 7, "db_password": 8}),
    ],
)
def test_scan_file_dispatches_on_name(tmp_path, name, expected):
    text = COMPOSE if "compose" in name else DOCKERFILE
    path = write(tmp_path, name, text)
    hits = scan_file(path)
    assert keys(hits) == expected
    assert all(h.file == name for h in hits)


def test_scan_file_ignores_other_files(tmp_path):
    # Same content, but neither a compose file nor a Dockerfile by name.
    assert scan_file(write(tmp_path, "services.yml", COMPOSE)) == []
    assert scan_file(write(tmp_path, "build.txt", DOCKERFILE)) == []


# --------------------------------------------------------------------------- no value anywhere


def test_value_never_in_literal_secret_fields_or_repr(tmp_path):
    hits = scan_file(write(tmp_path, "docker-compose.yml", COMPOSE))
    hits += scan_file(write(tmp_path, "Dockerfile", DOCKERFILE))
    assert len(hits) == 6
    for hit in hits:
        text = " ".join([repr(hit), str(hit), hit.file, hit.key, hit.where, hit.target, str(hit.line)])
        for value in (PG_PASSWORD, BLOB_VALUE, API_SECRET, NPM_TOKEN):
            assert value not in text
    assert not hasattr(hits[0], "value")


def test_found_values_are_registered_for_scrubbing(tmp_path):
    scan_file(write(tmp_path, "docker-compose.yml", COMPOSE))
    scan_file(write(tmp_path, "Dockerfile", DOCKERFILE))
    text = f"a {PG_PASSWORD} b {BLOB_VALUE} c {API_SECRET} d {NPM_TOKEN}"
    assert SECRETS.scrub(text) == "a [REDACTED] b [REDACTED] c [REDACTED] d [REDACTED]"
