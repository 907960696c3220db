"""Containers area against real compose files and Dockerfiles written to disk."""

from __future__ import annotations

import textwrap
from pathlib import Path

from harden_lib.checks import containers
from harden_lib.environment import load_environment

DEMO = Path(__file__).resolve().parent.parent / "params" / "demo.yaml"


def by(findings, check_id):
    return {f.target: f for f in findings if f.check_id == check_id}


def env_for(tmp_path: Path, files: list[str], dockerfiles: list[str] = ()) -> object:
    params = tmp_path / "p.yaml"
    params.write_text(
        "environment: t\nareas: [containers]\ncontainers:\n"
        f"  compose_files: {files!r}\n  dockerfiles: {list(dockerfiles)!r}\n"
    )
    return load_environment(params)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def test_demo_merges_files_resolves_extends_and_reads_dockerfiles():
    report = containers.audit(load_environment(DEMO))
    assert set(report.services) == {"web", "worker", "redis", "postgres", "minio", "updater"}
    user = by(report.findings, "containers.user")
    assert user["service web"].status == "pass" and "USER node" in user["service web"].observed
    assert user["service worker"].status == "fail"  # its Dockerfile has no USER
    assert user["service redis"].status == "pass"
    assert user["Dockerfile jobs/Dockerfile.migrate"].status == "pass"
    # worker's limits, logging, restart and healthcheck come from common.yml via extends
    assert by(report.findings, "containers.resources")["service worker"].status == "warn"  # memory, no cpus
    assert by(report.findings, "containers.logging")["service worker"].status == "pass"
    # the prod override adds limits and half a logging config to redis
    assert by(report.findings, "containers.resources")["service redis"].status == "pass"
    assert by(report.findings, "containers.logging")["service redis"].status == "warn"
    assert by(report.findings, "containers.logging")["service postgres"].status == "pass"
    ports = by(report.findings, "containers.ports.internal")
    assert ports["service redis"].status == "fail" and ports["service postgres"].status == "pass"
    assert ports["service minio"].status == "fail" and "9000:9000" in ports["service minio"].observed
    assert "9001" not in ports["service minio"].observed  # 127.0.0.1:9001 is fine
    updater = {f.check_id: f.status for f in report.findings if f.target == "service updater"}
    assert updater["containers.privileged"] == "fail"
    assert updater["containers.docker_socket"] == "fail"
    assert updater["containers.host_namespaces"] == "fail"
    assert updater["containers.cap_add"] == "fail"
    assert updater["containers.image_pinned"] == "fail"
    assert updater["containers.restart"] == "warn"
    pinned = by(report.findings, "containers.image_pinned")
    assert pinned["service redis"].status == "pass" and "(digest)" in pinned["service redis"].observed
    assert pinned["service minio"].status == "fail" and "untagged" in pinned["service minio"].observed
    secrets = by(report.findings, "containers.secrets")
    assert secrets["service worker"].status == "fail" and "WORKER_API_TOKEN" in secrets["service worker"].observed
    assert "wk_live" not in secrets["service worker"].observed
    assert secrets["Dockerfile jobs/Dockerfile.migrate"].status == "fail"
    assert "supersecret" not in str([f.model_dump() for f in report.findings])
    matrix = report.matrix()
    assert matrix.loc["service updater", "privileged"] == "fail" and matrix.shape[1] == len(containers.MATRIX_CHECKS)
    assert "WORKER_API_TOKEN" not in report.services_table().to_string()


def test_later_file_overrides_and_lists_merge(tmp_path):
    write(
        tmp_path / "a.yml",
        """
        services:
          db:
            image: postgres:latest
            user: root
            ports: ["5432:5432"]
            environment: [A=1]
            cap_add: [CHOWN]
        """,
    )
    write(
        tmp_path / "b.yml",
        """
        services:
          db:
            image: postgres:16.2
            user: "70"
            environment: {B: "2"}
            cap_add: [NET_BIND_SERVICE]
        """,
    )
    report = containers.audit(env_for(tmp_path, ["a.yml", "b.yml"]))
    db = report.services["db"].config
    assert db["environment"] == {"A": "1", "B": "2"} and db["cap_add"] == ["CHOWN", "NET_BIND_SERVICE"]
    found = {f.check_id: f for f in report.findings if f.target == "service db"}
    assert found["containers.user"].status == "pass"  # "70" from b.yml wins over root
    assert found["containers.image_pinned"].status == "pass"
    assert found["containers.cap_add"].status == "warn"  # not dangerous, still added
    assert found["containers.ports.internal"].status == "fail"  # ports add up, 5432 on all interfaces


