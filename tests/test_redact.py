"""Secret-name detection, URL and free-text redaction, and the scrubbing registry.

Names, URLs and outputs are written the ways real deployments and tools write them (camelCase,
kebab-case, glued, mixed case), including names that only look secret-ish.
"""

from __future__ import annotations

import secrets
import string
import time

import pytest

from harden_lib.redact import (
    REDACTED,
    SECRETS,
    describe_secret,
    is_secret_key,
    is_secret_query_param,
    name_words,
    redact_text,
    redact_url,
    redact_urls,
    register_secret,
    scrub,
    scrub_output,
    scrub_tree,
)


def canary(prefix: str = "Cn", length: int = 20) -> str:
    return prefix + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


SECRET_NAMES = [
    # as the brief and real deployments write them
    "DATABASE_PASSWORD",
    "PGPASSWORD",
    "MYSQL_PWD",
    "MYSQL_ROOT_PASSWORD",
    "clientSecret",
    "client_secret",
    "apiKey",
    "API_KEY",
    "x_api_key",
    "X-Api-Key",
    "dbPassword",
    "DB-PASS",
    "Pass",
    "passwd",
    "pwd",
    "secret",
    "token",
    "auth",
    "SSH_PASSPHRASE",
    "GPG_PASSPHRASE",
    "DB_PW",
    "SMTP_PW",
    "GCP_CREDENTIALS",
    "AZURE_CREDENTIAL",
    "AWS_SECRET_ACCESS_KEY",
    "JWT_PRIVATE_KEY",
    "GITHUB_APP_PRIVATE_KEY",
    "DSTREAM_XMR_SESSION_SECRET",
    "ENCRYPTION_KEY",
    "Authorization",
    "Proxy-Authorization",
    "Cookie",
    "Set-Cookie",
    "X-CSRF-Token",
    "REDIS_AUTH",
    "accessToken",
    "refresh-token",
    "OAuth2Token",
    "HTTPAuthToken",
    "SLACK_WEBHOOK_URL",
    "SENTRY_DSN",
    "AZURE_STORAGE_CONNECTION_STRING",
    "NEXT_PUBLIC_API_SECRET",  # published by mistake: still hidden
    "DB_PASSWORD2",
    "requirepass",
    "mysqlRootPwd",
    "TWILIO_AUTH_TOKEN",
    "RAILS_MASTER_KEY",
    "SECRET_KEY_BASE",
    "LDAP_BIND_PW",
    "RABBITMQ_DEFAULT_PASS",
    "X-Hub-Signature-256",
    "BASIC_AUTH",
    "WALLET_MNEMONIC",
]
PUBLIC_NAMES = [
    "PASSENGER_COUNT",
    "BYPASS_CACHE",
    "KEYBOARD_LAYOUT",
    "MONKEY",
    "TOKENIZER_MODEL",
    "COMPASS_URL",
    "SECRETARY_EMAIL",
    "PUBLIC_KEY",
    "VAPID_PUBLIC_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "NEXT_PUBLIC_SUPABASE_ANON_KEY",
    "NEXT_PUBLIC_HLS_ORIGIN",
    "KEY_ID",
    "AWS_ACCESS_KEY_ID",
    "AWSAccessKeyId",
    "TOKEN_URL",
    "OAUTH_TOKEN_ENDPOINT",
    "POSTGRES_PASSWORD_FILE",
    "JWT_PRIVATE_KEY_PATH",
    "SESSION_TTL",
    "SESSION_COOKIE_NAME",
    "COOKIE_SECURE",
    "AUTH_ENABLED",
    "AUTH_PROVIDER",
    "PASSWORD_MIN_LENGTH",
    "tokenType",
    "WWW-Authenticate",
    "NEXTAUTH_URL",
    "CORS_ORIGINS",
    "DATABASE_URL",
    "NODE_ENV",
    "CLIENT_ID",
    "SSH_AUTH_SOCK",  # a socket path
    "PGPASSFILE",  # a file path
    "POSTGRES_HOST_AUTH_METHOD",  # 'trust' must stay visible: it is the finding
    "AWS_SECRETS_MANAGER_REGION",
    "PASSWORD_RESET_TOKEN_EXPIRY",
    "BASIC_AUTH_USER",
    "PASSWORDLESS_ENABLED",
    "API_KEY_HEADER_NAME",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name):
    assert is_secret_key(name) is True


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_names(name):
    assert is_secret_key(name) is False


