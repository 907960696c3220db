"""Independent verification of issue 10, items 7 (one finding per secret) and 9 (secret names written other ways).

Item 7, on a real git repository written differently from ``tests/test_secrets_dedup.py``: a tracked
``.env.production`` with CRLF line ends and a multi-line quoted PEM value *before* other secrets (so
the env-file parser's line numbers must follow the continuation lines as detect-secrets does); a
compose file in list form (``- KEY=value``) with CRLF; a Dockerfile ``ARG`` default holding a GitHub
token and an AWS key (detect-secrets and the literal scanner both see them); camelCase keys in YAML and
JSON configuration; and one secret committed twice, in the env file and in the compose file. Every
(file, line) must carry exactly one finding, listing each detector, and no value may be shown.

Item 9: names from real deployments that are not in ``tests/test_redact.py`` (dotted and
double-underscore keys as Spring and ASP.NET write them, Tailscale's ``TS_AUTHKEY``, a wallet's seed
phrase), and the config area's ``required`` rule and inventory on an env file written with them:
no value of such a key may be shown, only its shape.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest

from harden_lib.checks import config, secrets
from harden_lib.envfile import load_env_file
from harden_lib.environment import Environment
from harden_lib.findings import Status
from harden_lib.redact import is_secret_key

# Fake secrets, random-looking, used nowhere real.
GH = "ghp_" + "Q7w2E9r4T1y8U3i6O5p0A2s9D4f7G1h3J6k8"
STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dcQ9wXyZ12"
SHARED = "Zu8Kq3Vn7Wp2Lx9Rt4Ym6Bc1"
AWS = "AKIAZ7QW3ER5TY9UI2OP"
PEM_BODY = "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oMTO0CZiRjEJoAoGCCqGSM49"
YAML_KEY = "Xk9mQ2wR7tY4uI8oP3aS6dF1"
YAML_SECRET = "Lm3Nb8Vc2Xz7Qw4Er9Ty1Ui6"
JSON_SECRET = "Pp4Oo9Ii2Uu7Yy1Tt6Rr3Ee8"
VALUES = (GH, STRIPE, SHARED, AWS, PEM_BODY, YAML_KEY, YAML_SECRET, JSON_SECRET)


@pytest.fixture(scope="module")
def audit(tmp_path_factory) -> secrets.SecretsAudit:
    repo = tmp_path_factory.mktemp("verify-dedup") / "shop"
    (repo / "config").mkdir(parents=True)
    (repo / ".env.production").write_bytes(
        (
            "# production\r\n"
            f'JWT_PRIVATE_KEY="-----BEGIN EC PRIVATE KEY-----\r\n{PEM_BODY}\r\n-----END EC PRIVATE KEY-----"\r\n'
            f"STRIPE_SECRET_KEY={STRIPE}\r\n"
            f"SESSION_SECRET={SHARED}\r\n"
            "LOG_LEVEL=info\r\n"
        ).encode()
    )
    (repo / "docker-compose.yml").write_bytes(
        (
            "services:\r\n  app:\r\n    image: shop:1\r\n    environment:\r\n"
            f"      - GITHUB_TOKEN={GH}\r\n"
            f"      - SESSION_SECRET={SHARED}\r\n"
            "      - NODE_ENV=production\r\n"
        ).encode()
    )
    (repo / "Dockerfile").write_text(f"FROM node:22-slim\nARG GH_TOKEN={GH}\nARG AWS_ACCESS_KEY_ID={AWS}\nRUN npm ci\n")
    (repo / "config" / "production.yml").write_text(
        f'payments:\n  apiKey: "{YAML_KEY}"\n  clientSecret: "{YAML_SECRET}"\n  currency: EUR\n'
    )
    (repo / "config" / "app.json").write_text(f'{{\n  "oauth": {{\n    "clientSecret": "{JSON_SECRET}"\n  }}\n}}\n')
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-c", "core.autocrlf=false"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
        subprocess.run([*git, *args], cwd=repo, check=True)
    return secrets.audit(Environment.model_validate({"environment": "prod", "secrets": {"repo_path": str(repo)}}))


def committed(audit: secrets.SecretsAudit) -> dict[str, str]:
    found = [f for f in audit.findings if f.check_id == "secrets.repo.committed_secret"]
    assert all(f.status is Status.FAIL for f in found)
    counts = Counter(f.target for f in found)
    assert all(n == 1 for n in counts.values()), counts
    return {f.target: f.observed for f in found}


EXPECTED = {
    "shop/.env.production:2": "PrivateKeyDetector, env file",
    "shop/.env.production:5": "StripeDetector, env file",
    "shop/.env.production:6": "env file",
    # detect-secrets sees nothing in a list-form compose file with another string key (Yelp/detect-secrets#791):
    # the kit's own compose scanner is what finds these two
    "shop/docker-compose.yml:5": "secret literal",
    "shop/docker-compose.yml:6": "secret literal",
    "shop/Dockerfile:2": "GitHubTokenDetector, secret literal",
    "shop/Dockerfile:3": "AWSKeyDetector, secret literal",
    "shop/config/production.yml:2": "KeywordDetector",
    "shop/config/production.yml:3": "KeywordDetector",
    "shop/config/app.json:3": "KeywordDetector",
}


def test_every_secret_line_is_one_finding_at_the_right_line(audit) -> None:
    observed = committed(audit)
    assert set(observed) == set(EXPECTED), sorted(observed)


@pytest.mark.parametrize("target", list(EXPECTED))
def test_each_finding_lists_its_detectors(audit, target: str) -> None:
    found_by = committed(audit)[target].rsplit("found by: ", 1)[1]
    for detector in EXPECTED[target].split(", "):
        assert detector in found_by.split(", "), (target, found_by)


def test_one_secret_in_two_files_is_one_finding_per_file_with_the_same_fingerprint(audit) -> None:
    lines = {(s.file, s.line): s for s in audit.secrets}
    in_env, in_compose = lines[(".env.production", 6)], lines[("docker-compose.yml", 6)]
    assert in_env.fingerprint and in_env.fingerprint == in_compose.fingerprint
    assert lines[(".env.production", 5)].fingerprint != in_env.fingerprint


def test_the_tracked_env_file_points_at_the_right_lines(audit) -> None:
    tracked = [f for f in audit.findings if f.check_id == "secrets.repo.env_file_tracked"]
    assert [(f.status, f.target) for f in tracked] == [(Status.FAIL, "shop/.env.production")]
    assert "holds 3 secret value(s) (line 2, 5, 6)" in tracked[0].observed, tracked[0].observed


def test_no_value_is_shown(audit) -> None:
    text = audit.hits_table().to_csv() + repr(audit) + "".join(f.model_dump_json() for f in audit.findings)
    leaked = [v for v in VALUES if v in text]
    assert not leaked, leaked


# --------------------------------------------------------------------------- item 9: names written other ways


@pytest.mark.parametrize(
    "name",
    [
        "db.password",
        "DB__PASSWORD",
        "Password",
        "PG_PASS",
        "x-api-key",
        "spring.datasource.password",
        "ConnectionStrings__Redis__Password",
        "ldap.bindPassword",
        "keystorePass",
        "storePassword",
        "npm_config__authToken",
        "NGROK_AUTHTOKEN",
        "SUPABASE_SERVICE_ROLE_KEY",
        "STRIPE_WEBHOOK_SIGNING_SECRET",
        "TURNSTILE_SECRET_KEY",
        "RABBITMQ_ERLANG_COOKIE",
        "KIBANA_ENCRYPTION_KEY",
        "GF_SECURITY_ADMIN_PASSWORD",
        "TWINE_PASSWORD",
        "OTP_SECRET",
        "HASH_SALT",
        "TS_AUTHKEY",
        "WALLET_SEED_PHRASE",
    ],
)
def test_secret_names_written_other_ways(name: str) -> None:
    assert is_secret_key(name) is True


SEED = "abandon ability able about above absent absorb abstract absurd abuse access accident"
WORD_VALUES = {
    "db.password": "plainwordsecretvalue",
    "DB__PASSWORD": "anotherplainwordvalue",
    "Password": "justlowercasewords",
    "PG_PASS": "lowercasepgpassvalue",
    "spring.datasource.password": "springlowercasepw",
    "ConnectionStrings__Redis__Password": "aspnetlowercasepw",
}


def run_config(tmp_path: Path, lines: dict[str, str], keys: list[str]) -> tuple[str, list]:
    env_file = tmp_path / "app.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
    env = Environment.model_validate(
        {
            "environment": "names",
            "config": {
                "env_file": str(env_file),
                "rules": [
                    {"kind": "required", "keys": keys},
                    *({"kind": "equals", "key": k, "value": "x", "id": f"config.eq.{i}"} for i, k in enumerate(keys)),
                ],
            },
        }
    )
    findings = config.run(env)
    inventory = config.env_inventory(load_env_file(env_file)).to_csv()
    return inventory + "".join(f.model_dump_json() for f in findings), findings


def test_required_and_equals_rules_show_only_the_shape_of_secret_named_keys(tmp_path) -> None:
    text, findings = run_config(tmp_path, WORD_VALUES, list(WORD_VALUES))
    assert len([f for f in findings if f.check_id == "config.required"]) == len(WORD_VALUES)
    leaked = [k for k, v in WORD_VALUES.items() if v in text]
    assert not leaked, leaked
    assert "present, 20 chars" in text  # the shape is what is shown


def test_required_never_prints_a_value_even_under_a_plain_name(tmp_path) -> None:
    plain = {"APP_REGION": "eu-west-3-paris-zone", "FEATURE_FLAGS": "checkout,search,reviews"}
    env_file = tmp_path / "plain.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in plain.items()))
    env = Environment.model_validate(
        {
            "environment": "p",
            "config": {"env_file": str(env_file), "rules": [{"kind": "required", "keys": list(plain)}]},
        }
    )
    required = [f for f in config.run(env) if f.check_id == "config.required"]
    assert len(required) == 2 and all(f.status is Status.PASS for f in required)
    for finding in required:
        assert not any(v in finding.observed for v in plain.values()), finding.observed


def test_a_wallet_seed_phrase_is_never_shown(tmp_path) -> None:
    text, _ = run_config(tmp_path, {"WALLET_SEED_PHRASE": SEED}, ["WALLET_SEED_PHRASE"])
    assert SEED not in text and "abandon ability" not in text


def test_a_token_in_a_yaml_sequence_outside_compose_is_reported(tmp_path) -> None:
    repo = tmp_path / "deploy-repo"
    (repo / "k8s").mkdir(parents=True)
    (repo / "k8s" / "migrate-job.yaml").write_text(
        "apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n"
        f'        - name: migrate\n          image: shop:1\n          args: ["--github-token={GH}"]\n'
    )
    (repo / "k8s" / "values.yaml").write_text(f"image: shop:1\nenv:\n  - GITHUB_TOKEN={GH}\n")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
        subprocess.run([*git, *args], cwd=repo, check=True)
    found = secrets.audit(Environment.model_validate({"environment": "k", "secrets": {"repo_path": str(repo)}}))
    failed = {
        f.target for f in found.findings if f.check_id == "secrets.repo.committed_secret" and f.status is Status.FAIL
    }
    assert failed == {"deploy-repo/k8s/migrate-job.yaml:9", "deploy-repo/k8s/values.yaml:3"}, failed
