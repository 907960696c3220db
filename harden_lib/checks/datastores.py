"""Datastores: Redis and PostgreSQL, checked on the live server and from their configuration.

A datastore reachable without a password, a database role that may create roles, or a
connection URL that lets the driver fall back to plain text undoes the application's own
controls: whoever reaches the network path owns the data. The checklists ask for the same few
things, so they are checked here with the real client libraries (``redis`` and ``psycopg``)
and, when the audit has no network path, statically from ``redis.conf`` and the URL::

    datastores:
      timeout: 3                          # seconds per connect / command (kept short)
      redis:
        - name: cache
          url_key: REDIS_URL              # read from config.env_file (or env_file: below)
          # url: ${REDIS_URL}             # … or from the process environment
          config_file: ../deploy/redis.conf   # static checks when there is no network path
          connect: true                   # false: only the URL and config_file are examined
          require_tls: true
          appendonly: required            # required (fail) | advisory (warn) | ignore
      postgres:
        - name: app
          url_key: DATABASE_URL
          min_sslmode: require            # require | verify-ca | verify-full
          connect: true
          audit:                          # live query of the logging settings (null: not checked)
            log_connections: true
            log_disconnections: true
            log_statement: [ddl, mod, all]
            pgaudit: advisory             # required (fail when not loaded) | advisory (warn) | ignore
            pgaudit_log: [ddl, role]      # classes pgaudit.log must cover

Findings (area ``datastores``; target ``<kind> <name> @ <host:port or file>``):

Redis — ``datastores.redis.url`` (error when the URL cannot be had), ``.connect`` (error when
the server cannot be reached: no live check then runs), ``.auth_required`` (an unauthenticated
connection is refused with NOAUTH; statically: ``requirepass`` or ACL users), ``.password``
(strength, by shape only), ``.tls``, ``.maxmemory``, ``.maxmemory_policy``, ``.appendonly``,
``.protected_mode``, ``.bind``, ``.dangerous_commands`` (static only), ``.version`` (live only).

PostgreSQL — ``datastores.postgres.url``, ``.sslmode`` (the URL demands TLS),
``.password`` (strength), ``.host_private`` (the host is NOT public: a database must not be),
``.connect``, ``.server_ssl`` (``SHOW ssl`` and this session is encrypted),
``.role.superuser``, ``.role.createrole``, ``.role.createdb`` (``pg_roles`` of the application
role), ``.password_encryption`` (``scram-sha-256``), ``.version``, and the audit logging read
from ``pg_settings``: ``.log_connections``, ``.log_disconnections``, ``.log_statement``,
``.pgaudit`` (the extension loaded and ``pgaudit.log`` covering the classes asked for; not loaded
is a finding of its own, never a crash).

Secrets: URL passwords and ``requirepass``/ACL passwords are registered with the scrubber the
moment they are read; every text of every finding is scrubbed; URLs are shown by
``redact_url``; driver error messages are cut to their first line and scrubbed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harden_lib.area import AreaSpec
from harden_lib.catalog import clean_observed, finding, lookup
from harden_lib.checks.config_rules import host_problem, secret_strength
from harden_lib.envfile import load_env_file
from harden_lib.errors import HardenError
from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import redact_url, register_secret, scrub

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.environment import Environment

#: libpq's sslmode values, weakest first; ``prefer`` is libpq's default when none is given.
SSLMODES: tuple[str, ...] = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
#: Commands an attacker with a connection uses first; renaming/disabling them is defence in depth.
DANGEROUS_REDIS_COMMANDS: tuple[str, ...] = ("FLUSHALL", "FLUSHDB", "CONFIG", "DEBUG", "KEYS", "SHUTDOWN")

#: Why a passing connectivity check is informational (what matters is the checks it enables).
_INFO = "a working connection: informational, the checks it enables carry the weight"


# --------------------------------------------------------------------------- params


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Target(_Strict):
    """Where a datastore's connection URL comes from (never written into params as a literal)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", description="label used in findings")
    url: str | None = Field(None, description="connection URL, normally ${VAR} from the process environment")
    url_key: str | None = Field(None, description="key of the URL in the env file (config.env_file by default)")
    env_file: Path | None = Field(None, description="env file holding url_key (default: config.env_file)")
    connect: bool = Field(True, description="connect to the server (false: examine the URL/config only)")
    ca_file: Path | None = Field(None, description="PEM CA bundle to verify the server's TLS certificate")
    min_password_length: int = Field(24, ge=8, le=256)
    min_password_entropy_bits: float = Field(100, ge=0, le=1024)

    @model_validator(mode="after")
    def _one_url_source(self) -> _Target:
        if self.url and self.url_key:
            raise ValueError("give either 'url' or 'url_key', not both")
        return self