def test_names_are_split_into_words():
    assert name_words("dbPassword") == ["db", "password"]
    assert name_words("X-Amz-Signature") == ["x", "amz", "signature"]
    assert name_words("HTTPAuthToken") == ["http", "auth", "token"]
    assert name_words("DB_PASSWORD2") == ["db", "password", "2"]
    assert name_words("AZURE_STORAGE_CONNECTION_STRING") == ["azure", "storage", "connectionstring"]


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("access_token", True),
        ("token", True),
        ("api_key", True),
        ("apikey", True),
        ("key", True),
        ("KEY", True),
        ("sig", True),
        ("signature", True),
        ("Signature", True),
        ("X-Amz-Signature", True),
        ("X-Amz-Security-Token", True),
        ("X-Goog-Signature", True),
        ("password", True),
        ("PassWord", True),
        ("client_secret", True),
        ("code", True),  # an OAuth authorization code
        ("id_token", True),
        ("api%5Fkey", True),  # percent-encoded name
        ("page", False),
        ("state", False),
        ("AWSAccessKeyId", False),
        ("X-Amz-Date", False),
        ("redirect_uri", False),
    ],
)
def test_query_parameter_names(name, secret):
    assert is_secret_query_param(name) is secret


def test_describe_secret_shows_shape_not_value():
    text = describe_secret("Abc123!xyz")
    assert "Abc123!xyz" not in text
    assert "10 chars" in text and "lower+upper+digit+symbol" in text
    assert describe_secret(None) == "absent" and describe_secret("") == "present but empty"


def test_redact_url_password_and_secret_query():
    assert redact_url("postgres://app:s3cr3t@db:5432/x") == "postgres://app:[REDACTED]@db:5432/x"
    shown = redact_url("https://h/cb?token=abc&page=2")
    assert "abc" not in shown and "page=2" in shown


def test_redact_url_every_credential_parameter_and_nothing_else():
    values = {name: canary() for name in ("at", "sig", "amz", "pw", "key", "code", "frag")}
    url = (
        f"https://u:{values['pw']}@cdn.example.com:8443/a%20b/file.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Signature={values['amz']}&Access_Token={values['at']};sig={values['sig']}&page=2"
        f"&KEY={values['key']}&code={values['code']}&redirect_uri=https%3A%2F%2Fapp#id_token={values['frag']}"
    )
    shown = redact_url(url)
    for value in values.values():
        assert value not in shown
    # The rest is kept exactly as written (no re-encoding).
    assert shown.startswith("https://u:[REDACTED]@cdn.example.com:8443/a%20b/file.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256")
    assert "&page=2" in shown and "&redirect_uri=https%3A%2F%2Fapp" in shown and "#id_token=[REDACTED]" in shown


def test_redact_url_token_as_user_and_odd_inputs():
    token = "ghp_" + canary(length=36)
    assert redact_url(f"https://{token}@github.com/o/r.git") == "https://[REDACTED]@github.com/o/r.git"
    assert redact_url("https://deploy@github.com/o/r") == "https://deploy@github.com/o/r"  # a plain user name
    assert redact_url("redis://:pw9@cache:6379/0") == "redis://:[REDACTED]@cache:6379/0"
    assert redact_url("/callback?code=abc123&state=x") == "/callback?code=[REDACTED]&state=x"
    assert redact_url("https://[::1:bad/x?token=t0k3n") == "https://[::1:bad/x?token=[REDACTED]"  # unparseable host
    assert redact_url("") == "" and redact_url("plain text") == "plain text"


def test_redact_urls_in_text_and_html_escaped_text():
    token, sig = canary(), canary()
    text = f'GET https://api.example.com/v1?api_key={token} failed; see <a href="/x?a=1&amp;Signature={sig}">'
    shown = redact_urls(text)
    assert token not in shown and sig not in shown and "GET https://api.example.com/v1?api_key=[REDACTED]" in shown


def test_registry_scrubs_longest_first():
    register_secret("abcd1234")
    register_secret("abcd1234-extended")
    assert scrub("x abcd1234-extended y abcd1234") == "x [REDACTED] y [REDACTED]"
    register_secret("ab")  # too short to scrub safely: ignored
    assert len(SECRETS) == 2


def test_scrub_output_and_tree_cover_registry_and_urls():
    known, token = canary("Known"), canary()
    register_secret(known)
    tree = {"a": [f"value {known}", ("https://h/?access_token=" + token,)], known: 3, "n": 5}
    cleaned = scrub_tree(tree)
    assert known not in repr(cleaned) and token not in repr(cleaned) and cleaned["n"] == 5
    assert isinstance(cleaned["a"][1], tuple)
    assert scrub_output(f"{known} https://u:{token}@h/") == "[REDACTED] https://u:[REDACTED]@h/"


# --------------------------------------------------------------------------- free text


