"""One finding per committed secret, however many detectors see it (a real git repository in tmp_path)."""

from __future__ import annotations

import subprocess
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from harden_lib.checks import secrets
from harden_lib.environment import Environment
from harden_lib.findings import Severity, Status

# Fake secrets, random-looking, never used anywhere real.
AWS_IN_DOCKERFILE = "AKIAT4NW8QX2ZL6PR9KD"
AWS_IN_CODE = "AKIAM3VB7YC1XN5QJ8RF"
STRIPE_IN_ENV = "sk_live_51JqT8wKp3Zr7Vn2Lx9Bc4Md6"
UNQUOTED_TOKEN = "Pq7Xw2Nv9Lr4Tz8Kc3Hm6B"  # detect-secrets does not flag it in a .env; the env-file parser does
DB_PASSWORD = "Wn4Rk8Zp2Qv6Ty"
GITHUB_IN_COMPOSE = "ghp_N7qW2eR9tY4uI8oP3aS6dF1gH5jK0lZ2xC4v"
LEGACY_ENV_VALUE = "Jd8Ks2Lq7Wm3Xn9Rb4Tc6Vf1"
PASSWORD_A = "Hv3Nq8Wx2Lp7Zr5Kt9Bm4Cd"
TOKEN_B = "ghp_Z1x2C3v4B5n6M7a8S9d0F1g2H3j4K5l6Q7w8"
VALUES = (
    AWS_IN_DOCKERFILE,
    AWS_IN_CODE,
    STRIPE_IN_ENV,
    UNQUOTED_TOKEN,
    DB_PASSWORD,
    GITHUB_IN_COMPOSE,
    LEGACY_ENV_VALUE,
    PASSWORD_A,
    TOKEN_B,
)


def write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


@pytest.fixture(scope="module")
def audit(tmp_path_factory) -> secrets.SecretsAudit:
    repo = tmp_path_factory.mktemp("dedup") / "webshop"
    write(
        repo,
        "Dockerfile",
        f"""
        FROM node:22-slim
        ENV AWS_ACCESS_KEY_ID={AWS_IN_DOCKERFILE}
        ENV SESSION_SIGNING_KEY {LEGACY_ENV_VALUE}
        """,
    )
    write(repo, "src/aws.js", f'export const awsSecret = "{AWS_IN_CODE}";\n')
    write(
        repo,
        "config/.env.staging",
        f"""
        # committed by mistake
        STRIPE_SECRET_KEY={STRIPE_IN_ENV}
        export SERVICE_TOKEN={UNQUOTED_TOKEN}
        DATABASE_URL=postgres://shop:{DB_PASSWORD}@db.internal:5432/shop
        LOG_LEVEL=warn
        """,
    )
    write(
        repo,
        "compose.yaml",
        f"""
        services:
          ci:
            environment:
              GITHUB_TOKEN: "{GITHUB_IN_COMPOSE}"
              CI: "true"
        """,
    )
    write(repo, "src/two.py", f'db_password = "{PASSWORD_A}"; gh = "{TOKEN_B}"\n')
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "x"]):
        subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=repo, check=True)
    return secrets.audit(Environment.model_validate({"environment": "prod", "secrets": {"repo_path": str(repo)}}))


def committed(audit: secrets.SecretsAudit) -> dict[str, str]:
    found = [f for f in audit.findings if f.check_id == "secrets.repo.committed_secret" and f.status is Status.FAIL]
    counts = Counter(f.target for f in found)
    assert all(n == 1 for n in counts.values()), counts  # finding identity: unique targets
    return {f.target: f.observed for f in found}


@pytest.mark.parametrize(
    ("target", "detectors"),
    [
        ("webshop/Dockerfile:2", "AWSKeyDetector, secret literal"),
        ("webshop/src/aws.js:1", "AWSKeyDetector, KeywordDetector, line scan"),
        ("webshop/config/.env.staging:2", "StripeDetector, env file"),
        ("webshop/compose.yaml:4", "Base64HighEntropyString, GitHubTokenDetector, secret literal"),
        ("webshop/config/.env.staging:4", "BasicAuthDetector, env file"),
    ],
)
def test_a_line_seen_by_several_detectors_is_one_finding_listing_them(audit, target, detectors):
    observed = committed(audit)
    assert target in observed, sorted(observed)
    assert observed[target].endswith(f"found by: {detectors}"), observed[target]
    line = int(target.rsplit(":", 1)[1])
    file = target.split("/", 1)[1].rsplit(":", 1)[0]
    assert [h for h in audit.secrets if (h.file, h.line) == (file, line)] != []
    assert len([h for h in audit.secrets if (h.file, h.line) == (file, line)]) == 1


