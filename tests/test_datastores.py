"""The datastores area against real redis-server and PostgreSQL on 127.0.0.1, and statically."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from harden_lib.checks import datastores
from harden_lib.checks.datastores import (
    DatastoresParams,
    PostgresTarget,
    RedisTarget,
    check_postgres,
    check_redis,
    check_redis_conf,
    parse_redis_conf,
)
from harden_lib.environment import load_environment
from harden_lib.findings import Finding, Severity, Status
from tests import datastore_servers as servers

ROOT = Path(__file__).resolve().parent.parent
STRONG = secrets.token_urlsafe(32)
STRONG_PG = secrets.token_urlsafe(32)
WEAK = "password1"


def by_id(findings: list[Finding]) -> dict[str, Finding]:
    out: dict[str, Finding] = {}
    for f in findings:
        assert f.check_id not in out, f"duplicate {f.check_id}"
        out[f.check_id] = f
    return out


def statuses(findings: list[Finding]) -> dict[str, str]:
    return {f.check_id.removeprefix("datastores."): f.status.value for f in findings}


def assert_no_secret(findings: list[Finding], *values: str) -> None:
    blob = json.dumps([f.model_dump(mode="json") for f in findings])
    for value in values:
        assert value not in blob


# --------------------------------------------------------------------------- servers


@pytest.fixture(scope="session")
def redis_good(tmp_path_factory):
    server = servers.start_redis(
        tmp_path_factory.mktemp("redis-good"),
        {
            "requirepass": STRONG,
            "maxmemory": "64mb",
            "maxmemory-policy": "allkeys-lru",
            "appendonly": "yes",
            "protected-mode": "yes",
        },
    )
    yield server
    servers.stop(server.proc)


@pytest.fixture(scope="session")
def redis_open(tmp_path_factory):
    server = servers.start_redis(
        tmp_path_factory.mktemp("redis-open"), {"appendonly": "no", "protected-mode": "no", "maxmemory": "0"}
    )
    yield server
    servers.stop(server.proc)


@pytest.fixture(scope="session")
def pg_tls(pki):
    with servers.postgres(pki, ssl=True) as server:
        servers.admin_sql(
            server,
            f"CREATE ROLE app_ok LOGIN PASSWORD '{STRONG_PG}'",
            f"CREATE ROLE app_super LOGIN SUPERUSER CREATEROLE CREATEDB PASSWORD '{WEAK}'",
            f"CREATE ROLE app_md5 LOGIN PASSWORD '{STRONG_PG}'",
            "ALTER ROLE app_md5 SET password_encryption = 'md5'",
            f"CREATE ROLE app_logged LOGIN PASSWORD '{STRONG_PG}'",
            "ALTER ROLE app_logged SET log_statement = 'all'",
        )
        yield server


PGAUDIT_SETTINGS = (
    "shared_preload_libraries = 'pgaudit'",
    "log_connections = on",
    "log_disconnections = true",
    "log_statement = 'mod'",
    "pgaudit.log = 'all, -misc, -read'",
)


@pytest.fixture(scope="session")
def pg_audit():
    """A server with connection logging and pgaudit loaded (package postgresql-<major>-pgaudit)."""
    bindir = servers.postgres_bin()
    if bindir is None or not list(bindir.parent.glob("lib/pgaudit.so")):
        servers.missing("the pgaudit extension is not installed (apt-get install postgresql-15-pgaudit)")
    with servers.postgres(None, ssl=False, settings=PGAUDIT_SETTINGS) as server:
        servers.admin_sql(server, f"CREATE ROLE app_ok LOGIN PASSWORD '{STRONG_PG}'")
        yield server


@pytest.fixture(scope="session")
def pg_plain():
    # pgaudit.log without the library loaded: postgresql.conf accepts it as a mere placeholder.
    with servers.postgres(None, ssl=False, settings=("pgaudit.log = 'ddl, role'",)) as server:
        servers.admin_sql(server, f"CREATE ROLE app_ok LOGIN PASSWORD '{STRONG_PG}'")
        yield server


# --------------------------------------------------------------------------- Redis, live


def test_redis_good_server_passes(redis_good):
    found = check_redis(RedisTarget(name="cache", url=redis_good.url, maxmemory_policies=["allkeys-lru"]))
    assert statuses(found) == {
        "redis.tls": "skip",
        "redis.password": "pass",
        "redis.connect": "pass",
        "redis.auth_required": "pass",
        "redis.maxmemory": "pass",
        "redis.maxmemory_policy": "pass",
        "redis.appendonly": "pass",
        "redis.protected_mode": "pass",
        "redis.bind": "pass",
        "redis.version": "pass",
    }
    found_by = by_id(found)
    assert "NOAUTH" in found_by["datastores.redis.auth_required"].observed.upper() or "auth" in (
        found_by["datastores.redis.auth_required"].observed.lower()
    )
    assert found_by["datastores.redis.maxmemory"].observed.endswith(str(64 * 1024 * 1024))
    assert found_by["datastores.redis.version"].observed.startswith("redis_version ")
    assert found_by["datastores.redis.tls"].target == f"redis cache @ 127.0.0.1:{redis_good.port}"
    assert_no_secret(found, STRONG)


def test_redis_open_server_fails(redis_open):
    target = RedisTarget(name="open", url=redis_open.url, require_tls=True, appendonly="required")
    found = statuses(check_redis(target))
    assert found["redis.auth_required"] == "fail"
    assert found["redis.tls"] == "fail"
    assert found["redis.password"] == "skip"
    assert found["redis.maxmemory"] == "fail"
    assert found["redis.appendonly"] == "fail"
    assert found["redis.protected_mode"] == "fail"


def test_redis_wrong_password_is_an_error_without_the_password(redis_good):
    wrong = secrets.token_urlsafe(24)
    url = f"redis://:{wrong}@127.0.0.1:{redis_good.port}/0"
    found = check_redis(RedisTarget(url=url))
    connect = by_id(found)["datastores.redis.connect"]
    assert connect.status is Status.ERROR and "invalid" in connect.observed.lower()
    assert "AuthenticationError" not in connect.observed, "no driver class names in what users read"
    assert "datastores.redis.maxmemory" not in by_id(found)  # nothing else ran live
    assert_no_secret(found, wrong)


def test_redis_unreachable_is_a_quick_error():
    port = servers.free_port()
    start = time.monotonic()
    found = check_redis(RedisTarget(url=f"redis://:{STRONG}@127.0.0.1:{port}/0"), timeout=1)
    assert time.monotonic() - start < 5
    connect = by_id(found)["datastores.redis.connect"]
    assert connect.status is Status.ERROR and "could not connect" in connect.observed
    assert "refused" in connect.observed.lower() and "ConnectionError" not in connect.observed
    assert_no_secret(found, STRONG)


def test_redis_url_from_env_file(redis_good, tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text(f"REDIS_URL={redis_good.url}\n")
    found = by_id(check_redis(RedisTarget(url_key="REDIS_URL"), env_file))
    assert found["datastores.redis.auth_required"].status is Status.PASS
    assert found["datastores.redis.password"].observed.startswith("password in app.env:REDIS_URL: present, 43 chars")
    missing = by_id(check_redis(RedisTarget(url_key="NOPE"), env_file))
    assert missing["datastores.redis.url"].status is Status.ERROR
    assert "NOPE is absent" in missing["datastores.redis.url"].observed


def assert_catalogued(findings: list[Finding]) -> None:
    """Each finding is explained by its own datastores catalog entry, with links to read."""
    from harden_lib.catalog import catalog

    for f in findings:
        spec = catalog().lookup(f.check_id)
        assert (spec.id, spec.area, f.area) == (f.check_id, "datastores", "datastores")
        assert any("<https://" in r for r in f.references), f.check_id
        assert (f.severity is spec.severity) == (f.severity_reason == ""), (f.check_id, f.severity_reason)


@pytest.fixture(scope="session")
def redis_no_config(tmp_path_factory):
    """A server whose only user may not run CONFIG (an ACL, not a renamed command): settings unknown."""
    server = servers.start_redis(
        tmp_path_factory.mktemp("redis-acl"),
        {"user": f"default on >{STRONG} ~* &* +@all -config", "maxmemory": "32mb"},
    )
    yield servers.RedisServer(server.port, STRONG, server.proc, server.folder)
    servers.stop(server.proc)


def test_redis_config_get_refused_is_an_error_per_setting_at_medium(redis_no_config):
    target = RedisTarget(name="acl", url=redis_no_config.url, min_version="99.1")
    found = check_redis(target)
    found_by = by_id(found)
    settings = ["maxmemory", "maxmemory_policy", "appendonly", "protected_mode", "bind"]
    for name in settings:
        f = found_by[f"datastores.redis.{name}"]
        assert (f.status, f.severity) == (Status.ERROR, Severity.MEDIUM), name
        assert "CONFIG GET failed" in f.observed and "+config|get" in f.remediation
    # The catalog rates the policy and bind checks low: the error's severity says why it is higher.
    assert found_by["datastores.redis.bind"].severity_reason.startswith("CONFIG GET failed")
    assert found_by["datastores.redis.maxmemory"].severity_reason == ""
    assert found_by["datastores.redis.auth_required"].status is Status.PASS, "AUTH still refused without it"
    old = found_by["datastores.redis.version"]
    assert (old.status, old.severity, old.expected) == (Status.WARN, Severity.LOW, "99.1 or newer")
    connect = found_by["datastores.redis.connect"]
    assert (connect.status, connect.severity) == (Status.PASS, Severity.INFO) and connect.severity_reason
    assert connect.remediation == "", "a pass has nothing to fix"
    assert_catalogued(found)
    assert_no_secret(found, STRONG)


# --------------------------------------------------------------------------- Redis, static


GOOD_CONF = f"""
# comment
port 0
tls-port 6380
bind 10.0.0.5 127.0.0.1
requirepass "{STRONG}"
maxmemory 1gb
maxmemory-policy noeviction
appendonly yes
rename-command FLUSHALL ""
rename-command FLUSHDB ""
rename-command CONFIG ""
rename-command DEBUG ""
rename-command KEYS ""
rename-command SHUTDOWN SHUTDOWN_b8c1
"""


def test_redis_conf_good(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text(GOOD_CONF)
    target = RedisTarget(config_file=conf, require_tls=True, maxmemory_policies=["noeviction"])
    found = check_redis_conf(conf, target)
    assert set(statuses(found).values()) == {"pass"}, statuses(found)
    assert parse_redis_conf(conf).settings["requirepass"] == STRONG
    assert_no_secret(found, STRONG)


def test_redis_conf_bad_and_acl(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text("protected-mode no\nappendonly no\nrequirepass foobared\n")
    found = statuses(check_redis_conf(conf, RedisTarget(config_file=conf, maxmemory_policies=["allkeys-lru"])))
    assert found["redis.auth_required"] == "pass" and found["redis.password"] == "fail"
    assert found["redis.maxmemory"] == "fail" and found["redis.maxmemory_policy"] == "fail"
    assert found["redis.appendonly"] == "warn" and found["redis.protected_mode"] == "fail"
    assert found["redis.bind"] == "warn" and found["redis.dangerous_commands"] == "warn"
    conf.write_text("user default on nopass ~* +@all\n")
    assert statuses(check_redis_conf(conf))["redis.auth_required"] == "fail"
    conf.write_text(f"user default off\nuser app on >{STRONG} ~app:* -@dangerous +@read +@write\n")
    found_acl = check_redis_conf(conf)
    assert statuses(found_acl)["redis.auth_required"] == "pass"
    assert statuses(found_acl)["redis.dangerous_commands"] == "pass"
    assert_no_secret(found_acl, STRONG)


def test_redis_conf_missing_is_error(tmp_path):
    found = check_redis_conf(tmp_path / "nope.conf")
    assert [(f.check_id, f.status) for f in found] == [("datastores.redis.config_file", Status.ERROR)]


# --------------------------------------------------------------------------- PostgreSQL, live


def test_postgres_least_privilege_role_over_tls_passes(pg_tls):
    found = check_postgres(PostgresTarget(name="app", url=pg_tls.url("app_ok", STRONG_PG), audit=None))
    assert statuses(found) == {
        "postgres.sslmode": "pass",
        "postgres.password": "pass",
        "postgres.host_private": "pass",
        "postgres.connect": "pass",
        "postgres.server_ssl": "pass",
        "postgres.role.superuser": "pass",
        "postgres.role.createrole": "pass",
        "postgres.role.createdb": "pass",
        "postgres.password_encryption": "pass",
        "postgres.version": "pass",
    }
    found_by = by_id(found)
    assert "encrypted (TLSv1.3)" in found_by["datastores.postgres.server_ssl"].observed
    assert found_by["datastores.postgres.host_private"].observed == "host 127.0.0.1 is a loopback address"
    assert_no_secret(found, STRONG_PG)


def test_postgres_default_logging_fails_and_absent_pgaudit_is_a_finding(pg_tls):
    """initdb's defaults log neither connections nor statements, and pgaudit is not loaded."""
    found = by_id(check_postgres(PostgresTarget(url=pg_tls.url("app_ok", STRONG_PG))))
    assert found["datastores.postgres.log_connections"].status is Status.FAIL
    assert found["datastores.postgres.log_connections"].observed == "log_connections = off"
    assert found["datastores.postgres.log_disconnections"].status is Status.FAIL
    assert found["datastores.postgres.log_statement"].observed == "log_statement = none"
    assert found["datastores.postgres.log_statement"].status is Status.FAIL
    pgaudit = found["datastores.postgres.pgaudit"]
    assert pgaudit.status is Status.WARN and "not loaded" in pgaudit.observed
    required = by_id(check_postgres(PostgresTarget(url=pg_tls.url("app_ok", STRONG_PG), audit={"pgaudit": "required"})))
    assert required["datastores.postgres.pgaudit"].status is Status.FAIL
    # A per-role setting is what the role's sessions get; expectations are configurable.
    relaxed = by_id(
        check_postgres(
            PostgresTarget(
                url=pg_tls.url("app_logged", STRONG_PG),
                audit={"log_disconnections": None, "log_statement": ["mod", "all"], "pgaudit": "ignore"},
            )
        )
    )
    assert relaxed["datastores.postgres.log_statement"].status is Status.PASS
    assert relaxed["datastores.postgres.log_statement"].observed == "log_statement = all"
    assert "datastores.postgres.log_disconnections" not in relaxed
    assert "datastores.postgres.pgaudit" not in relaxed
    assert_no_secret(list(found.values()) + list(relaxed.values()), STRONG_PG)