def test_root_user_in_dockerfile_and_extends_cycle_and_bad_yaml(tmp_path):
    write(tmp_path / "app" / "Dockerfile", "FROM python:3.12 AS base\nUSER app\nFROM base\nUSER root\n")
    write(tmp_path / "c.yml", "services:\n  app:\n    build: ./app\n")
    report = containers.audit(env_for(tmp_path, ["c.yml"]))
    assert by(report.findings, "containers.user")["service app"].status == "fail"
    assert "USER root" in by(report.findings, "containers.user")["service app"].observed
    write(tmp_path / "loop.yml", "services:\n  a: {extends: b}\n  b: {extends: a}\n")
    report = containers.audit(env_for(tmp_path, ["loop.yml"]))
    assert [(f.check_id, f.status) for f in report.findings] == [("containers.compose", "error")]
    assert "cycle" in report.findings[0].observed
    write(tmp_path / "bad.yml", "services: [\n")
    report = containers.audit(env_for(tmp_path, ["bad.yml"]))
    assert report.findings[0].status == "error" and "bad.yml" in report.findings[0].observed


def test_missing_build_dockerfile_is_an_error_not_a_pass(tmp_path):
    write(tmp_path / "c.yml", "services:\n  app:\n    build: {context: ./nowhere}\n")
    report = containers.audit(env_for(tmp_path, ["c.yml"]))
    assert by(report.findings, "containers.user")["service app"].status == "error"
    assert by(report.findings, "containers.image_pinned")["service app"].status == "error"


def test_port_syntaxes():
    parsed = containers.parse_ports(
        [
            "6379",
            "127.0.0.1:6379:6379",
            "[::1]:5432:5432/tcp",
            "0.0.0.0:27017:27017",
            {"target": 9000, "host_ip": "10.0.0.5"},
        ]
    )
    assert [(p.host_ip, p.target) for p in parsed] == [
        ("", 6379), ("127.0.0.1", 6379), ("::1", 5432), ("0.0.0.0", 27017), ("10.0.0.5", 9000)
    ]  # fmt: skip
    assert containers.image_pin("registry:5000/team/app") == "untagged"
    assert containers.image_pin("registry:5000/team/app:1.2") == "tag"


def test_nothing_configured_is_skip(tmp_path):
    findings = containers.run(env_for(tmp_path, []))
    assert [(f.check_id, f.status) for f in findings] == [("containers.files", "skip")]


def test_every_finding_comes_from_the_catalog_and_every_catalog_id_is_emitted(tmp_path):
    """Compose written in other styles (list-form environment, long-form ports, a Dockerfile whose
    base stage sets the user) plus a broken project and an empty one: every id the area can emit
    shows up, each is a catalog entry, and the wording (references with URLs) comes from there."""
    from harden_lib.catalog import catalog

    write(tmp_path / "img" / "Dockerfile", "FROM alpine:3.19 AS base\nUSER 10001\nFROM base\nHEALTHCHECK CMD true\n")
    write(
        tmp_path / "ok.yml",
        """
        services:
          api:
            build: {context: ./img}
            deploy: {resources: {limits: {memory: 256M, cpus: "0.5"}}}
            logging: {driver: local}
            restart: on-failure:3
            environment: [LOG_LEVEL=info]
            ports: [{target: 8080, published: "8080"}, {target: 5432, host_ip: "::1", published: "5432"}]
            cap_drop: [ALL]
          cache:
            image: redis
            privileged: true
            cap_add: [CAP_SYS_PTRACE]
            pid: host
            volumes: [{type: bind, source: /run/docker.sock, target: /var/run/docker.sock}]
            ports: ["6379:6379"]
            environment: {REDIS_PASSWORD: "Zq8vN2mK7rT4wX9pL3sB6yH1"}
        """,
    )
    write(tmp_path / "broken.yml", "services:\n  a: {extends: {service: nowhere}}\n")
    findings = containers.run(env_for(tmp_path, ["ok.yml"], ["img/Dockerfile"]))
    findings += containers.run(env_for(tmp_path, ["broken.yml"]))
    findings += containers.run(env_for(tmp_path, []))
    # the checklist's own images are tested in test_checklist_images_are_flagged_not_enforced
    spec_ids = {s.id for s in catalog().for_area("containers")} - {
        "containers.execution",
        "containers.checklist_image_eol",
    }
    assert {f.check_id for f in findings} == spec_ids
    api = {f.check_id: f for f in findings if f.target == "service api"}
    cache = {f.check_id: f for f in findings if f.target == "service cache"}
    for check in ("user", "resources", "healthcheck", "logging", "restart", "privileged", "cap_add",
                  "docker_socket", "host_namespaces", "ports.internal", "secrets"):  # fmt: skip
        assert api[f"containers.{check}"].status == "pass", check
        assert api[f"containers.{check}"].remediation == "", "a pass has nothing to fix"
    for check in ("privileged", "cap_add", "docker_socket", "host_namespaces", "image_pinned", "ports.internal",
                  "secrets"):  # fmt: skip
        failed = cache[f"containers.{check}"]
        spec = catalog().lookup(failed.check_id)
        assert failed.status == "fail" and failed.severity is spec.severity, check
        assert failed.remediation == spec.remediation and failed.references == spec.reference_texts()
        assert any("<https://" in r for r in failed.references), check
    assert "Zq8vN2mK7rT4wX9pL3sB6yH1" not in str([f.model_dump() for f in findings])
    assert cache["containers.user"].status == "warn" and "verify and document" in cache["containers.user"].remediation