def test_secrets_only_the_kit_sees_are_reported_once_too(audit):
    observed = committed(audit)
    assert observed["webshop/config/.env.staging:3"] == (
        "SERVICE_TOKEN is set in a tracked env file; found by: env file"
    )
    assert observed["webshop/Dockerfile:3"] == (
        "SESSION_SIGNING_KEY is a literal in Dockerfile ENV; found by: secret literal"
    )


def test_two_different_secrets_on_one_line_stay_two_findings(audit):
    observed = committed(audit)
    on_line = sorted(t for t in observed if t.startswith("webshop/src/two.py:1"))
    # Told apart by the column where each value starts (stable across runs), never by the value.
    line = f'db_password = "{PASSWORD_A}"; gh = "{TOKEN_B}"'
    assert on_line == [
        f"webshop/src/two.py:1:{line.index(PASSWORD_A) + 1}",
        f"webshop/src/two.py:1:{line.index(TOKEN_B) + 1}",
    ]
    two = [h for h in audit.secrets if h.file == "src/two.py"]
    assert len(two) == 2 and two[0].fingerprint != two[1].fingerprint and all(two[i].fingerprint for i in (0, 1))
    assert "GitHubTokenDetector" in two[1].detectors and "KeywordDetector" in two[0].detectors


def test_file_level_findings_point_at_the_per_secret_findings(audit):
    tracked = [f for f in audit.findings if f.check_id == "secrets.repo.env_file_tracked"]
    assert [(f.status, f.target) for f in tracked] == [(Status.FAIL, "webshop/config/.env.staging")]
    assert "holds 3 secret value(s) (line 2, 3, 4), each reported once" in tracked[0].observed
    literal = {f.target: f for f in audit.findings if f.check_id == "secrets.repo.literal"}
    assert set(literal) == {"webshop/Dockerfile", "webshop/compose.yaml"}
    assert "GITHUB_TOKEN at line 4" in literal["webshop/compose.yaml"].observed


def test_the_hits_table_has_one_row_per_secret_and_no_value(audit):
    table = audit.hits_table()
    located = table.dropna(subset=["line"])
    assert len(located) == len(audit.secrets) == len(committed(audit))
    text = table.to_csv() + repr(audit) + "".join(f.model_dump_json() for f in audit.findings)
    for value in VALUES:
        assert value not in text
    for secret in audit.secrets:
        assert secret.fingerprint not in text  # kept for grouping only, never shown


def test_the_highest_severity_of_the_detectors_wins():
    low = secrets._Hit("a.py", 3, "IPPublicDetector", Severity.LOW, "34.117.59.81", kind="Public IP (ipv4)")
    high = secrets._Hit("a.py", 3, "BasicAuthDetector", Severity.HIGH, "Zq8Wm2Xv", kind="Basic Auth Credentials")
    text = 'DB = "postgres://u:Zq8Wm2Xv@34.117.59.81/db"'
    alone = secrets.merge_hits([low], {("a.py", 3): text})
    assert [h.severity for h in alone] == [Severity.LOW]
    # Two detectors, two different values on one line: two secrets, each with its own severity.
    both = secrets.merge_hits([low, high], {("a.py", 3): text})
    assert sorted(h.severity.value for h in both) == ["high", "low"]
    # Two detectors, one value: one secret at the higher severity.
    same = secrets._Hit("a.py", 3, "KeywordDetector", Severity.HIGH, "34.117.59.81", kind="Secret Keyword")
    merged = secrets.merge_hits([low, same], {("a.py", 3): text})
    assert [(h.severity, h.detectors) for h in merged] == [(Severity.HIGH, ("IPPublicDetector", "KeywordDetector"))]