def _forms(v: str) -> list[str]:
    """One line per form a tool, a log or a config dump prints a credential in (value ``v``)."""
    return [
        f'{{"password": "{v}", "user": "app"}}',
        f"{{'clientSecret': '{v}'}}",
        f'"apiKey":"{v}"',
        f"password: '{v}'",
        f"db_password: {v}",
        f"  secret_key = {v}",
        f"# old: NEXTAUTH_SECRET={v}",
        f"export API_TOKEN={v}",
        f"+ PGPASSWORD={v} psql -h db",
        f"docker run -e MYSQL_PWD={v} -p 3306:3306 mysql",
        f"Authorization: Bearer {v}",
        f"authorization: token {v}",
        f'curl -H "Authorization: Basic {v}" https://h',
        f"Bearer {v}",
        f"--password {v}",
        f"--client-secret={v}",
        f"mysql -h db -u app -p{v} app",
        f"sshpass -p {v} ssh deploy@h",
        f"redis-cli -h cache -a {v} ping",
        f"curl -u deploy:{v} https://h",
        f"ALTER ROLE app WITH LOGIN PASSWORD '{v}';",
        f"requirepass {v}",
        f"machine api.example.com login deploy password {v}",
        f"LOG: connect host=db user=app password={v} sslmode=require",
        f"psql postgres://app:{v}@db:5432/app",
        f"GET /cb?access_token={v}&page=1",
        f"\x1b[1mDB_PASSWORD\x1b[0m={v}",
    ]


def test_redact_text_catches_every_form():
    value = canary("Va1ue")
    leaks = [form for form in _forms(value) if value in redact_text(form)]
    assert not leaks
    joined = "\n".join(_forms(value))
    assert value not in redact_text(joined)


def test_redact_text_keeps_what_auditors_read():
    prose = [
        "FATAL: password authentication failed for user app",
        "Password changed",
        "token expired",
        "mkdir -p /var/lib/app",
        "ssh -p 2222 deploy@h",
        "docker run -p 8080:80 nginx",
        "KEY_ID=AKIAEXAMPLE page=2",
        "PASSENGER_COUNT=12 BYPASS_CACHE=1",
        "DB_PASSWORD=${DB_PASSWORD}",
        "password: ****",
        "Token: null",
        "https://example.com/path?page=2",
    ]
    for line in prose:
        assert redact_text(line) == line, line
    assert redact_text("A_PASSWORD=x1 B_TOKEN=y2 C=z") == "A_PASSWORD=[REDACTED] B_TOKEN=[REDACTED] C=z"
    assert redact_text("Authorization: Bearer abc.def") == "Authorization: Bearer [REDACTED]"


def test_redact_text_private_keys_and_vendor_tokens():
    body = "\n".join(canary("MII", 60) for _ in range(3))
    pem = f"before\n-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\nafter"
    shown = redact_text(pem)
    assert all(line not in shown for line in body.splitlines())
    assert shown.startswith("before\n-----BEGIN OPENSSH PRIVATE KEY-----\n[REDACTED]") and shown.endswith("after")
    tail = "\n".join(body.splitlines()[1:]) + "\n-----END RSA PRIVATE KEY-----\ndone"  # the tail cut the BEGIN off
    assert all(line not in redact_text(tail) for line in body.splitlines()[1:])
    unterminated = f"-----BEGIN EC PRIVATE KEY-----\n{body}"
    assert body.splitlines()[-1] not in redact_text(unterminated)
    vendor = [
        "ghp_" + canary(length=36),
        "github_pat_" + canary(length=40),
        "xoxb-" + canary(length=30),
        "sk_live_" + canary(length=24),
        "AIza" + canary("", 35),
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." + canary("", 30),
    ]
    for token in vendor:
        assert token not in redact_text(f"found {token} in logs"), token


def test_redact_text_uses_the_registry_and_is_bounded_in_time():
    known = canary("Registered")
    register_secret(known)
    assert known not in redact_text(f"echo {known}")
    hostile = ["a:" * 100_000, "a = " * 50_000, "?a=" * 50_000, "https://" * 30_000, "mysql -p " * 20_000]
    hostile += ["password=" * 50_000, "Bearer " * 30_000, "--password " * 30_000, '"' * 100_000]
    hostile += ["password: [REDACTED] " * 30_000, "-----END PRIVATE KEY-----\n" * 5_000]
    for text in hostile:
        started = time.monotonic()
        redact_text(text)
        scrub_output(text)
        assert time.monotonic() - started < 2, text[:20]


def test_redacted_marker_is_stable():
    once = redact_text("password=abc token=def https://u:p@h/?key=1")
    assert redact_text(once) == once and REDACTED in once