def test_postgres_audit_logging_with_pgaudit_loaded(pg_audit):
    found = by_id(check_postgres(PostgresTarget(url=pg_audit.url("app_ok", STRONG_PG, sslmode=None))))
    assert found["datastores.postgres.log_connections"].status is Status.PASS
    assert found["datastores.postgres.log_disconnections"].status is Status.PASS
    assert found["datastores.postgres.log_statement"].status is Status.PASS
    assert found["datastores.postgres.pgaudit"].status is Status.PASS
    assert "pgaudit.log = all, -misc, -read" in found["datastores.postgres.pgaudit"].observed
    # 'all, -misc, -read' does not log reads: asking for them fails and says which class is missing.
    reads = by_id(
        check_postgres(
            PostgresTarget(url=pg_audit.url("app_ok", STRONG_PG, sslmode=None), audit={"pgaudit_log": ["READ", "ddl"]})
        )
    )
    assert reads["datastores.postgres.pgaudit"].status is Status.FAIL
    assert reads["datastores.postgres.pgaudit"].observed.endswith("not logged: READ")
    statement = by_id(
        check_postgres(
            PostgresTarget(url=pg_audit.url("app_ok", STRONG_PG, sslmode=None), audit={"log_statement": ["ddl"]})
        )
    )
    assert statement["datastores.postgres.log_statement"].status is Status.FAIL