class RedisTarget(_Target):
    name: str = Field("redis", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    config_file: Path | None = Field(None, description="redis.conf for static checks (no network path needed)")
    require_tls: bool = Field(False, description="the connection must use TLS (rediss://)")
    appendonly: Literal["required", "advisory", "ignore"] = Field(
        "advisory", description="AOF persistence: required fails, advisory warns, ignore skips (pure caches)"
    )
    maxmemory_policies: list[str] = Field(
        default_factory=list, description="accepted maxmemory-policy values (empty: any, reported)"
    )
    min_version: str = Field("6.2", pattern=r"^\d+(\.\d+){0,2}$", description="oldest acceptable server version")
    check_dangerous_commands: bool = Field(
        True, description="warn when FLUSHALL/CONFIG/DEBUG/… are neither renamed nor disabled (static mode)"
    )

    @model_validator(mode="after")
    def _something_to_check(self) -> RedisTarget:
        if not (self.url or self.url_key or self.config_file):
            raise ValueError("give 'url', 'url_key' or 'config_file'")
        return self


class PostgresAudit(_Strict):
    """What the server must log about connections and statements (checked by live query).

    Connection logging and statement logging are what an incident responder reads first (who
    connected from where, which DDL ran); the checklists ask for them and for pgaudit where a
    regulator wants session/object audit trails. Each expectation can be relaxed per target.
    """

    log_connections: bool | None = Field(True, description="expected value of log_connections (null: not checked)")
    log_disconnections: bool | None = Field(
        True, description="expected value of log_disconnections (null: not checked)"
    )
    log_statement: list[Literal["none", "ddl", "mod", "all"]] = Field(
        default_factory=lambda: ["ddl", "mod", "all"],
        description="accepted log_statement values (empty: not checked)",
    )
    pgaudit: Literal["required", "advisory", "ignore"] = Field(
        "advisory", description="pgaudit loaded: required fails when absent, advisory warns, ignore skips"
    )
    pgaudit_log: list[str] = Field(
        default_factory=lambda: ["ddl", "role"],
        description="pgaudit.log classes that must be covered (read, write, function, role, ddl, misc, misc_set)",
    )


class PostgresTarget(_Target):
    name: str = Field("postgres", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    min_sslmode: Literal["require", "verify-ca", "verify-full"] = Field(
        "require", description="weakest sslmode the URL may use"
    )
    min_major_version: int = Field(14, ge=9, le=100, description="oldest supported major version")
    audit: PostgresAudit | None = Field(
        default_factory=PostgresAudit,
        description="connection/statement/pgaudit logging expectations (null: not checked)",
    )

    @model_validator(mode="after")
    def _has_url(self) -> PostgresTarget:
        if not (self.url or self.url_key):
            raise ValueError("give 'url' or 'url_key'")
        return self


class DatastoresParams(_Strict):
    """The ``datastores:`` section of an environment's params."""

    timeout: float = Field(3.0, gt=0, le=30, description="seconds per connect and per command")
    redis: list[RedisTarget] = Field(default_factory=list)
    postgres: list[PostgresTarget] = Field(default_factory=list)


# --------------------------------------------------------------------------- helpers


@dataclass
class _Emit:
    """Collects one datastore's findings under a shared target label (``redis cache @ host:port``).

    The label changes once the URL is read (``emit.target = …``), so it is kept here rather
    than repeated at every call; the findings themselves come from ``catalog.finding``.
    """

    target: str
    findings: list[Finding] = field(default_factory=list)

    def __call__(self, check_id: str, status: Status, observed: str = "", **details: Any) -> None:
        """``details``: ``catalog.finding``'s keywords (expected, remediation, title, severity …)."""
        self.findings.append(finding(check_id, status, scrub(self.target), observed, **details))


#: What a driver error without a message means, by a word of its class name (never shown itself).
_ERROR_KINDS = (
    ("Timeout", "timed out"),
    ("Authentication", "authentication refused"),
    ("Connection", "connection failed"),
)


def error_text(exc: BaseException) -> str:
    """A driver error as one short, secret-free line (drivers may echo DSNs and user names).

    The drivers' messages say what happened ("Connection refused", "password authentication
    failed"); their class names (``AuthenticationError``, ``OperationalError``) are internals a
    reader of the report cannot act on, so they are not shown.
    """
    first = (str(exc).strip().splitlines() or [""])[0]
    first = re.sub(r"\b[a-z][a-z0-9+.\-]*://\S+", lambda m: redact_url(m.group(0)), first)
    if not first:
        name = type(exc).__name__
        first = next((text for word, text in _ERROR_KINDS if word in name), "the driver gave no reason")
    return scrub(first[:300])


def _register_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        register_secret(parts.password)
        for values in parse_qs(parts.query).values():  # e.g. ?password=… (libpq accepts it)
            for value in values:
                if len(value) >= 8:
                    register_secret(value)
    except ValueError:
        pass


def resolve_url(target: _Target, default_env_file: Path | None) -> tuple[str | None, str, str | None]:
    """(url, where it came from, problem). The URL's password is registered before anything else."""
    if target.url:
        _register_url(target.url)
        return target.url, "params url", None
    if not target.url_key:
        return None, "", None
    env_file = target.env_file or default_env_file
    if env_file is None:
        return None, target.url_key, f"url_key {target.url_key} is set but no env file is configured"
    try:
        values = load_env_file(env_file)
    except HardenError as exc:
        return None, f"{Path(env_file).name}:{target.url_key}", str(exc)
    where = f"{values.name}:{target.url_key}"
    url = values.get(target.url_key)
    if not url:
        return None, where, f"{target.url_key} is absent or empty in {values.name}"
    _register_url(url)
    return url, where, None


def _hostport(url: str, default_port: int) -> tuple[str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port or default_port
    except ValueError:
        port = None
    return parts.hostname or "", port


def _label(kind: str, name: str, where: str) -> str:
    return f"{kind} {name} @ {where}"


def _password_finding(emit: _Emit, prefix: str, password: str | None, target: _Target, source: str) -> None:
    if not password:
        emit(f"{prefix}.password", Status.SKIP, f"no password in {source}")
        return
    result = secret_strength(
        password, min_length=target.min_password_length, min_entropy_bits=target.min_password_entropy_bits
    )
    emit(
        f"{prefix}.password",
        Status.PASS if result.ok else Status.FAIL,
        f"{source}: {result.description}" + ("" if result.ok else "; " + "; ".join(result.problems)),
        expected=f"at least {target.min_password_length} characters, ~{target.min_password_entropy_bits:.0f} bits",
    )


# --------------------------------------------------------------------------- entry point


def run(env: Environment) -> list[Finding]:
    """The datastores area's findings for one environment (the notebook calls this)."""
    return check_datastores(env.datastores, env.config.env_file)


def check_datastores(params: DatastoresParams, default_env_file: Path | None = None) -> list[Finding]:
    """Every configured Redis and PostgreSQL target; nothing configured is one ``skip``."""
    if not params.redis and not params.postgres:
        emit = _Emit("(no datastores configured)")
        emit(
            "datastores.configured",
            Status.SKIP,
            "datastores.redis and datastores.postgres are empty in this environment's params",
        )
        return emit.findings
    findings: list[Finding] = []
    for redis_target in params.redis:
        findings.extend(check_redis(redis_target, default_env_file, params.timeout))
    for pg_target in params.postgres:
        findings.extend(check_postgres(pg_target, default_env_file, params.timeout))
    return findings


# --------------------------------------------------------------------------- Redis


def check_redis(target: RedisTarget, default_env_file: Path | None = None, timeout: float = 3.0) -> list[Finding]:
    """Static checks of ``config_file`` and of the URL, then live checks when ``connect`` is on."""
    findings: list[Finding] = []
    if target.config_file is not None:
        findings.extend(check_redis_conf(target.config_file, target))
    if not (target.url or target.url_key):
        return findings
    url, source, problem = resolve_url(target, default_env_file)
    emit = _Emit(_label("redis", target.name, source or "(no url)"))
    if url is None:
        emit("datastores.redis.url", Status.ERROR, problem or "no URL")
        return findings + emit.findings
    scheme = urlsplit(url).scheme.lower()
    host, port = _hostport(url, 6379)
    emit.target = _label("redis", target.name, f"{host}:{port}")
    if scheme not in ("redis", "rediss", "unix"):
        emit(
            "datastores.redis.url",
            Status.ERROR,
            f"{source}: scheme {scheme or '(none)'} is not redis:// or rediss://",
            expected="redis://[user:password@]host:port/db or rediss://…",
            remediation="Fix the URL; the application cannot connect with it either.",
        )
        return findings + emit.findings
    tls = scheme == "rediss"
    emit(
        "datastores.redis.tls",
        Status.PASS if tls else (Status.FAIL if target.require_tls else Status.SKIP),
        f"{source} uses {scheme}://" + ("" if tls or target.require_tls else " (TLS not required by params)"),
        expected="rediss:// (TLS)" if target.require_tls else "rediss:// when params require TLS",
    )
    parts = urlsplit(url)
    _password_finding(emit, "datastores.redis", parts.password, target, f"password in {source}")
    if target.connect:
        _redis_live(emit, url, target, timeout)
    return findings + emit.findings


def _redis_client(url: str, timeout: float, target: RedisTarget, *, with_auth: bool = True) -> Any:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    if not with_auth:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        url = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    kwargs: dict[str, Any] = {
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
    }
    if url.startswith("rediss://") and target.ca_file:
        kwargs["ssl_ca_certs"] = str(target.ca_file)
    return redis.Redis.from_url(url, **kwargs)


def _redis_live(emit: _Emit, url: str, target: RedisTarget, timeout: float) -> None:
    import redis

    client = _redis_client(url, timeout, target)
    try:
        try:
            client.ping()
        except (redis.exceptions.RedisError, OSError) as exc:
            emit("datastores.redis.connect", Status.ERROR, f"could not connect within {timeout:g}s: {error_text(exc)}")
            return
        emit("datastores.redis.connect", Status.PASS, "PING answered", severity=Severity.INFO, severity_reason=_INFO)
        _redis_unauthenticated(emit, url, target, timeout)
        settings, problem = _redis_settings(client)
        if problem:
            for check_id in _REDIS_CONFIG_CHECKS:
                emit(
                    check_id,
                    Status.ERROR,
                    problem,
                    expected="CONFIG GET allowed for the audit user",
                    remediation="Give the audit user +config|get, or audit redis.conf statically (config_file).",
                    severity=Severity.MEDIUM,
                    severity_reason="CONFIG GET failed: the setting is unknown, not judged",
                )
        else:
            _redis_settings_findings(emit, settings, target, "CONFIG GET")
        try:
            version = str(client.info("server").get("redis_version", ""))
        except redis.exceptions.RedisError as exc:
            version = ""
            emit("datastores.redis.version", Status.ERROR, f"INFO server failed: {error_text(exc)}")
        if version:
            _redis_version_finding(emit, version, target.min_version)
    finally:
        client.close()


def _redis_unauthenticated(emit: _Emit, url: str, target: RedisTarget, timeout: float) -> None:
    import redis

    check_id = "datastores.redis.auth_required"
    anonymous = _redis_client(url, timeout, target, with_auth=False)
    try:
        anonymous.ping()
    except redis.exceptions.AuthenticationError as exc:
        emit(check_id, Status.PASS, f"refused: {error_text(exc)}")
    except redis.exceptions.ResponseError as exc:
        refused = "NOAUTH" in str(exc).upper() or "AUTH" in str(exc).upper()
        emit(
            check_id,
            Status.PASS if refused else Status.ERROR,
            ("refused: " if refused else "unexpected answer: ") + error_text(exc),
        )
    except (redis.exceptions.RedisError, OSError) as exc:
        emit(check_id, Status.ERROR, f"the unauthenticated probe could not run: {error_text(exc)}")
    else:
        emit(
            check_id,
            Status.FAIL,
            "PING without any credentials was answered: anyone who reaches the port can read and write",
        )
    finally:
        anonymous.close()


#: The checks judged from CONFIG GET (all ``error`` when CONFIG GET is refused).
_REDIS_CONFIG_CHECKS = (
    "datastores.redis.maxmemory",
    "datastores.redis.maxmemory_policy",
    "datastores.redis.appendonly",
    "datastores.redis.protected_mode",
    "datastores.redis.bind",
)


def _redis_settings(client: Any) -> tuple[dict[str, str], str | None]:
    import redis

    settings: dict[str, str] = {}
    try:
        for name in ("maxmemory", "maxmemory-policy", "appendonly", "protected-mode", "bind"):
            settings.update({str(k): str(v) for k, v in client.config_get(name).items()})
    except redis.exceptions.RedisError as exc:
        return {}, f"CONFIG GET failed (renamed, disabled or not permitted): {error_text(exc)}"
    return settings, None


def _redis_settings_findings(emit: _Emit, settings: dict[str, str], target: RedisTarget, source: str) -> None:
    """The same judgement for CONFIG GET answers and for redis.conf (with Redis's defaults)."""
    maxmemory = _memory_bytes(settings.get("maxmemory", "0"))
    emit(
        "datastores.redis.maxmemory",
        Status.PASS if maxmemory else Status.FAIL,
        f"{source}: maxmemory {settings.get('maxmemory', '0 (default)')}"
        + ("" if maxmemory else " — unlimited: Redis grows until the host kills it"),
    )
    policy = settings.get("maxmemory-policy", "noeviction")
    if target.maxmemory_policies:
        ok = policy in target.maxmemory_policies
        status = Status.PASS if ok else Status.FAIL
        expected = "one of " + ", ".join(target.maxmemory_policies)
    else:
        status, expected = Status.PASS, "any policy (none prescribed by params); reported for review"
    emit("datastores.redis.maxmemory_policy", status, f"{source}: maxmemory-policy {policy}", expected=expected)
    appendonly = settings.get("appendonly", "no").lower()
    failed = {"required": Status.FAIL, "advisory": Status.WARN, "ignore": Status.SKIP}[target.appendonly]
    emit(
        "datastores.redis.appendonly",
        Status.PASS if appendonly == "yes" else failed,
        f"{source}: appendonly {appendonly}",
        expected="appendonly yes" + ("" if target.appendonly == "required" else f" ({target.appendonly})"),
    )
    protected = settings.get("protected-mode", "yes").lower()
    emit(
        "datastores.redis.protected_mode",
        Status.PASS if protected == "yes" else Status.FAIL,
        f"{source}: protected-mode {protected}",
    )
    bind = settings.get("bind", "").split()
    wildcard = not bind or any(b.lstrip("-") in ("*", "0.0.0.0", "::", "::*") for b in bind)
    emit(
        "datastores.redis.bind",
        Status.WARN if wildcard else Status.PASS,
        f"{source}: bind {' '.join(bind) or '(not set: all interfaces)'}",
    )


def _memory_bytes(text: str) -> int:
    """Redis memory notation (``64mb``, ``1gb``, ``100000``) in bytes; unreadable is 0."""
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]b?)?\s*", text.lower())
    if not match:
        return 0
    unit = match.group(2) or ""
    factor = {"": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}[unit]
    return int(match.group(1)) * factor


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def _redis_version_finding(emit: _Emit, version: str, minimum: str) -> None:
    ok = _version_tuple(version) >= _version_tuple(minimum)
    emit(
        "datastores.redis.version",
        Status.PASS if ok else Status.WARN,
        f"redis_version {version}",
        expected=f"{minimum} or newer",
    )


# --------------------------------------------------------------------------- redis.conf


@dataclass(frozen=True)
class RedisConf:
    """A parsed redis.conf: the last value of each directive, plus the repeatable ones."""

    path: Path
    settings: dict[str, str] = field(repr=False)
    users: tuple[tuple[str, ...], ...] = field(default=(), repr=False)
    renamed: dict[str, str] = field(default_factory=dict)
    includes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


def parse_redis_conf(path: Path | str) -> RedisConf:
    """Read redis.conf the way Redis does (one directive per line, quoted arguments, last wins).

    ``requirepass`` and ACL ``>password`` values are registered as secrets while reading.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HardenError(f"{path}: redis.conf does not exist") from None
    except UnicodeDecodeError:
        raise HardenError(f"{path}: cannot read redis.conf (not UTF-8 text)") from None
    except OSError as exc:
        raise HardenError(f"{path}: cannot read redis.conf ({exc.strerror or 'input/output error'})") from None
    settings: dict[str, str] = {}
    users: list[tuple[str, ...]] = []
    renamed: dict[str, str] = {}
    includes: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            words = shlex.split(stripped, comments=False, posix=True)
        except ValueError:
            problems.append(f"line {number}: unbalanced quotes")
            continue
        name, args = words[0].lower(), words[1:]
        if name == "requirepass" and args:
            register_secret(args[0])
        if name == "user":
            for rule in args[1:]:
                if rule.startswith(">"):
                    register_secret(rule[1:])
            users.append(tuple(args))
        elif name == "rename-command" and len(args) == 2:
            renamed[args[0].upper()] = args[1]
        elif name == "include" and args:
            includes.append(args[0])
        else:
            settings[name] = " ".join(args)
    return RedisConf(path, settings, tuple(users), renamed, tuple(includes), tuple(problems))


def check_redis_conf(path: Path | str, target: RedisTarget | None = None) -> list[Finding]:
    """The Redis checks judged from a redis.conf (for servers the audit cannot reach)."""
    target = target or RedisTarget(config_file=Path(path))
    emit = _Emit(_label("redis", target.name, Path(path).name))
    try:
        conf = parse_redis_conf(path)
    except HardenError as exc:
        emit("datastores.redis.config_file", Status.ERROR, str(exc))
        return emit.findings
    source = conf.path.name
    note = ""
    if conf.includes:
        note = f" (includes not followed: {', '.join(Path(i).name for i in conf.includes)})"
    emit(
        "datastores.redis.config_file",
        Status.WARN if conf.problems else Status.PASS,
        f"{len(conf.settings)} directives read{note}" + "".join(f"; {p}" for p in conf.problems),
        severity=Severity.LOW,
        severity_reason="the file was read: only the lines listed as problems are in doubt",
    )
    password = conf.settings.get("requirepass") or None
    default_user = next((u for u in conf.users if u and u[0] == "default"), None)
    default_open = default_user is not None and "on" in default_user[1:] and "nopass" in default_user[1:]
    default_off = default_user is not None and "off" in default_user[1:]
    acl_passwords = [r[1:] for u in conf.users for r in u[1:] if r.startswith(">")]
    if default_open:
        status, seen = Status.FAIL, "ACL user default is on with nopass"
    elif password or default_off or (default_user and any(r.startswith((">", "#")) for r in default_user[1:])):
        status, seen = Status.PASS, "requirepass set" if password else "ACL default user requires a password / off"
    elif conf.settings.get("aclfile"):
        status, seen = Status.WARN, "users are defined in an aclfile (not read); no requirepass"
    else:
        status, seen = Status.FAIL, "no requirepass and no ACL users: clients need no password"
    emit(
        "datastores.redis.auth_required",
        status,
        f"{source}: {seen}",
        expected="requirepass set, or ACL users with `user default off`",
    )
    for index, secret in enumerate([password, *acl_passwords] if password else acl_passwords):
        what = "requirepass" if password and index == 0 else "an ACL user password"
        _password_finding(emit, "datastores.redis", secret, target, f"{source}: {what}")
    if target.require_tls:
        tls_only = conf.settings.get("tls-port", "0") not in ("", "0") and conf.settings.get("port") == "0"
        emit(
            "datastores.redis.tls",
            Status.PASS if tls_only else Status.FAIL,
            f"{source}: port {conf.settings.get('port', '6379 (default)')}, "
            f"tls-port {conf.settings.get('tls-port', '(not set)')}",
            expected="tls-port set and port 0 (no plain-text listener)",
            remediation="Set tls-port, tls-cert-file, tls-key-file, tls-ca-cert-file and port 0.",
        )
    _redis_settings_findings(emit, conf.settings, target, source)
    if target.check_dangerous_commands:
        open_commands = [c for c in DANGEROUS_REDIS_COMMANDS if c not in conf.renamed]
        acl_limited = any(any(r.startswith(("-@", "-")) for r in u[1:]) for u in conf.users)
        emit(
            "datastores.redis.dangerous_commands",
            Status.PASS if not open_commands or acl_limited else Status.WARN,
            f"{source}: "
            + (f"not renamed: {', '.join(open_commands)}" if open_commands else "all renamed or disabled")
            + ("; ACL rules deny some commands" if acl_limited else ""),
        )
    return emit.findings


# --------------------------------------------------------------------------- PostgreSQL


def check_postgres(target: PostgresTarget, default_env_file: Path | None = None, timeout: float = 3.0) -> list[Finding]:
    """URL checks (sslmode, password, private host), then live checks when ``connect`` is on."""
    url, source, problem = resolve_url(target, default_env_file)
    emit = _Emit(_label("postgres", target.name, source or "(no url)"))
    parts = urlsplit(url or "")
    if url is None or parts.scheme.lower() not in ("postgres", "postgresql"):
        emit("datastores.postgres.url", Status.ERROR, problem or f"{source}: not a postgres:// or postgresql:// URL")
        return emit.findings
    host, port = _hostport(url, 5432)
    emit.target = _label("postgres", target.name, f"{host}:{port}{parts.path}")
    query = parse_qs(parts.query)
    sslmode = (query.get("sslmode") or [""])[-1].lower()
    effective = sslmode or "prefer"
    known = effective in SSLMODES
    ok = known and SSLMODES.index(effective) >= SSLMODES.index(target.min_sslmode)
    emit(
        "datastores.postgres.sslmode",
        Status.PASS if ok else Status.FAIL,
        f"{source}: sslmode "
        + (sslmode if sslmode else "absent (libpq default prefer: silently falls back to plain text)")
        + ("" if known else " (not a libpq sslmode)"),
        expected=f"sslmode={target.min_sslmode} or stronger (verify-full also checks the server's name)",
        remediation=f"Append ?sslmode={'verify-full' if target.min_sslmode != 'require' else 'require'} "
        "(verify-full with sslrootcert where the CA is private) to the URL.",
    )
    _password_finding(emit, "datastores.postgres", parts.password, target, f"password in {source}")
    reason = host_problem(host)
    emit(
        "datastores.postgres.host_private",
        Status.PASS if reason else Status.FAIL,
        f"host {host} " + (reason if reason else "is a public host name or address"),
    )
    if target.connect:
        _postgres_live(emit, url, target, timeout)
    return emit.findings


def _postgres_live(emit: _Emit, url: str, target: PostgresTarget, timeout: float) -> None:
    import psycopg

    kwargs: dict[str, Any] = {"connect_timeout": max(2, round(timeout)), "autocommit": True}
    if target.ca_file:
        kwargs["sslrootcert"] = str(target.ca_file)
    try:
        conn = psycopg.connect(url, **kwargs)
    except (psycopg.Error, OSError) as exc:
        emit(
            "datastores.postgres.connect",
            Status.ERROR,
            f"could not connect within {max(2, round(timeout))}s: {error_text(exc)}",
        )
        return
    try:
        with conn.cursor() as cur:
            cur.execute(f"SET statement_timeout = {int(timeout * 1000)}")
            cur.execute("SHOW ssl")
            server_ssl = str(cur.fetchone()[0])
            cur.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            row = cur.fetchone()
            session_ssl, session_tls = (bool(row[0]), row[1]) if row else (False, None)
            cur.execute("SHOW password_encryption")
            encryption = str(cur.fetchone()[0])
            cur.execute(
                "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
            )
            role = cur.fetchone()
            cur.execute("SHOW server_version")
            version = str(cur.fetchone()[0])
            logging = _postgres_logging_settings(cur) if target.audit is not None else {}
    except psycopg.Error as exc:
        emit(
            "datastores.postgres.connect",
            Status.ERROR,
            f"a settings query failed: {error_text(exc)}",
            title="The audit can query PostgreSQL's settings",
            expected="SHOW and pg_roles queries answered for the application's role",
            remediation="Check that the application's role may read its own pg_roles row and SHOW settings "
            "(a restrictive proxy or statement_timeout can refuse them).",
        )
        return
    finally:
        conn.close()
    emit(
        "datastores.postgres.connect",
        Status.PASS,
        "connected as the application role, session " + (f"TLS {session_tls}" if session_ssl else "not encrypted"),
        severity=Severity.INFO,
        severity_reason=_INFO,
    )
    emit(
        "datastores.postgres.server_ssl",
        Status.PASS if server_ssl == "on" and session_ssl else Status.FAIL,
        f"SHOW ssl = {server_ssl}; this session is "
        + (f"encrypted ({session_tls})" if session_ssl else "NOT encrypted"),
    )
    name = role[0] if role else "(unknown)"
    for check_id, flag in (
        ("datastores.postgres.role.superuser", 1),
        ("datastores.postgres.role.createrole", 2),
        ("datastores.postgres.role.createdb", 3),
    ):
        has = bool(role[flag]) if role else None
        emit(
            check_id,
            Status.ERROR if has is None else (Status.FAIL if has else Status.PASS),
            f"role {name}: " + ("not found in pg_roles" if has is None else ("yes" if has else "no")),
            remediation=lookup(check_id).remediation.replace("<role>", clean_observed(name, 64)),
        )
    emit(
        "datastores.postgres.password_encryption",
        Status.PASS if encryption == "scram-sha-256" else Status.FAIL,
        f"password_encryption = {encryption}",
    )
    major = _version_tuple(version)[:1]
    ok = bool(major) and major[0] >= target.min_major_version
    emit(
        "datastores.postgres.version",
        Status.PASS if ok else Status.WARN,
        f"server_version {version.split()[0] if version else '(unknown)'}",
        expected=f"{target.min_major_version} or newer",
    )
    if target.audit is not None:
        _postgres_audit_findings(emit, logging, target.audit)


#: The logging settings read by live query. ``pg_settings`` lists only parameters the server
#: knows: a ``pgaudit.log`` written in postgresql.conf while the library is not loaded is a mere
#: placeholder there and is not listed, which is exactly "pgaudit is not active".
_LOGGING_SETTINGS = ("log_connections", "log_disconnections", "log_statement", "pgaudit.log")
_PGAUDIT_CLASSES = ("read", "write", "function", "role", "ddl", "misc", "misc_set")


def _postgres_logging_settings(cur: Any) -> dict[str, str]:
    cur.execute("SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(_LOGGING_SETTINGS),))
    return {str(name): str(setting) for name, setting in cur.fetchall()}


def _pg_bool(value: str | None) -> bool | None:
    """A logging setting read as on/off. PostgreSQL 18 made ``log_connections`` a list of aspects
    (``receipt,authentication,authorization`` or ``all``; ``on`` still accepted): any aspect is on,
    an empty list is off."""
    if value is None:
        return None
    return value.strip().lower() not in ("off", "false", "no", "0", "")


def pgaudit_classes(value: str) -> set[str]:
    """The statement classes a ``pgaudit.log`` value logs (``all`` and ``-class`` exclusions applied)."""
    logged: set[str] = set()
    for word in (w.strip().lower() for w in value.split(",")):
        if not word or word == "none":
            continue
        negated = word.startswith("-")
        name = word.lstrip("-")
        members = set(_PGAUDIT_CLASSES) if name == "all" else {name}
        logged = logged - members if negated else logged | members
    return logged


def _postgres_audit_findings(emit: _Emit, settings: dict[str, str], audit: PostgresAudit) -> None:
    for name, wanted in (("log_connections", audit.log_connections), ("log_disconnections", audit.log_disconnections)):
        if wanted is None:
            continue
        value = settings.get(name)
        actual = _pg_bool(value)
        emit(
            f"datastores.postgres.{name}",
            Status.ERROR if actual is None else (Status.PASS if actual == wanted else Status.FAIL),
            f"{name} = {value}" if value is not None else f"{name} is not visible to the application role",
            expected=f"{name} = {'on' if wanted else 'off'}",
        )
    if audit.log_statement:
        value = settings.get("log_statement")
        emit(
            "datastores.postgres.log_statement",
            Status.ERROR if value is None else (Status.PASS if value in audit.log_statement else Status.FAIL),
            f"log_statement = {value}" if value is not None else "log_statement is not visible to the application role",
            expected="log_statement " + " or ".join(audit.log_statement),
        )
    if audit.pgaudit == "ignore":
        return
    value = settings.get("pgaudit.log")
    if value is None:
        emit(
            "datastores.postgres.pgaudit",
            Status.FAIL if audit.pgaudit == "required" else Status.WARN,
            "the pgaudit extension is not loaded (pgaudit.log is not a known setting of this server)",
            expected="pgaudit in shared_preload_libraries, pgaudit.log covering " + ", ".join(audit.pgaudit_log),
        )
        return
    missing = [c for c in audit.pgaudit_log if c.lower() not in pgaudit_classes(value)]
    emit(
        "datastores.postgres.pgaudit",
        Status.FAIL if missing else Status.PASS,
        f"pgaudit.log = {clean_observed(value, 200)}" + (f"; not logged: {', '.join(missing)}" if missing else ""),
        expected="pgaudit.log covering " + ", ".join(audit.pgaudit_log),
    )


# --------------------------------------------------------------------------- evidence


def datastore_of(finding: Finding) -> str:
    """``redis cache`` from a target ``redis cache @ host:port``."""
    return finding.target.split(" @ ", 1)[0]


def check_matrix(findings: Iterable[Finding]) -> pd.DataFrame:
    """Check × datastore table of statuses: the auditor's overview of every server at once."""
    import pandas as pd

    rows = [
        {"check": f.check_id.removeprefix("datastores."), "datastore": datastore_of(f), "status": f.status.value}
        for f in findings
    ]
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows).drop_duplicates(["check", "datastore"], keep="first")
    return frame.pivot(index="check", columns="datastore", values="status").fillna("")


def plot_by_datastore(findings: Iterable[Finding]) -> Figure:
    """One bar per datastore, split by status."""
    from harden_lib.render import plot_stacked_status

    counts: dict[str, dict[str, int]] = {}
    for f in findings:
        bucket = counts.setdefault(datastore_of(f), {})
        bucket[f.status.value] = bucket.get(f.status.value, 0) + 1
    return plot_stacked_status(counts, "Datastore findings by status", empty="no datastores configured")


AREA = AreaSpec(
    name="datastores",
    title="Datastores",
    purpose="Redis and PostgreSQL: authentication required, TLS, least-privilege roles, memory and persistence.",
    params=DatastoresParams,
    order=80,
)