def test_area_interface_and_empty_chart():
    from harden_lib.area import AreaSpec

    assert isinstance(containers.AREA, AreaSpec) and containers.AREA.name == "containers"
    assert containers.AREA.params is containers.ContainersParams and containers.AREA.order == 90
    empty = containers.plot_matrix(containers.ContainersAudit())
    assert [t.get_text() for t in empty.axes[0].texts] == ["no services or Dockerfiles"]


# --------------------------------------------------------------------------- end of life, build args (issue 15)

TODAY = __import__("datetime").date(2026, 11, 30)


def env_params(tmp_path: Path, body: str) -> object:
    params = tmp_path / "p.yaml"
    params.write_text("environment: t\nareas: [containers]\n" + textwrap.dedent(body))
    return load_environment(params)


def test_base_images_past_end_of_life_fail_with_the_next_supported_line(tmp_path):
    write(
        tmp_path / "web" / "Dockerfile",
        "FROM node:20.11.1-bookworm-slim AS build\nFROM node:22-alpine3.22\nUSER node\n",
    )
    write(tmp_path / "api" / "Dockerfile", "FROM python:3.9-slim-bullseye\nUSER 1000\n")
    write(
        tmp_path / "compose.yml",
        """
        services:
          web: {build: ./web}
          api: {build: {context: ./api}}
          db: {image: "postgres:14.10-alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
          cache: {image: "redis:7"}
          tool: {image: "ghcr.io/acme/tool:2.1"}
        """,
    )
    env = env_params(tmp_path, "containers:\n  compose_files: [compose.yml]\n")
    found = by(containers.audit(env, today=TODAY).findings, "containers.base_image_eol")
    web = found["service web"]
    # the build stage's node 20 is past EOL; the final stage is fine: any past part fails
    assert web.status == "fail"
    assert "node:20.11.1: Node.js 20 past end of life since 2026-04-30, use node:22+" in web.observed
    assert "bookworm: Debian 12" in web.observed and "node:22: Node.js 22 supported until 2027-04-30" in web.observed
    assert "EOL table as of 2026-11-30" in web.observed
    api = found["service api"].observed
    assert found["service api"].status == "fail" and "Python 3.9 past end of life since 2025-10-31" in api
    assert "use python:3.10+" not in api  # 3.10 ends within the 90-day window: the advice skips it
    assert "use python:3.11+" in api and "Debian 11 past end of life" in api
    assert (
        found["service db"].status == "fail"
        and "PostgreSQL 14 past end of life since 2026-11-12" in found["service db"].observed
    )
    assert found["service cache"].status == "pass" and "Redis 7.4" in found["service cache"].observed
    assert found["service tool"].status == "skip"
    # 60 days before Node 22's end of life the same project warns
    soon = by(
        containers.audit(env, today=__import__("datetime").date(2027, 3, 1)).findings, "containers.base_image_eol"
    )
    assert "reaches end of life on 2027-04-30 (in 60 days)" in soon["service web"].observed