def test_pgaudit_setting_without_the_library_is_not_loaded(pg_plain):
    found = by_id(check_postgres(PostgresTarget(url=pg_plain.url("app_ok", STRONG_PG, sslmode=None))))
    assert found["datastores.postgres.pgaudit"].status is Status.WARN
    assert "not loaded" in found["datastores.postgres.pgaudit"].observed


def test_logging_settings_as_postgresql_18_writes_them():
    """PostgreSQL 18 made log_connections a list of aspects ('receipt,authentication' or 'all')."""
    audit = datastores.PostgresAudit(log_statement=[], pgaudit="ignore")
    for value, status in (("receipt,authentication,authorization", "pass"), ("all", "pass"), ("", "fail"),
                          ("off", "fail"), ("on", "pass")):  # fmt: skip
        emit = datastores._Emit("postgres app @ h:5432/db")
        datastores._postgres_audit_findings(emit, {"log_connections": value, "log_disconnections": "on"}, audit)
        assert emit.findings[0].status.value == status, value


def test_pgaudit_classes():
    assert datastores.pgaudit_classes("ddl, role") == {"ddl", "role"}
    assert datastores.pgaudit_classes("ALL,-MISC") == {"read", "write", "function", "role", "ddl", "misc_set"}
    assert datastores.pgaudit_classes("none") == set()


