"""Independent verification of issue 10, items 8-12: secrets written other ways, through a real ``harden run``.

``tests/test_leaks.py`` plants one canary per form the fixes were written against. Here every canary
sits under a name or in a syntax written *another* way: dotted and double-underscore env keys
(``db.password``, ``DB__PASSWORD``, ``spring.datasource.password``), a bare ``Password`` and
``PG_PASS``, a connection string under an innocent name, a URL password with percent-encoded ``@``
and ``/``; a lower-case ``x-api-key`` header and a ``Basic`` Authorization header from ``${VAR}``; a
secret passed to a command through ``commands[].env``; S3 presigned, Azure SAS and capitalised
``Token`` query strings in scanned URLs; and command output in the forms tools really print
(``"clientSecret":"…"``, ``Authorization: Basic <base64>``, ``curl -H 'X-Api-Key: …'``,
``--from-literal=password=…``, ``--set db.password=…``, docker-inspect ``"DB_PASSWORD=…"``, ODBC and
JDBC strings, logfmt, a URL with ``%40`` in its password). Every file under the reports folder and
the console are searched for each canary **and its URL-encoded and base64 forms** (and, for the
Basic credential, the base64 of ``user:canary``).

Forms found to leak were planted too, one canary each, in their own tests (strict ``xfail`` until
fixed, plain regression tests now): a YAML block scalar, a PHP ``define()``, an XML element,
MySQL ``IDENTIFIED BY``, ``docker login -p``, ``TOKEN value`` in the middle of a line, a wallet seed
phrase, and a JWT in a ``?jwt=`` query parameter.

Item 12: Markdown-capable params text other than the description (a rule's title, remediation and
references, an attestation's evidence, a command's name, a sign-off note) carrying ``javascript:``
links written other ways (mixed case, entity-encoded, autolink, raw ``<a>``) must be inert in every
HTML report.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
import subprocess
import textwrap
from urllib.parse import quote, quote_plus

import pytest

from harden_lib import cli
from tests.test_leaks import ROOT, _LiveMarkup, console

pytestmark = pytest.mark.e2e


def canary(prefix: str, length: int = 22, extra: str = "") -> str:
    """A unique random value; ``extra`` adds characters that URL-encoding changes."""
    body = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))
    return prefix + body[: length // 2] + extra + body[length // 2 :]


def word(prefix: str) -> str:
    """Lower-case letters only: nothing but the *name* can get it redacted."""
    return prefix + "".join(secrets.choice(string.ascii_lowercase) for _ in range(18))


def forms(value: str) -> set[str]:
    """The canary as written, URL-encoded (both ways) and base64-encoded (with and without padding)."""
    b64 = base64.b64encode(value.encode()).decode()
    out = {value, quote(value, safe=""), quote_plus(value), b64, b64.rstrip("="), base64.urlsafe_b64encode(
        value.encode()).decode().rstrip("=")}  # fmt: skip
    return {f for f in out if len(f) >= 8}


def jwt_of(secret_part: str) -> str:
    head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=")
    body = base64.urlsafe_b64encode(b'{"sub":"embed","exp":4102444800}').decode().rstrip("=")
    return f"{head}.{body}.{secret_part}"


#: Forms found leaking by this file (each was a strict xfail), fixed since: canary name -> what the bug was.
KNOWN_LEAKS = {
    "out_yaml_block": "a YAML block scalar (password: |, value on the next line) keeps its value (commands.html/"
    "ipynb, findings.json/csv, findings/commands.json, junit.xml; the same for every out_* form below)",
    "out_php_define": "PHP define('DB_PASSWORD', '…') (WordPress wp-config) keeps its value",
    "out_xml": "an XML element <password>…</password> (Maven settings.xml, Tomcat) keeps its value",
    "out_identified_by": "MySQL/MariaDB ALTER USER … IDENTIFIED BY '…' keeps its value",
    "out_docker_login": "docker login -u ci -p … keeps its value (short -p only known for mysql/sshpass)",
    "out_token_midline": "'using API_TOKEN <value> for …' keeps its value (TOKEN value only as a whole line)",
    "env_seed_phrase": "WALLET_SEED_PHRASE (a BIP-39 mnemonic) is shown in the config inventory and findings",
    "url_jwt": "a ?jwt=<JWT> query parameter is kept in headers targets, findings.json/csv, junit.xml, run.json, "
    "index.html (jwt is no secret name; the JWT shape is redacted only by redact_text, not by scrub_output)",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("verify-leaks")
    basic_user = "svc-reporting"
    p = {
        # item 9: env keys written other ways (word values: only the name can hide them)
        "env_dotted": word("dotted"),
        "env_double_underscore": word("doubleund"),
        "env_bare_password": word("barepass"),
        "env_pg_pass": word("pgpass"),
        "env_spring": word("spring"),
        # a pair inside a value under an innocent name, a URL password with %40 and %2F
        "env_conn_string": canary("CnConnStr"),
        "env_broker_pass": canary("CnBroker", extra="@/"),
        # items 8 and 10: params and URLs
        "header_api_key": canary("CnXApiKey"),
        "header_basic": canary("CnBasicPw", extra="+/"),
        "command_env": canary("CnCmdEnv"),
        "url_amz": "".join(secrets.choice("0123456789abcdef") for _ in range(64)),
        "url_sas": canary("CnSasSig", extra="+/="),
        "url_token_caps": canary("CnCapsToken"),
        "url_userinfo": canary("CnUrlUser", extra="@"),
        "pg_url_password": canary("CnPgUrl", extra="@"),
        # item 11: command output in other forms
        "out_client_secret": canary("CnClientSecret"),
        "out_basic": canary("CnOutBasic"),
        "out_curl_header": canary("CnCurlH"),
        "out_from_literal": canary("CnFromLiteral"),
        "out_helm_set": canary("CnHelmSet"),
        "out_docker_env": canary("CnDockerEnv"),
        "out_odbc": canary("CnOdbc"),
        "out_jdbc": canary("CnJdbc"),
        "out_logfmt": canary("CnLogfmt"),
        "out_url_at": canary("CnOutUrlAt"),
        "out_spring_prop": canary("CnSpringProp"),
        "out_ini": canary("CnIni"),
        # known leaks
        "out_yaml_block": canary("CnYamlBlock"),
        "out_php_define": canary("CnPhpDefine"),
        "out_xml": canary("CnXml"),
        "out_identified_by": canary("CnIdentifiedBy"),
        "out_docker_login": canary("CnDockerLogin"),
        "out_token_midline": canary("CnTokenMid"),
        "env_seed_phrase": " ".join(secrets.choice(["abandon", "ability", "absorb", "acid", "actor", "adapt",
                                                    "badge", "cabin", "dawn", "eager"]) for _ in range(12)),
        "url_jwt": jwt_of(canary("CnJwtSig")),
    }  # fmt: skip
    broker_encoded = quote(p["env_broker_pass"], safe="")
    xss = canary("Xss", 10)
    evil = {
        "title": f"Keys [rotated](JaVaScRiPt:alert('{xss}')) <img src=x onerror=alert('{xss}')>",
        "remediation": f"See [runbook](&#106;avascript:alert('{xss}')) or <javascript:alert('{xss}')>",
        "reference": f"javascript:alert('{xss}')",
        "evidence": f"javascript:alert('{xss}')",
        "command": f"smoke <a href=\"javascript:alert('{xss}')\">x</a>",
        "note": f"ok [see](vbscript:msgbox('{xss}')) <svg onload=alert('{xss}')>",
    }
    q = {k: json.dumps(v) for k, v in evil.items()}
    (work / "verify.env").write_text(
        textwrap.dedent(f"""\
        NODE_ENV=production
        db.password={p["env_dotted"]}
        DB__PASSWORD={p["env_double_underscore"]}
        Password={p["env_bare_password"]}
        PG_PASS={p["env_pg_pass"]}
        spring.datasource.password={p["env_spring"]}
        ConnectionStrings__Default=Server=db;Database=app;User Id=sa;Password={p["env_conn_string"]};
        BROKER_URL=amqp://app:{broker_encoded}@mq.internal:5672/prod
        WALLET_SEED_PHRASE={p["env_seed_phrase"]}
        LOG_LEVEL=info
        """)
    )
    b64_basic = base64.b64encode(f"{basic_user}:{p['out_basic']}".encode()).decode()
    (work / "verify_cmd.py").write_text(
        textwrap.dedent(f"""\
        import json, os
        from urllib.parse import unquote, urlsplit
        from dotenv import dotenv_values

        env = dotenv_values("verify.env")
        print("deploy key:", os.environ["DEPLOY_KEY"])
        print('{{"oauth":{{"clientSecret":"{p["out_client_secret"]}"}}}}')
        print("< Authorization: Basic {b64_basic}")
        print("curl -sS -H 'X-Api-Key: {p["out_curl_header"]}' https://api.example.com/v1/me")
        print("kubectl create secret generic db --from-literal=password={p["out_from_literal"]}")
        print("helm upgrade shop ./chart --set db.password={p["out_helm_set"]}")
        print('"Env": ["NODE_ENV=production", "DB_PASSWORD={p["out_docker_env"]}"],')
        print("Server=db;Database=app;User Id=sa;Password={p["out_odbc"]};")
        print("jdbc:mysql://db:3306/app?user=app&password={p["out_jdbc"]}&useSSL=true")
        print('time=2024-01-01T00:00:00Z level=info msg="login ok" password={p["out_logfmt"]} user=bob')
        print("fetching https://deploy:pa%40{p["out_url_at"]}@artifacts.example.com/app.tgz")
        print("spring.datasource.password={p["out_spring_prop"]}")
        print("[client]\\npassword = {p["out_ini"]}")
        print("db:\\n  password: |\\n    {p["out_yaml_block"]}")
        print("define( 'DB_PASSWORD', '{p["out_php_define"]}' );")
        print("<server><id>repo</id><password>{p["out_xml"]}</password></server>")
        print("ALTER USER 'app'@'%' IDENTIFIED BY '{p["out_identified_by"]}';")
        print("+ docker login -u ci -p {p["out_docker_login"]} registry.example.com")
        print("using API_TOKEN {p["out_token_midline"]} for the deploy")
        print("broker password:", unquote(urlsplit(env["BROKER_URL"]).password))
        raise SystemExit(3)
        """)
    )
    repo = work / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("nothing secret\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    params = work / "params"
    params.mkdir()
    urls = [
        "/",
        "/files/report.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2F"
        f"us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host"
        f"&X-Amz-Signature={p['url_amz']}",
        f"/dl/backup.tar?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01&sig={quote(p['url_sas'], safe='')}",
        f"/callback?Token={p['url_token_caps']}&page=2",
        f"/embed/dashboard?jwt={p['url_jwt']}",
        f"https://reporter:{quote(p['url_userinfo'], safe='')}@127.0.0.1:9/health",
    ]
    (params / "verifyleaks.yaml").write_text(
        textwrap.dedent(f"""\
        extends: {ROOT / "params" / "demo.yaml"}
        environment: verifyleaks
        areas: [config, headers, secrets, datastores, commands, operations]
        http:
          headers:
            x-api-key: "${{HARDEN_VERIFY_API_KEY}}"
            Authorization: "Basic ${{HARDEN_VERIFY_BASIC}}"
        headers:
          urls: {json.dumps(urls)}
        config:
          env_file: ../verify.env
          rules:
            - kind: required
              keys: [db.password, DB__PASSWORD, Password, PG_PASS, spring.datasource.password, WALLET_SEED_PHRASE,
                     ConnectionStrings__Default, BROKER_URL]
              title: {q["title"]}
              remediation: {q["remediation"]}
              references: [{q["reference"]}]
            - {{kind: equals, id: config.verify.pg, key: PG_PASS, value: something-else}}
            - {{kind: equals, id: config.verify.conn, key: ConnectionStrings__Default, value: x}}
            - {{kind: one_of, id: config.verify.seed, key: WALLET_SEED_PHRASE, values: [a, b]}}
            - {{kind: url, id: config.verify.broker, key: BROKER_URL, schemes: [amqps]}}
        secrets:
          repo_path: ../repo
          env_files: {{}}
        datastores:
          timeout: 1
          redis: []
          postgres:
            - {{name: reporting, url: "postgresql://reporter:{quote(p["pg_url_password"], safe="")}@127.0.0.1:9/app",
                connect: false}}
        commands:
          output_lines: 60
          commands:
            - name: {q["command"]}
              run: [python, verify_cmd.py]
              cwd: ..
              timeout: 30
              on_fail: warn
              severity: low
              env: {{DEPLOY_KEY: "${{HARDEN_VERIFY_DEPLOY_KEY}}"}}
        attestations:
          - id: backups.restore_tested
            title: Restore tested
            owner: ops
            date: today-10d
            evidence: {q["evidence"]}
            max_age_days: 92
        signoffs:
          required: [engineering]
          given:
            - {{role: engineering, name: Sam Eng, date: today-1d, note: {q["note"]}}}
        """)
    )
    output: dict[str, str] = {}
    with pytest.MonkeyPatch.context() as patch, console(output):
        patch.chdir(work)
        patch.setenv("HARDEN_VERIFY_API_KEY", p["header_api_key"])
        patch.setenv("HARDEN_VERIFY_BASIC", base64.b64encode(f"{basic_user}:{p['header_basic']}".encode()).decode())
        patch.setenv("HARDEN_VERIFY_DEPLOY_KEY", p["command_env"])
        code = cli.main(["run", "--env", "verifyleaks", "--reports", "reports", "--params-dir", "params"])
    # base64 forms of the Basic credentials as they travel (user:password)
    extra = {
        "header_basic": {base64.b64encode(f"{basic_user}:{p['header_basic']}".encode()).decode()},
        "out_basic": {b64_basic},
    }
    assert (work / "reports" / "verifyleaks" / "latest" / "findings.json").is_file(), output["stderr"][-3000:]
    files = {str(path): path.read_bytes().decode("utf-8", "replace") for path in (work / "reports").rglob("*")
             if path.is_file()}  # fmt: skip
    return code, work / "reports", p, extra, files, output, xss


def where(run, name: str) -> list[str]:
    """Every file (or console stream) holding the canary ``name`` in any of its forms."""
    _, _, planted, extra, files, output, _ = run
    wanted = forms(planted[name]) | extra.get(name, set())
    if name == "env_seed_phrase":  # the phrase, and any run of four of its words
        words = planted[name].split()
        wanted |= {" ".join(words[i : i + 4]) for i in range(len(words) - 3)}
    places = {**files, **{f"<{k}>": v for k, v in output.items()}}
    return sorted({place for place, text in places.items() for form in wanted if form in text})


def test_the_run_completed_and_really_saw_the_canaries(run) -> None:
    code, reports, _, _, files, output, _ = run
    assert code == 1, output["stderr"][-2000:]
    run_dir = (reports / "verifyleaks" / "latest").resolve()
    for name in ("findings.json", "findings.csv", "junit.xml", "run.json", "index.html", "config.html"):
        assert (run_dir / name).is_file(), name
    findings = json.loads((run_dir / "findings.json").read_text())["findings"]
    command = next(f for f in findings if f["check_id"] == "commands.run")
    assert command["status"] == "warn" and "deploy key: [REDACTED]" in command["observed"], command["observed"]
    assert '"clientSecret":"[REDACTED]"' in command["observed"]
    assert "--from-literal=password=[REDACTED]" in command["observed"]
    assert "broker password: [REDACTED]" in command["observed"]  # a %-encoded URL password, printed decoded
    required = [f for f in findings if f["check_id"] == "config.required"]
    assert len(required) == 8 and all("present" in f["observed"] for f in required)
    targets = {f["target"] for f in findings if f["area"] == "headers"}
    assert any("X-Amz-Signature=[REDACTED]" in t for t in targets), targets
    assert any("sig=[REDACTED]" in t for t in targets), targets
    assert any("Token=[REDACTED]" in t for t in targets), targets
    run_info = json.loads((run_dir / "run.json").read_text())
    assert run_info["params"]["http"]["headers"]["x-api-key"] == "${HARDEN_VERIFY_API_KEY}"
    assert len(files) > 15


EXPECTED_SAFE = [
    "env_dotted",
    "env_double_underscore",
    "env_bare_password",
    "env_pg_pass",
    "env_spring",
    "env_conn_string",
    "env_broker_pass",
    "header_api_key",
    "header_basic",
    "command_env",
    "url_amz",
    "url_sas",
    "url_token_caps",
    "url_userinfo",
    "pg_url_password",
    "out_client_secret",
    "out_basic",
    "out_curl_header",
    "out_from_literal",
    "out_helm_set",
    "out_docker_env",
    "out_odbc",
    "out_jdbc",
    "out_logfmt",
    "out_url_at",
    "out_spring_prop",
    "out_ini",
]


@pytest.mark.parametrize("name", EXPECTED_SAFE)
def test_no_canary_in_any_file_or_on_the_console(run, name: str) -> None:
    assert where(run, name) == []


@pytest.mark.parametrize("name", list(KNOWN_LEAKS))
def test_forms_found_leaking(run, name: str) -> None:
    """Each form this file found leaking (``KNOWN_LEAKS`` says how it leaked) is fixed: no trace anywhere."""
    assert where(run, name) == []


def test_params_markup_written_other_ways_is_inert_in_every_html_report(run) -> None:
    _, reports, _, _, _, _, xss = run
    run_dir = (reports / "verifyleaks" / "latest").resolve()
    pages = sorted(run_dir.glob("*.html"))
    assert len(pages) >= 7
    live: dict[str, list[str]] = {}
    seen = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        seen += xss in text
        parser = _LiveMarkup(xss)
        parser.feed(text)
        if parser.found:
            live[page.name] = parser.found
    assert seen >= 2, "the markup was not shown anywhere: nothing was tested"
    assert not live, live
