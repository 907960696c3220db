"""Leak test across a whole run: planted canary secrets must appear in no file the run writes.

Canaries go everywhere a secret can enter: env-file values (plain, as a URL password, and under
secret names written other ways: ``PGPASSWORD``, ``MYSQL_PWD``, ``clientSecret``, ``apiKey``,
``*_PASSPHRASE``, ``*_PW``, ``*_CREDENTIALS``, ``*_PRIVATE_KEY``), a ``${VAR}`` interpolated
into a param and a secret ``${VAR:-default}``, an Authorization header the config sends, a
password and credential query parameters (``X-Amz-Signature``, ``sig``, ``code``) in scanned
and configured URLs, a secret-like value committed to the scanned repository, the demo
server's cookies, and a command that prints secrets in every form tools use (a value the
runner knows from the env file but printed bare, JSON/YAML pairs, a pair in a comment,
``export``, ``Authorization: Bearer``, ``--password``, ``mysql -p``, SQL ``PASSWORD '…'``, a
PEM private key). Each canary is a unique random string; those under secret *names* are
lower-case words, so only the name (not the value's shape) can hide them. Every file under the
reports folder (HTML, notebooks, JSON, CSV, XML, logs), the kernel lanes' own logs and the
console (stdout, stderr and log records of the run) are searched. Params text with markup
(description, attestation, waiver) must be inert in every HTML report.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import secrets
import string
import subprocess
import tempfile
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harden_lib import cli
from harden_lib.demo import running_demo

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.e2e


def canary(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


#: Mnemonic-shaped words for a canary recovery phrase (lower-case, 3 to 10 letters).
SEED_WORDS = ("ocean", "vivid", "tribe", "salad", "mercy", "ankle", "gospel", "walnut", "plunge")


def word_canary(prefix: str) -> str:
    """Lower-case words: not secret-shaped, so only a secret *name* can get it redacted."""
    return prefix + "-" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(18))


#: Env keys whose secret-ness only their name tells (issue 10, item 9).
NAMED_KEYS = (
    "PGPASSWORD",
    "MYSQL_PWD",
    "clientSecret",
    "apiKey",
    "BACKUP_PASSPHRASE",
    "SMTP_PW",
    "GCP_CREDENTIALS",
    "JWT_PRIVATE_KEY",
)


@contextlib.contextmanager
def console(into: dict[str, str]):
    """Capture everything the run prints: sys.stdout/stderr, file descriptors 1/2 and log records."""
    sys_out, sys_err = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(sys_err)
    root = logging.getLogger()
    with tempfile.TemporaryFile() as fd_out, tempfile.TemporaryFile() as fd_err:
        saved = os.dup(1), os.dup(2)
        os.dup2(fd_out.fileno(), 1)
        os.dup2(fd_err.fileno(), 2)
        root.addHandler(handler)
        try:
            with contextlib.redirect_stdout(sys_out), contextlib.redirect_stderr(sys_err):
                yield
        finally:
            root.removeHandler(handler)
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            fd_out.seek(0)
            fd_err.seek(0)
            into["stdout"] = sys_out.getvalue() + fd_out.read().decode("utf-8", "replace")
            into["stderr"] = sys_err.getvalue() + fd_err.read().decode("utf-8", "replace")


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
        # item 8: known to the runner (env file), printed bare by a command
        "echoed_env_secret": canary("CanaryEchoed"),
        # item 10: credentials in URL query strings and a secret ${VAR:-default}
        "amz_signature": canary("CanaryAmzSig"),
        "status_sig": canary("CanSig", 14),  # short: pandas cuts table cells after 50 characters
        "evidence_code": canary("CanaryOauthCode"),
        "default_api_key": canary("CanaryDefaultKey"),
        # item 11: forms a command prints credentials in
        "out_json": canary("CanaryJson"),
        "out_yaml": canary("CanaryYaml"),
        "out_comment": canary("CanaryComment"),
        "out_export": canary("CanaryExport"),
        "out_bearer": canary("CanaryOutBearer"),
        "out_flag": canary("CanaryFlag"),
        "out_mysql": canary("CanaryMysql"),
        "out_sql": canary("CanarySql"),
        "out_pem": canary("CanaryPem"),
        "out_query": canary("CanaryOutQuery"),
        # issue 10 items 1-4, 9 written other ways than tests/test_verify_*: command output forms, a JWT
        # and a SAML response in scanned URLs, a seed phrase and a glued AUTHKEY in the env file, a
        # token in a Kubernetes env list of the scanned repository
        "out_block_folded": canary("CanaryFolded"),
        "out_xml_ns": canary("CanaryXmlNs"),
        "out_args_list": canary("CanaryArgsList"),
        "out_k8s_env": canary("CanaryK8sEnv"),
        "out_podman": canary("CanaryPodman"),
        "out_htpasswd": canary("CanaryHtpasswd"),
        "out_teams_hook": canary("CanaryTeamsHook"),
        "out_make_append": canary("CanaryMakeAppend"),
        "out_midline": canary("CanaryMidline"),
        "url_access_jwt": "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhdWRpdG9yIn0." + canary("CanaryJwtSig"),
        "url_saml": canary("CanarySaml"),
        "env_recovery_words": " ".join(secrets.choice(SEED_WORDS) for _ in range(15)),
        "named_HEADSCALE_AUTHKEY": word_canary("headscale"),
        "repo_k8s_token": canary("CanaryRepoK8s"),
    }
    named = {key: word_canary(key.lower()[:8]) for key in NAMED_KEYS}
    planted.update({f"named_{key}": value for key, value in named.items()})
    shared = canary("CanarySharedAcrossEnvs")
    planted["shared"] = shared
    xss = canary("Xss")
    markup = {
        "description": f"Leaky <img src=x onerror=alert('{xss}')> [docs](javascript:alert('{xss}')) "
        f"<script>alert('{xss}')</script>",
        "title": f"Restore <b onmouseover=alert('{xss}')>tested</b> [proof](javascript:alert('{xss}'))",
        "reason": f"Accepted <script>alert('{xss}')</script> [why](javascript:alert('{xss}')) until the CDN fix",
    }
    quoted = {k: json.dumps(v) for k, v in markup.items()}  # a JSON string is a YAML double-quoted scalar
    named_lines = "".join(f"{key}={value}\n" for key, value in named.items())
    named_lines += (
        f"RECOVERY_WORDS={planted['env_recovery_words']}\nHEADSCALE_AUTHKEY={planted['named_HEADSCALE_AUTHKEY']}\n"
    )
    (work / "canary.env").write_text(
        textwrap.dedent(f"""\
        NODE_ENV=production
        NEXTAUTH_SECRET={planted["env_secret"]}
        SESSION_SECRET={shared}
        DEPLOY_HOOK_SECRET={planted["echoed_env_secret"]}
        DATABASE_URL=postgres://app:{planted["db_password"]}@db.internal:5432/app
        REDIS_URL=redis://:{planted["redis_password"]}@redis.internal:6379/0
        STATUS_FEED_URL=https://s.example/?sig={planted["status_sig"]}
        CORS_ORIGINS=*
        this line is broken {planted["env_secret"]}
        """)
        + named_lines
    )
    (work / "leaky_cmd.py").write_text(
        textwrap.dedent(f"""\
        import json
        from dotenv import dotenv_values

        print("hook value:", dotenv_values("canary.env")["DEPLOY_HOOK_SECRET"])
        print(json.dumps({{"user": "app", "password": "{planted["out_json"]}"}}))
        print("db:\\n  password: '{planted["out_yaml"]}'")
        print("# old: NEXTAUTH_SECRET={planted["out_comment"]}")
        print("+ export API_TOKEN={planted["out_export"]}")
        print("> Authorization: Bearer {planted["out_bearer"]}")
        print("deploy --password {planted["out_flag"]} --verbose")
        print("+ mysql -h db -u app -p{planted["out_mysql"]} app")
        print("ALTER ROLE app WITH PASSWORD '{planted["out_sql"]}';")
        print("GET https://api.example.com/v1?page=2&X-Amz-Signature={planted["out_query"]}")
        print("-----BEGIN PRIVATE KEY-----\\n{planted["out_pem"]}\\n-----END PRIVATE KEY-----")
        print("oauth:\\n  - client_secret: >-\\n      {planted["out_block_folded"]}\\n  - scope: read")
        print("<cfg:Settings><cfg:ApiToken kind='x'>{planted["out_xml_ns"]}</cfg:ApiToken></cfg:Settings>")
        print('"Cmd": ["serve", "--webhook-secret", "{planted["out_args_list"]}"],')
        print("    - name: SENTRY_AUTH_TOKEN\\n      value: {planted["out_k8s_env"]}")
        print("$ podman login --username ci -p={planted["out_podman"]} quay.io")
        print("$ htpasswd -nbB admin {planted["out_htpasswd"]} > .htpasswd")
        print("notify https://acme.webhook.office.com/webhookb2/{planted["out_teams_hook"]}/IncomingWebhook/x")
        print("ALERT_API_KEY += {planted["out_make_append"]}")
        print("rotated clientSecret {planted["out_midline"]} (expires in 90 days)")
        raise SystemExit(1)
        """)
    )
    (work / "redis.conf").write_text(f"requirepass {planted['redis_conf_password']}\n")
    (work / "canary-staging.env").write_text(f"NEXTAUTH_SECRET={planted['staging_secret']}\nSESSION_SECRET={shared}\n")
    repo = work / "repo"
    repo.mkdir()
    (repo / "config.py").write_text(f'API_PASSWORD = "{planted["repo_secret"]}"\n')
    (repo / "k8s").mkdir()
    (repo / "k8s" / "deploy.yaml").write_text(
        f"spec:\n  containers:\n    - name: api\n      env:\n        - name: REGISTRY_TOKEN\n"
        f"          value: {planted['repo_k8s_token']}\n"
    )
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
        description: {quoted["description"]}
        http:
          headers:
            Authorization: "Bearer ${{HARDEN_CANARY_TOKEN}}"
            X-Api-Key: "${{HARDEN_CANARY_UNSET_KEY:-{planted["default_api_key"]}}}"
        headers:
          urls: ["/", "/login?X-Amz-Signature={planted["amz_signature"]}&page=1", "https://auditor:{planted["url_password"]}@127.0.0.1:9/",
                 "/dash?theme=dark&access_jwt={planted["url_access_jwt"]}",
                 "/sso/acs?SAMLResponse={planted["url_saml"]}"]
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
        commands:
          output_lines: 40
          commands:
            - {{name: leaky output, run: [python, leaky_cmd.py], cwd: .., timeout: 30, on_fail: warn, severity: low}}
        attestations:
          - id: backups.restore_tested
            title: {quoted["title"]}
            owner: ops
            date: today-10d
            evidence: "https://drive.example.com/restore.pdf?code={planted["evidence_code"]}"
            max_age_days: 92
        waivers:
          - check_id: headers.server_banner
            reason: {quoted["reason"]}
            approved_by: Priya Sec
            expires: today+30d
        """)
    )
    planted.update({f"cookie_{k}": v for k, v in running_demo().secret_values().items()})
    lanes_before = set(Path(tempfile.gettempdir()).glob("harden-lanes-*"))
    output: dict[str, str] = {}
    with pytest.MonkeyPatch.context() as patch, console(output):
        patch.chdir(work)
        patch.setenv("HARDEN_CANARY_TOKEN", planted["token"])
        patch.delenv("HARDEN_CANARY_UNSET_KEY", raising=False)
        code = cli.main(["run", "--env", "leaky", "--reports", "reports", "--params-dir", "params"])
    lanes = sorted(set(Path(tempfile.gettempdir()).glob("harden-lanes-*")) - lanes_before)
    return code, work / "reports", planted, output, xss, lanes