def test_postgres_superuser_role_and_weak_password_fail(pg_tls):
    found = statuses(check_postgres(PostgresTarget(url=pg_tls.url("app_super", WEAK, sslmode="verify-full")),
                                    timeout=2))  # fmt: skip
    # verify-full needs the CA: without it the connection itself fails (and says so).
    assert found["postgres.sslmode"] == "pass" and found["postgres.connect"] == "error"
    everything = check_postgres(PostgresTarget(url=pg_tls.url("app_super", WEAK), min_major_version=99))
    found = statuses(everything)
    assert found["postgres.password"] == "fail"
    assert found["postgres.role.superuser"] == "fail"
    assert found["postgres.role.createrole"] == "fail"
    assert found["postgres.role.createdb"] == "fail"
    assert found["postgres.version"] == "warn"
    found_by = by_id(everything)
    superuser = found_by["datastores.postgres.role.superuser"]
    assert superuser.severity is Severity.CRITICAL and "ALTER ROLE app_super NOSUPERUSER" in superuser.remediation
    assert "ALTER ROLE app_super NOCREATEDB" in found_by["datastores.postgres.role.createdb"].remediation
    assert found_by["datastores.postgres.version"].expected == "99 or newer"
    assert_catalogued(everything)


def test_postgres_verify_full_with_ca(pg_tls, pki):
    url = pg_tls.url("app_ok", STRONG_PG, sslmode="verify-full")
    found = statuses(check_postgres(PostgresTarget(url=url, ca_file=pki.ca_path, min_sslmode="verify-full")))
    assert found["postgres.connect"] == "pass" and found["postgres.server_ssl"] == "pass"


