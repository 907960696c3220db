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
    spec_ids = {s.id for s in catalog().for_area("containers")} - {"containers.execution"}
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