def test_the_run_completed_with_every_area(leaky_run):
    code, reports, *_ = leaky_run
    assert code == 1
    run_dir = (reports / "leaky" / "latest").resolve()
    for area in ("config", "headers", "secrets", "datastores", "commands", "operations", "summary"):
        assert (run_dir / f"{area}.html").is_file(), area
        assert (run_dir / f"{area}.ipynb").is_file(), area
    for name in ("findings.json", "findings.csv", "junit.xml", "run.json", "index.html"):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "findings").glob("*.json"))
    assert list((run_dir / "logs").glob("*.log"))


def test_no_canary_in_any_file_the_run_writes(leaky_run):
    _, reports, planted, _, _, lanes = leaky_run
    files = [p for p in reports.rglob("*") if p.is_file()]
    # The lanes' own logs are removed when a run ends (tests/test_lanes.py); any still there (another
    # run in progress in parallel) are searched too.
    files += [p for folder in lanes if folder.is_dir() for p in folder.rglob("*") if p.is_file()]
    assert len(files) > 15
    suffixes = {p.suffix for p in files}
    assert {".html", ".ipynb", ".json", ".csv", ".xml", ".log"} <= suffixes, suffixes
    leaks = []
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        leaks += [(name, str(path)) for name, value in planted.items() if value in text]
    assert not leaks, f"canary secrets leaked: {leaks}"


