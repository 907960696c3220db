"""Leak test across a whole run: planted canary secrets must appear in no file the run writes.

Canaries go everywhere a secret can enter: env-file values (plain and as a URL password), a
``${VAR}`` interpolated into a param, an Authorization header the config sends, a password in
a scanned URL, a secret-like value committed to the scanned repository, and the demo
server's cookies. Every area that exists runs.
"""

from __future__ import annotations

import secrets
import string
import subprocess
import textwrap
from pathlib import Path

import pytest

from harden_lib import cli
from harden_lib.demo import running_demo

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


def canary(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


@pytest.fixture(scope="module")
def leaky_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("leaky")
    planted = {
        "env_secret": canary("CanaryEnvSecret"),
        "db_password": canary("CanaryDbPass"),
        "redis_password": canary("CanaryRedis"),
        "staging_secret": canary("CanaryStaging"),
        "token": canary("CanaryBearerToken"),
        "url_password": canary("CanaryUrlPass"),
        "repo_secret": canary("CanaryRepoSecret"),
        "compose_password": canary("CanaryCompose"),
        "redis_conf_password": canary("CanaryRedisConf"),
        "pg_live_password": canary("CanaryPgLive"),
    }
    shared = canary("CanarySharedAcrossEnvs")
    planted["shared"] = shared
    (work / "canary.env").write_text(
        textwrap.dedent(f"""\
        NODE_ENV=production
        NEXTAUTH_SECRET={planted["env_secret"]}
        SESSION_SECRET={shared}
        DATABASE_URL=postgres://app:{planted["db_password"]}@db.internal:5432/app
        REDIS_URL=redis://:{planted["redis_password"]}@redis.internal:6379/0
        CORS_ORIGINS=*
        this line is broken {planted["env_secret"]}
        """)
    )
    (work / "redis.conf").write_text(f"requirepass {planted['redis_conf_password']}\n")
    (work / "canary-staging.env").write_text(f"NEXTAUTH_SECRET={planted['staging_secret']}\nSESSION_SECRET={shared}\n")
    repo = work / "repo"
    repo.mkdir()
    (repo / "config.py").write_text(f'API_PASSWORD = "{planted["repo_secret"]}"\n')
    (repo / "docker-compose.yml").write_text(
        f"services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: {planted['compose_password']}\n"
    )
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    params = work / "params"
    params.mkdir()
    (params / "leaky.yaml").write_text(
        textwrap.dedent(f"""\
        extends: {ROOT / "params" / "demo.yaml"}
        environment: leaky
        http:
          headers:
            Authorization: "Bearer ${{HARDEN_CANARY_TOKEN}}"
        headers:
          urls: ["/", "https://auditor:{planted["url_password"]}@127.0.0.1:9/"]
        config:
          env_file: ../canary.env
        datastores:
          timeout: 1
          redis:
            - {{name: cache, url_key: REDIS_URL, config_file: ../redis.conf, connect: false}}
          postgres:
            - {{name: app, url: "postgresql://app:{planted["pg_live_password"]}@127.0.0.1:9/app"}}
        secrets:
          repo_path: ../repo
          exclude: []
          env_files:
            staging: ../canary-staging.env
        """)
    )
    planted.update({f"cookie_{k}": v for k, v in running_demo().secret_values().items()})
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(work)
        patch.setenv("HARDEN_CANARY_TOKEN", planted["token"])
        code = cli.main(["run", "--env", "leaky", "--reports", "reports", "--params-dir", "params"])
    return code, work / "reports", planted


def test_the_run_completed_with_every_area(leaky_run):
    code, reports, _ = leaky_run
    assert code == 1
    run_dir = (reports / "leaky" / "latest").resolve()
    for area in ("config", "headers", "secrets", "datastores", "operations", "summary"):
        assert (run_dir / f"{area}.html").is_file(), area
        assert (run_dir / f"{area}.ipynb").is_file(), area
    assert list((run_dir / "logs").glob("*.log"))


def test_no_canary_in_any_file_the_run_writes(leaky_run, capfd):
    _, reports, planted = leaky_run
    files = [p for p in reports.rglob("*") if p.is_file()]
    assert len(files) > 15
    leaks = []
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        leaks += [(name, str(path.relative_to(reports))) for name, value in planted.items() if value in text]
    assert not leaks, f"canary secrets leaked: {leaks}"


def test_no_canary_in_console_output(leaky_run, capfd):
    _, _, planted = leaky_run
    out, err = capfd.readouterr()
    for value in planted.values():
        assert value not in out and value not in err


def test_the_canaries_were_really_seen(leaky_run):
    """Guard against a vacuous pass: the checks did examine the planted secrets."""
    import json

    _, reports, _ = leaky_run
    findings = json.loads((reports / "leaky" / "latest" / "findings.json").read_text())["findings"]
    by = {(f["check_id"], f["status"]) for f in findings}
    assert ("secrets.env.shared", "fail") in by  # SESSION_SECRET is shared with staging
    assert ("secrets.repo.literal", "fail") in by
    assert ("secrets.repo.committed_secret", "fail") in by
    assert any(f["check_id"] == "headers.fetch" and f["status"] == "error" for f in findings)