def test_checklist_images_are_flagged_not_enforced(tmp_path):
    env = env_params(tmp_path, "containers:\n  checklist_images: [node:20-alpine, node:22-alpine, 'acme/app:1']\n")
    found = by(containers.audit(env, today=TODAY).findings, "containers.checklist_image_eol")
    old = found["checklist image node:20-alpine"]
    assert old.status == "warn"
    assert old.observed.startswith(
        "checklist asks node:20-alpine — node:20: Node.js 20 past end of life since 2026-04-30, use node:22+"
    )
    assert found["checklist image node:22-alpine"].status == "pass"
    assert found["checklist image acme/app:1"].status == "skip"


def test_eol_table_refreshed_from_a_file(tmp_path):
    (tmp_path / "eol.yaml").write_text(
        "as_of: 2026-12-15\nsources: [https://example.test/eol]\nproducts:\n"
        "  node:\n    cycles:\n      '22': {eol: 2026-10-01}\n"
        "  ruby:\n    title: Ruby\n    images: [ruby]\n    cycles:\n"
        "      '3.1': {eol: 2025-03-31}\n      '3.4': 2028-03-31\n"
    )
    env = env_params(
        tmp_path, "containers:\n  eol_table: eol.yaml\n  checklist_images: [node:22-alpine, ruby:3.1-slim, node:20]\n"
    )
    found = by(containers.audit(env, today=TODAY).findings, "containers.checklist_image_eol")
    assert found["checklist image node:22-alpine"].status == "warn"  # the file moved its date
    assert "since 2026-10-01, use node:24+" in found["checklist image node:22-alpine"].observed
    assert "EOL table as of 2026-12-15" in found["checklist image node:22-alpine"].observed
    assert (
        "Ruby 3.1 past end of life since 2025-03-31, use ruby:3.4+" in found["checklist image ruby:3.1-slim"].observed
    )
    assert "since 2026-04-30" in found["checklist image node:20"].observed  # bundled cycles are kept
    (tmp_path / "bad.yaml").write_text("products:\n  node:\n    cycles:\n      '22': {eol: someday}\n")
    bad = env_params(tmp_path, "containers:\n  eol_table: bad.yaml\n  checklist_images: [node:22]\n")
    [error] = by(containers.audit(bad, today=TODAY).findings, "containers.base_image_eol").values()
    assert error.status == "error" and "not a date" in error.observed


def scripts_short(found: dict) -> dict:
    """Script targets name the script's folder too (the pytest folder here): keep the file name."""
    import re

    return {re.sub(r"^script .*/", "script ", k): f for k, f in found.items()}


def test_secrets_passed_as_build_args(tmp_path):
    token = "npm_" + "Qz8vN2mK7rT4wX9pL3sB6yH1cD5fG0jK2aE4"
    key = "sk_live_" + "51Hx9ZqLm2Vb7Rt4Kp8Wd3Yh6Jc1Fs5Gn0Ue"
    write(tmp_path / "web" / "Dockerfile", "FROM node:22-alpine\nARG NODE_ENV=production\nARG NPM_TOKEN\nUSER node\n")
    write(
        tmp_path / "compose.yml",
        f"""
        services:
          web:
            build:
              context: ./web
              args:
                NODE_ENV: production
                NPM_TOKEN: ${{NPM_TOKEN}}
          api:
            build:
              context: ./web
              args: ["BUILD_REF={key}", "VERSION=1.4.2"]
          plain: {{build: {{context: ./web, args: {{VERSION: "2"}}}}, image: x}}
        """,
    )
    write(
        tmp_path / "build.sh",
        f"""
        #!/bin/sh
        docker build --build-arg VERSION=1.4.2 \\
          --build-arg GITHUB_TOKEN="$GITHUB_TOKEN" -t app .
        docker buildx build --build-arg=SENTRY_AUTH_TOKEN --build-arg CACHE_BUST={token} .
        """,
    )
    write(
        tmp_path / "ci.yml",
        """
        jobs:
          build:
            steps:
              - uses: docker/build-push-action@v6
                with:
                  push: true
                  build-args: |
                    VERSION=${{ github.sha }}
                    STRIPE_KEY=${{ secrets.STRIPE_KEY }}
                    SENTRY_DSN=${{ secrets.SENTRY }}
                  tags: app:latest
        """,
    )
    env = env_params(
        tmp_path,
        """
        containers:
          compose_files: [compose.yml]
          dockerfiles: [web/Dockerfile]
          scripts: [build.sh, ci.yml, missing.sh]
        commands:
          commands:
            - {name: image, run: "docker build --build-arg API_KEY=$API_KEY ."}
            - {name: tests, run: [pytest, -q]}
        """,
    )
    found = scripts_short(by(containers.audit(env, today=TODAY).findings, "containers.build_args"))
    web = found["service web"].observed
    assert found["service web"].status == "fail"
    assert "NPM_TOKEN (build.args, secret name)" in web and "NPM_TOKEN (ARG line 3, secret name)" in web
    assert "NODE_ENV" not in web
    assert "BUILD_REF (build.args, secret-looking value)" in found["service api"].observed
    assert found["Dockerfile web/Dockerfile"].status == "fail"
    script = found["script build.sh"].observed
    assert "GITHUB_TOKEN (line 4, secret name)" in script and "SENTRY_AUTH_TOKEN (line 5, secret name)" in script
    assert "CACHE_BUST (line 5, secret-looking value)" in script and "VERSION" not in script
    ci = found["script ci.yml"].observed
    assert "STRIPE_KEY (line 10, secret name)" in ci
    assert "SENTRY_DSN (line 11, secret name)" in ci and "VERSION" not in ci
    assert found["script missing.sh"].status == "error"
    assert "API_KEY (line 1, secret name)" in found["command image"].observed
    assert "command tests" not in found
    blob = str([f.model_dump() for f in containers.audit(env, today=TODAY).findings])
    assert token not in blob and key not in blob and token[4:16] not in blob