def test_no_canary_in_console_output(leaky_run):
    _, _, planted, output, _, _ = leaky_run
    assert "leaky" in output["stdout"] + output["stderr"]  # the console was really captured
    leaks = [(name, stream) for stream, text in output.items() for name, value in planted.items() if value in text]
    assert not leaks, f"canary secrets on the console: {leaks}"


class _LiveMarkup(HTMLParser):
    """Collects what a browser would act on: event handlers, javascript: links, script bodies."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") and self.marker in value:
                self.found.append(f"<{tag} {name}>")
            if name in ("href", "src", "action") and value.strip().lower().startswith(("javascript:", "vbscript:")):
                self.found.append(f"<{tag} {name}={value}>")

    def handle_data(self, data):
        if self.lasttag == "script" and self.marker in data:
            self.found.append("<script>")


def test_params_markup_is_inert_in_every_html_report(leaky_run):
    _, reports, _, _, xss, _ = leaky_run
    run_dir = (reports / "leaky" / "latest").resolve()
    pages = sorted(run_dir.glob("*.html"))
    assert len(pages) >= 10
    live = {}
    for page in pages:
        parser = _LiveMarkup(xss)
        parser.feed(page.read_text(encoding="utf-8"))
        if parser.found:
            live[page.name] = parser.found
    assert not live, live
    config = (run_dir / "config.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=alert" in config  # shown as text, as written


def test_the_canaries_were_really_seen(leaky_run):
    """Guard against a vacuous pass: the checks did examine the planted secrets."""
    _, reports, *_ = leaky_run
    run_dir = reports / "leaky" / "latest"
    findings = json.loads((run_dir / "findings.json").read_text())["findings"]
    by = {(f["check_id"], f["status"]) for f in findings}
    assert ("secrets.env.shared", "fail") in by  # SESSION_SECRET is shared with staging
    assert ("secrets.repo.literal", "fail") in by
    assert ("secrets.repo.committed_secret", "fail") in by
    k8s = [f for f in findings if f["check_id"] == "secrets.repo.committed_secret" and "k8s/deploy.yaml" in f["target"]]
    assert [(f["target"].rsplit("/", 1)[1], f["status"]) for f in k8s] == [("deploy.yaml:6", "fail")], k8s
    assert "REGISTRY_TOKEN is set to a literal" in k8s[0]["observed"] and "line scan" in k8s[0]["observed"]
    assert any(f["check_id"] == "headers.fetch" and f["status"] == "error" for f in findings)
    command = next(f for f in findings if f["check_id"] == "commands.run" and f["target"] == "leaky output")
    assert command["status"] == "warn" and "hook value: [REDACTED]" in command["observed"]
    assert '"password": "[REDACTED]"' in command["observed"]
    assert "X-Amz-Signature=[REDACTED]" in command["observed"]
    headers_targets = {f["target"] for f in findings if f["area"] == "headers"}
    assert any("/login?X-Amz-Signature=[REDACTED]&page=1" in t for t in headers_targets), headers_targets
    assert any("/dash?theme=dark&access_jwt=[REDACTED]" in t for t in headers_targets), headers_targets
    assert any("/sso/acs?SAMLResponse=[REDACTED]" in t for t in headers_targets), headers_targets
    for shown in (
        "client_secret: >-",
        "--webhook-secret",
        "podman login --username ci -p=[REDACTED]",
        "webhookb2/[REDACTED]",
    ):
        assert shown in command["observed"], shown
    run_info = json.loads((run_dir / "run.json").read_text())
    assert run_info["params"]["http"]["headers"]["X-Api-Key"] == "${HARDEN_CANARY_UNSET_KEY:-[REDACTED]}"
    inventory = (run_dir / "config.html").read_text(encoding="utf-8")
    assert "PGPASSWORD" in inventory and "sig=[REDACTED]" in inventory


def test_progress_lines_redact_urls_and_pairs():
    """The runner's progress lines (stderr) go through the free-text redaction too."""
    from harden_lib.runner import Progress

    token, password = canary("CanaryProgressTok"), canary("CanaryProgressPw")
    stream = io.StringIO()
    Progress(stream)(f"[prod] headers FAILED (GET https://h/?access_token={token}: password={password})")
    line = stream.getvalue()
    assert token not in line and password not in line and "access_token=[REDACTED]" in line