def test_postgres_md5_password_encryption_fails(pg_tls):
    found = by_id(check_postgres(PostgresTarget(url=pg_tls.url("app_md5", STRONG_PG))))
    assert found["datastores.postgres.password_encryption"].status is Status.FAIL
    assert found["datastores.postgres.password_encryption"].observed == "password_encryption = md5"


def test_postgres_without_tls(pg_plain):
    found = by_id(check_postgres(PostgresTarget(url=pg_plain.url("app_ok", STRONG_PG, sslmode=None))))
    assert found["datastores.postgres.sslmode"].status is Status.FAIL
    assert "absent" in found["datastores.postgres.sslmode"].observed
    assert found["datastores.postgres.server_ssl"].status is Status.FAIL
    assert found["datastores.postgres.server_ssl"].observed.startswith("SHOW ssl = off")
    # The URL demands TLS, the server has none: the connection is refused, an error naming why.
    refused = by_id(check_postgres(PostgresTarget(url=pg_plain.url("app_ok", STRONG_PG))))
    assert refused["datastores.postgres.connect"].status is Status.ERROR
    assert "SSL" in refused["datastores.postgres.connect"].observed
    assert_no_secret([*found.values(), *refused.values()], STRONG_PG)


def test_postgres_wrong_password_and_unreachable(pg_tls):
    wrong = secrets.token_urlsafe(24)
    found = by_id(check_postgres(PostgresTarget(url=pg_tls.url("app_ok", wrong))))
    assert found["datastores.postgres.connect"].status is Status.ERROR
    assert "password authentication failed" in found["datastores.postgres.connect"].observed
    assert "OperationalError" not in found["datastores.postgres.connect"].observed
    assert_no_secret(list(found.values()), wrong)
    port = servers.free_port()
    start = time.monotonic()
    gone = by_id(check_postgres(PostgresTarget(url=f"postgresql://a:{wrong}@127.0.0.1:{port}/x?sslmode=require")))
    assert time.monotonic() - start < 5
    assert gone["datastores.postgres.connect"].status is Status.ERROR
    assert_no_secret(list(gone.values()), wrong)