def test_clean_build_args_pass(tmp_path):
    write(tmp_path / "web" / "Dockerfile", "FROM node:22-alpine\nARG NODE_ENV=production\nUSER node\n")
    write(tmp_path / "compose.yml", "services:\n  web: {build: {context: ./web, args: {NODE_ENV: production}}}\n")
    write(tmp_path / "build.sh", "docker build --build-arg NODE_ENV=production --secret id=npm,env=NPM_TOKEN .\n")
    env = env_params(tmp_path, "containers:\n  compose_files: [compose.yml]\n  scripts: [build.sh]\n")
    found = scripts_short(by(containers.audit(env, today=TODAY).findings, "containers.build_args"))
    assert {k: f.status for k, f in found.items()} == {"service web": "pass", "script build.sh": "pass"}


def test_base_image_versions_given_as_build_arguments(tmp_path):
    """`ARG NODE_VERSION=20` + `FROM node:${NODE_VERSION}-alpine`; compose build.args override the default."""
    write(
        tmp_path / "app" / "Dockerfile",
        "# syntax=docker/dockerfile:1\nARG NODE_VERSION=20\nARG ALPINE=3.22\n"
        "FROM node:${NODE_VERSION}-alpine${ALPINE} AS build\nFROM node:$NODE_VERSION-alpine\nUSER node\n",
    )
    write(
        tmp_path / "compose.yml",
        """
        services:
          default: {build: ./app}
          newer: {build: {context: ./app, args: {NODE_VERSION: "24"}}}
          listed: {build: {context: ./app, args: ["NODE_VERSION=18"]}}
          unset: {build: {context: ./app, args: {NODE_VERSION: "${FROM_CI}"}}}
        """,
    )
    env = env_params(tmp_path, "containers:\n  compose_files: [compose.yml]\n  dockerfiles: [app/Dockerfile]\n")
    found = by(containers.audit(env, today=TODAY).findings, "containers.base_image_eol")
    assert found["service default"].status == "fail" and "node:20: Node.js 20 past" in found["service default"].observed
    assert "alpine3.22: Alpine Linux 3.22 supported" in found["service default"].observed
    assert found["service newer"].status == "pass" and "Node.js 24" in found["service newer"].observed
    assert "Node.js 18 past end of life since 2025-04-30" in found["service listed"].observed
    assert "Node.js 20" in found["service unset"].observed  # an unresolved override keeps the default
    assert found["Dockerfile app/Dockerfile"].status == "fail"


def test_unreadable_compose_and_dockerfile_in_plain_words(tmp_path):
    (tmp_path / "binary.yml").write_bytes(b"services:\n  a: {image: \xff\xfe}\n")
    (tmp_path / "deep.yml").write_text("services: " + "[" * 20000 + "]" * 20000 + "\n")
    for name, words in (("binary.yml", "not UTF-8 text"), ("deep.yml", "nested deeper")):
        [found] = containers.run(env_for(tmp_path, [name]))
        assert found.check_id == "containers.compose" and found.status == "error"
        assert words in found.observed and "Error" not in found.observed