# --------------------------------------------------------------------------- PostgreSQL, static; params; demo


def test_postgres_url_checks_without_connecting():
    url = f"postgres://app:{WEAK}@db.example.com:5432/app?sslmode=prefer"
    found = by_id(check_postgres(PostgresTarget(url=url, connect=False)))
    assert [f.status for f in found.values()] == [Status.FAIL] * 3
    assert "public" in found["datastores.postgres.host_private"].observed
    assert found["datastores.postgres.sslmode"].target == "postgres postgres @ db.example.com:5432/app"
    bad = by_id(check_postgres(PostgresTarget(url="mysql://x@y/z")))
    assert bad["datastores.postgres.url"].status is Status.ERROR


def test_driver_errors_without_a_message_say_what_happened():
    import redis

    assert datastores.error_text(redis.exceptions.TimeoutError()) == "timed out"
    assert datastores.error_text(redis.exceptions.AuthenticationError("")) == "authentication refused"
    assert datastores.error_text(OSError()) == "the driver gave no reason"
    first_line = datastores.error_text(ValueError("bad dsn postgres://u:pw-Zq81@h/db\nsecond line"))
    assert first_line == "bad dsn postgres://u:[REDACTED]@h/db"


def test_params_shape_and_errors():
    with pytest.raises(ValidationError, match="either 'url' or 'url_key'"):
        PostgresTarget(url="postgresql://h/db", url_key="DATABASE_URL")
    with pytest.raises(ValidationError, match="'url', 'url_key' or 'config_file'"):
        RedisTarget()
    with pytest.raises(ValidationError):
        DatastoresParams.model_validate({"redis": [{"url_key": "X", "tls": True}]})
    assert statuses(datastores.check_datastores(DatastoresParams())) == {"configured": "skip"}


def test_demo_shows_pass_fail_warn_statically():
    env = load_environment(ROOT / "params" / "demo.yaml")
    found = datastores.run(env)
    assert {f.status for f in found} >= {Status.PASS, Status.FAIL, Status.WARN}
    key = {(f.check_id, f.target): f.status for f in found}
    assert key[("datastores.redis.auth_required", "redis cache @ redis.conf")] is Status.FAIL
    assert key[("datastores.redis.appendonly", "redis cache @ redis.conf")] is Status.WARN
    assert key[("datastores.redis.maxmemory", "redis cache @ redis.conf")] is Status.PASS
    assert key[("datastores.postgres.sslmode", "postgres app @ db.internal:5432/dstream")] is Status.PASS
    analytics = "postgres analytics @ analytics-db.stream.example.com:5432/analytics"
    assert key[("datastores.postgres.host_private", analytics)] is Status.FAIL
    assert key[("datastores.postgres.password", analytics)] is Status.FAIL
    assert_no_secret(found, "Str3am2024", "-AmO8MDVrh0ef9NY5TJMuJhY", "MtKl3UAymRyY2jct-gv4m-_LBxCmavDk")
    assert not datastores.check_matrix(found).empty


def test_missing_binaries_skip_locally_but_fail_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but redis-server is not installed"):
        servers.missing("redis-server is not installed")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="make services"):
        servers.missing("redis-server is not installed")


def test_redis_conf_not_utf8_is_error_in_plain_words(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_bytes(b"requirepass \xff\xfe\n")
    [found] = check_redis_conf(conf)
    assert found.status is Status.ERROR and "not UTF-8 text" in found.observed and "Error" not in found.observed
