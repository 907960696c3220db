"""The secrets area against real files and a real git repository made in tmp_path."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from harden_lib.checks import secrets
from harden_lib.environment import Environment, load_environment
from harden_lib.findings import Finding, Severity, Status

ROOT = Path(__file__).resolve().parent.parent

# Fake secrets planted by these tests (random-looking, never used anywhere real).
AWS_KEY = "AKIAQ7XRZ2M4LK9TW3PB"  # AKIA + 16 upper-case alphanumerics: detect-secrets' AWS key shape
AWS_KEY_FIXTURE = "AKIAZ3PQ8WMV5TR2KX7N"
AWS_KEY_UNTRACKED = "AKIAW9X2Y7Z4Q1R8T5V3"
ENV_PROD_SECRET = "Qm9ndXMtZGVtby1zZWNyZXQtZm9yLWhhcmRlbi10ZXN0cw"
TEMPLATE_SECRET = "d85IcVYLEBdHj6xl1QD3mslnbx5qQeCERHyEtJzS"
COMPOSE_PASSWORD = "Pg-literal-7f3a9c2e5b"
DOCKER_TOKEN = "npm_Fk3Jd8Lq2Wz7Xc5Vb1Hn"
SHARED_SECRET = "d75frZGj5iZvzp6FSEu97F2i7qiVswfEXxvzj8Hl"
PROD_ONLY = "_CAF0R_VRWEaDH0XWotwcIq8kgE1cOiN8kMtzbZGnOC4q_DS"
STAGING_ONLY = "-v_wyY0SqVmLHf60fHlwp7XA_5dmpAhnSL59-CaY"
WEAK = "changeme-please"
LOW_ENTROPY = "ab12ba21a1b2b1a2ab21ba12a2b1b2a1"  # 32 characters from a 4-character alphabet
PROD_PASSWORD = "MtKl3UAymRyY2jct-gv4m-_LBxCmavDk"
STAGING_PASSWORD = "fAq75-NVxnBEIMi-LvjALRS6K-7D"
ALL_VALUES = (
    AWS_KEY,
    AWS_KEY_FIXTURE,
    AWS_KEY_UNTRACKED,
    ENV_PROD_SECRET,
    TEMPLATE_SECRET,
    COMPOSE_PASSWORD,
    DOCKER_TOKEN,
    SHARED_SECRET,
    PROD_ONLY,
    STAGING_ONLY,
    WEAK,
    LOW_ENTROPY,
    PROD_PASSWORD,
    STAGING_PASSWORD,
)

# Counts forks made by this process (subprocess launches do not trigger it): an observation, not a mock.
_FORKS: list[int] = []
os.register_at_fork(after_in_parent=lambda: _FORKS.append(1))


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-c", "init.defaultBranch=main", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def make_repo(root: Path, *, git_init: bool = True) -> Path:
    """A small checkout with every kind of mistake; committed when ``git_init``."""
    repo = root / "shop"
    write(repo, "README.md", "# shop\nNothing secret here.\n")
    write(
        repo,
        "app/settings.py",
        f"""
        import os

        DATABASE_URL = os.environ["DATABASE_URL"]
        AWS_ACCESS_KEY_ID = "{AWS_KEY}"
        """,
    )
    write(repo, "tests/fixtures/fake_keys.py", f'FAKE = "{AWS_KEY_FIXTURE}"\n')
    write(repo, "deploy/.env.production", f"NEXTAUTH_SECRET={ENV_PROD_SECRET}\nLOG_LEVEL=info\n")
    write(
        repo, ".env.example", f"NEXTAUTH_SECRET=\nENCRYPTION_KEY=changeme\nTURN_STATIC_AUTH_SECRET={TEMPLATE_SECRET}\n"
    )
    write(repo, ".env.template", "NEXTAUTH_SECRET=\nDATABASE_URL=postgres://localhost/db\n")
    write(
        repo,
        "docker-compose.yml",
        f"""
        services:
          api:
            environment:
              NEXTAUTH_SECRET: ${{NEXTAUTH_SECRET}}
              LOG_LEVEL: info
          db:
            environment:
              - POSTGRES_USER=shop
              - POSTGRES_PASSWORD={COMPOSE_PASSWORD}
        """,
    )
    write(repo, "Dockerfile", f"FROM node:20\nARG NPM_TOKEN={DOCKER_TOKEN}\nENV NODE_ENV=production\n")
    if git_init:
        git(repo, "init", "-q")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "initial")
    return repo


def clean_repo(root: Path) -> Path:
    repo = root / "clean"
    write(repo, "app/main.py", "import os\nTOKEN = os.environ['API_TOKEN']\n")
    write(repo, "docker-compose.yml", "services:\n  api:\n    environment:\n      API_TOKEN: ${API_TOKEN}\n")
    write(repo, "Dockerfile", "FROM python:3.12\nARG VERSION=1\nENV PORT=8000\n")
    write(repo, ".env.example", "API_TOKEN=\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    return repo


def env_for(**sections) -> Environment:
    return Environment.model_validate({"environment": "production", **sections})


def by_id(findings: list[Finding], check_id: str) -> list[Finding]:
    return [f for f in findings if f.check_id == check_id]


def one(findings: list[Finding], check_id: str, target: str | None = None) -> Finding:
    hits = [f for f in by_id(findings, check_id) if target is None or f.target == target]
    assert len(hits) == 1, f"{check_id} [{target}]: {[(f.status, f.target) for f in by_id(findings, check_id)]}"
    return hits[0]


def assert_no_value(audit: secrets.SecretsAudit) -> None:
    texts = [repr(audit), audit.hits_table().to_csv(), audit.fingerprint_table().to_csv()]
    texts += [f.model_dump_json() for f in audit.findings]
    texts += [repr(f) for f in audit.findings]
    for text in texts:
        for value in ALL_VALUES:
            assert value not in text


@pytest.fixture(scope="module")
def repo_audit(tmp_path_factory) -> tuple[Path, secrets.SecretsAudit]:
    """One audit of the messy repository, shared by the assertions below (detect-secrets is the slow part)."""
    root = tmp_path_factory.mktemp("repo")
    repo = make_repo(root)
    write(repo, "untracked.py", f'KEY = "{AWS_KEY_UNTRACKED}"\n')  # never added to git
    write(
        repo, "docker-compose.override.yml", f"services:\n  api:\n    environment:\n      - API_SECRET={DOCKER_TOKEN}\n"
    )
    env = env_for(secrets={"repo_path": str(repo), "exclude": ["tests/fixtures/*"]})
    return repo, secrets.audit(env)


# --------------------------------------------------------------------------- the repository


def test_committed_secret_in_tracked_file_fails_with_file_and_line(repo_audit):
    repo, audit = repo_audit
    finding = one(audit.findings, "secrets.repo.committed_secret", "shop/app/settings.py:4")
    assert finding.status is Status.FAIL
    assert finding.severity is Severity.HIGH
    assert finding.observed == "AWS Access Key; found by: AWSKeyDetector"
    assert secrets.CommittedSecret(file="app/settings.py", line=4, kind="AWS Access Key") in audit.committed
    assert AWS_KEY in (repo / "app/settings.py").read_text().splitlines()[3]


def test_untracked_and_excluded_files_are_not_reported(repo_audit):
    _, audit = repo_audit
    files = {c.file for c in audit.committed}
    assert "untracked.py" not in files
    assert "tests/fixtures/fake_keys.py" not in files
    targets = " ".join(f.target for f in audit.findings)
    assert "untracked.py" not in targets and "fake_keys.py" not in targets and "override" not in targets
    # Tracked: README, settings, .env.production, .env.example, .env.template, compose, Dockerfile (fixture excluded).
    assert audit.scanned_files == 7


def test_tracked_env_file_fails_templates_do_not(repo_audit):
    _, audit = repo_audit
    assert audit.tracked_env_files == ["deploy/.env.production"]
    tracked = by_id(audit.findings, "secrets.repo.env_file_tracked")
    assert [(f.status, f.target) for f in tracked] == [(Status.FAIL, "shop/deploy/.env.production")]
    assert "git rm --cached deploy/.env.production" in tracked[0].remediation


def test_template_with_real_looking_value_warns_placeholder_template_passes(repo_audit):
    _, audit = repo_audit
    example = one(audit.findings, "secrets.repo.template_values", "shop/.env.example")
    assert example.status is Status.WARN
    assert example.severity is Severity.MEDIUM
    assert example.observed == "real-looking values for TURN_STATIC_AUTH_SECRET"
    template = one(audit.findings, "secrets.repo.template_values", "shop/.env.template")
    assert template.status is Status.PASS


def test_compose_and_dockerfile_literals_fail(repo_audit):
    _, audit = repo_audit
    # Per container file: what is wrong with the file.
    literal = {f.target: f for f in by_id(audit.findings, "secrets.repo.literal")}
    assert set(literal) == {"shop/docker-compose.yml", "shop/Dockerfile"}
    assert all(f.status is Status.FAIL for f in literal.values())
    assert literal["shop/docker-compose.yml"].observed == (
        "1 secret literal(s): POSTGRES_PASSWORD at line 9 (compose service 'db' environment); "
        "each secret is reported once under secrets.repo.committed_secret"
    )
    assert literal["shop/Dockerfile"].observed.startswith("1 secret literal(s): NPM_TOKEN at line 2 (Dockerfile ARG)")
    # Per secret: once, naming the detector.
    compose = one(audit.findings, "secrets.repo.committed_secret", "shop/docker-compose.yml:9")
    assert compose.observed == (
        "POSTGRES_PASSWORD is a literal in compose service 'db' environment; found by: secret literal"
    )
    assert "${VAR}" in compose.remediation
    # detect-secrets sees this one too: still one finding, listing both detectors.
    docker = one(audit.findings, "secrets.repo.committed_secret", "shop/Dockerfile:2")
    assert docker.observed == (
        "NPM_TOKEN is a literal in Dockerfile ARG; Base64 High Entropy String; "
        "found by: Base64HighEntropyString, secret literal"
    )


def test_hits_table_lists_every_hit_without_values(repo_audit):
    _, audit = repo_audit
    table = audit.hits_table()
    assert list(table.columns) == ["file", "line", "what", "found by"]
    whats = set(table["what"])
    assert "AWS Access Key" in whats
    assert "POSTGRES_PASSWORD is a literal in compose service 'db' environment" in whats
    assert "NPM_TOKEN is a literal in Dockerfile ARG; Base64 High Entropy String" in whats
    assert "env file tracked by git" in whats
    # One row per secret: no (file, line) twice.
    located = table.dropna(subset=["line"])
    assert not located.duplicated(subset=["file", "line"]).any()
    assert_no_value(audit)


def test_clean_repository_passes(tmp_path):
    repo = clean_repo(tmp_path)
    audit = secrets.audit(env_for(secrets={"repo_path": str(repo)}))
    statuses = {f.check_id: (f.status, f.target) for f in audit.findings}
    assert statuses["secrets.repo.committed_secret"] == (Status.PASS, "clean")
    assert statuses["secrets.repo.env_file_tracked"] == (Status.PASS, "clean")
    assert statuses["secrets.repo.literal"] == (Status.PASS, "clean")
    assert statuses["secrets.repo.template_values"] == (Status.PASS, "clean/.env.example")
    assert one(audit.findings, "secrets.repo.literal").observed == "2 compose/Dockerfiles scanned"
    assert not by_id(audit.findings, "secrets.repo.git")
    assert audit.committed == [] and audit.literals == [] and audit.tracked_env_files == []


def test_exclude_globs_match_paths_and_names(tmp_path):
    repo = make_repo(tmp_path)
    audit = secrets.audit(
        env_for(secrets={"repo_path": str(repo), "exclude": ["app/*", "Dockerfile", "*.production", "tests/*"]})
    )
    assert audit.committed == []  # detect-secrets found nothing in what is left
    assert one(audit.findings, "secrets.repo.env_file_tracked").status is Status.PASS
    assert [f.target for f in by_id(audit.findings, "secrets.repo.literal")] == ["shop/docker-compose.yml"]
    assert [f.target for f in by_id(audit.findings, "secrets.repo.committed_secret")] == ["shop/docker-compose.yml:9"]


def test_custom_env_templates(tmp_path):
    repo = make_repo(tmp_path)
    audit = secrets.audit(env_for(secrets={"repo_path": str(repo), "env_templates": [".env.production", ".env.ex*"]}))
    tracked = [(f.status, f.target) for f in by_id(audit.findings, "secrets.repo.env_file_tracked")]
    # .env.template is no longer a declared template: tracked and failing; .env.production is declared one.
    assert tracked == [(Status.FAIL, "shop/.env.template")]
    templates = {f.target: f.status for f in by_id(audit.findings, "secrets.repo.template_values")}
    assert templates == {"shop/deploy/.env.production": Status.WARN, "shop/.env.example": Status.WARN}


def test_not_a_git_folder_warns_and_scans_every_file(tmp_path):
    repo = make_repo(tmp_path, git_init=False)
    write(repo, "untracked.py", f'KEY = "{AWS_KEY_UNTRACKED}"\n')
    audit = secrets.audit(env_for(secrets={"repo_path": str(repo)}))
    git_finding = one(audit.findings, "secrets.repo.git")
    assert (git_finding.status, git_finding.severity, git_finding.target) == (Status.WARN, Severity.LOW, "shop")
    files = {c.file for c in audit.committed}
    assert {"app/settings.py", "untracked.py", "tests/fixtures/fake_keys.py"} <= files
    assert one(audit.findings, "secrets.repo.committed_secret", "shop/untracked.py:1").status is Status.FAIL
    assert one(audit.findings, "secrets.repo.env_file_tracked").target == "shop/deploy/.env.production"
    assert audit.scanned_files == 9
    assert_no_value(audit)


def test_missing_repo_path_is_an_error(tmp_path):
    missing = tmp_path / "nowhere"
    audit = secrets.audit(env_for(secrets={"repo_path": str(missing)}))
    finding = one(audit.findings, "secrets.repo")
    assert (finding.status, finding.target, finding.observed) == (
        Status.ERROR,
        str(missing),
        "the folder does not exist",
    )
    assert not [f for f in audit.findings if f.check_id.startswith("secrets.repo.")]


def test_not_configured_is_skipped():
    audit = secrets.audit(env_for())
    assert [(f.check_id, f.status) for f in audit.findings] == [
        ("secrets.repo", Status.SKIP),
        ("secrets.env", Status.SKIP),
    ]
    assert audit.hits_table().empty and audit.fingerprint_table().empty


def test_large_files_are_not_scanned(tmp_path):
    repo = tmp_path / "big"
    write(repo, "small.txt", "hello\n")
    write(repo, "big.py", f'KEY = "{AWS_KEY}"\n' + "# padding\n" * 300)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "x")
    audit = secrets.audit(env_for(secrets={"repo_path": str(repo), "max_file_bytes": 1000}))
    assert audit.scanned_files == 1
    # A file left unread is no evidence that it holds no secret: warn, naming it, never pass.
    finding = one(audit.findings, "secrets.repo.committed_secret")
    assert finding.status is Status.WARN and finding.target == "big"
    assert "1 larger than secrets.max_file_bytes (1,000 bytes) were not: big.py" in finding.observed
    assert audit.too_large == ["big.py"]
    # Below the catalog's high: no secret was found, the scan is incomplete; the finding says so.
    assert finding.severity is Severity.MEDIUM and "incomplete scan" in finding.severity_reason


def test_tracked_but_deleted_file_is_skipped(tmp_path):
    repo = make_repo(tmp_path)
    (repo / "app/settings.py").unlink()  # still tracked, gone from the work tree
    audit = secrets.audit(env_for(secrets={"repo_path": str(repo)}))
    assert "app/settings.py" not in {c.file for c in audit.committed}


def test_scan_committed_does_not_fork(tmp_path):
    repo = clean_repo(tmp_path)
    before = len(_FORKS)
    secrets.scan_committed(repo, ["app/main.py", "Dockerfile", "docker-compose.yml"])
    assert len(_FORKS) == before


# --------------------------------------------------------------------------- env files


def env_files(tmp_path: Path, staging_shared: bool = True) -> tuple[Path, Path]:
    prod = write(
        tmp_path,
        "prod.env",
        f"""
        NODE_ENV=production
        NEXTAUTH_SECRET={SHARED_SECRET}
        TURN_STATIC_AUTH_SECRET={PROD_ONLY}
        SESSION_SECRET={WEAK}
        SIGNING_KEY={LOW_ENTROPY}
        DB_PASSWORD={PROD_PASSWORD}
        LOG_LEVEL=info
        """,
    )
    staging = write(
        tmp_path,
        "staging.env",
        f"""
        NODE_ENV=production
        NEXTAUTH_SECRET={SHARED_SECRET if staging_shared else STAGING_ONLY + "x"}
        TURN_STATIC_AUTH_SECRET={STAGING_ONLY}
        DB_PASSWORD={STAGING_PASSWORD}
        LOG_LEVEL=debug
        """,
    )
    return prod, staging


def env_audit(prod: Path, others: dict[str, Path]) -> secrets.SecretsAudit:
    env = env_for(config={"env_file": str(prod)}, secrets={"env_files": {k: str(v) for k, v in others.items()}})
    return secrets.audit(env)


def test_shared_secret_between_environments_fails(tmp_path):
    prod, staging = env_files(tmp_path)
    audit = env_audit(prod, {"staging": staging})
    shared = {f.target: f for f in by_id(audit.findings, "secrets.env.shared")}
    # SESSION_SECRET is only in production: not compared.
    assert set(shared) == {"NEXTAUTH_SECRET", "TURN_STATIC_AUTH_SECRET", "DB_PASSWORD"}
    assert shared["NEXTAUTH_SECRET"].status is Status.FAIL
    assert shared["NEXTAUTH_SECRET"].observed == "same value in production and staging (keyed fingerprints match)"
    assert shared["NEXTAUTH_SECRET"].severity is Severity.HIGH
    assert shared["TURN_STATIC_AUTH_SECRET"].status is Status.PASS
    assert shared["TURN_STATIC_AUTH_SECRET"].observed == "distinct in production, staging"
    assert shared["DB_PASSWORD"].status is Status.PASS
    assert_no_value(audit)


def test_fingerprints_equal_for_shared_and_differ_for_distinct(tmp_path):
    prod, staging = env_files(tmp_path)
    audit = env_audit(prod, {"staging": staging})
    table = audit.fingerprint_table().set_index("key")
    assert list(table.columns) == ["production", "staging", "shared"]
    assert table.loc["NEXTAUTH_SECRET", "production"] == table.loc["NEXTAUTH_SECRET", "staging"]
    assert table.loc["NEXTAUTH_SECRET", "shared"] == "YES"
    assert table.loc["TURN_STATIC_AUTH_SECRET", "production"] != table.loc["TURN_STATIC_AUTH_SECRET", "staging"]
    assert table.loc["TURN_STATIC_AUTH_SECRET", "shared"] == ""
    assert "SESSION_SECRET" not in table.index
    fingerprint = table.loc["NEXTAUTH_SECRET", "production"]
    assert len(fingerprint) == 16 and int(fingerprint, 16) >= 0
    # Not a plain (unkeyed) hash of the value.
    import hashlib

    for algo in ("sha256", "sha1", "md5"):
        assert fingerprint not in hashlib.new(algo, SHARED_SECRET.encode()).hexdigest()


def test_fingerprints_use_a_fresh_key_per_run(tmp_path):
    prod, staging = env_files(tmp_path)
    first = env_audit(prod, {"staging": staging}).fingerprints["NEXTAUTH_SECRET"]
    second = env_audit(prod, {"staging": staging}).fingerprints["NEXTAUTH_SECRET"]
    assert first["production"] == first["staging"]
    assert second["production"] == second["staging"]
    assert first["production"] != second["production"]


def test_three_environments_name_only_the_sharing_ones(tmp_path):
    prod, staging = env_files(tmp_path)
    dev = write(tmp_path, "dev.env", f"NEXTAUTH_SECRET={STAGING_ONLY}Z\nDB_PASSWORD={STAGING_PASSWORD}\n")
    audit = env_audit(prod, {"staging": staging, "dev": dev})
    shared = {f.target: f for f in by_id(audit.findings, "secrets.env.shared")}
    assert shared["NEXTAUTH_SECRET"].status is Status.FAIL
    assert shared["NEXTAUTH_SECRET"].observed == "same value in production and staging (keyed fingerprints match)"
    assert shared["DB_PASSWORD"].status is Status.FAIL
    assert shared["DB_PASSWORD"].observed == "same value in dev and staging (keyed fingerprints match)"
    assert list(audit.fingerprint_table().columns) == ["key", "dev", "production", "staging", "shared"]


def test_distinct_secrets_pass(tmp_path):
    prod, staging = env_files(tmp_path, staging_shared=False)
    audit = env_audit(prod, {"staging": staging})
    shared = by_id(audit.findings, "secrets.env.shared")
    assert shared and all(f.status is Status.PASS for f in shared)
    assert (audit.fingerprint_table()["shared"] == "").all()


def test_strength_of_own_env_file(tmp_path):
    prod, staging = env_files(tmp_path)
    audit = env_audit(prod, {"staging": staging})
    strength = {f.target: f for f in by_id(audit.findings, "secrets.env.strength")}
    # Only this environment's own file is judged; staging's keys are not.
    assert set(strength) == {
        "prod.env:NEXTAUTH_SECRET",
        "prod.env:TURN_STATIC_AUTH_SECRET",
        "prod.env:SESSION_SECRET",
        "prod.env:SIGNING_KEY",
        "prod.env:DB_PASSWORD",
    }
    assert strength["prod.env:TURN_STATIC_AUTH_SECRET"].status is Status.PASS
    assert strength["prod.env:NEXTAUTH_SECRET"].status is Status.PASS
    weak = strength["prod.env:SESSION_SECRET"]
    assert weak.status is Status.FAIL
    assert "only 15 characters (at least 32 required)" in weak.observed
    assert "at least 32 characters" in weak.expected
    assert strength["prod.env:DB_PASSWORD"].status is Status.PASS
    # Long enough, but a tiny alphabet: fails on estimated entropy alone.
    low = strength["prod.env:SIGNING_KEY"]
    assert low.status is Status.FAIL
    assert low.observed == (
        "present, 32 chars, classes lower+digit, ~64 bits entropy; estimated entropy ~64 bits (at least 128 required)"
    )
    assert_no_value(audit)


def test_strength_thresholds_come_from_params(tmp_path):
    prod, _ = env_files(tmp_path)
    env = env_for(config={"env_file": str(prod)}, secrets={"strength": {"min_length": 8, "min_entropy_bits": 32}})
    strength = {f.target: f.status for f in by_id(secrets.audit(env).findings, "secrets.env.strength")}
    assert strength["prod.env:SIGNING_KEY"] is Status.PASS
    assert strength["prod.env:SESSION_SECRET"] is Status.FAIL  # weak shape still fails
    assert not by_id(secrets.audit(env).findings, "secrets.env.shared")  # a single environment: nothing to compare


def test_missing_env_file_is_an_error(tmp_path):
    prod, _ = env_files(tmp_path)
    audit = env_audit(prod, {"staging": tmp_path / "absent.env"})
    error = one(audit.findings, "secrets.env")
    assert (error.status, error.target) == (Status.ERROR, "staging: absent.env")
    assert "env file does not exist" in error.observed
    # The own file is still judged; with one readable environment nothing is compared.
    assert by_id(audit.findings, "secrets.env.strength")
    assert not by_id(audit.findings, "secrets.env.shared")


def test_missing_own_env_file_is_an_error_and_others_still_compared(tmp_path):
    _, staging = env_files(tmp_path)
    dev = write(tmp_path, "dev.env", f"NEXTAUTH_SECRET={SHARED_SECRET}\n")
    audit = env_audit(tmp_path / "nope.env", {"staging": staging, "dev": dev})
    assert one(audit.findings, "secrets.env").target == "production: nope.env"
    assert not by_id(audit.findings, "secrets.env.strength")
    shared = one(audit.findings, "secrets.env.shared", "NEXTAUTH_SECRET")
    assert shared.observed == "same value in dev and staging (keyed fingerprints match)"


def test_load_environment_from_yaml(tmp_path):
    repo = make_repo(tmp_path)
    env_files(tmp_path)
    params = write(
        tmp_path,
        "params/production.yaml",
        """
        environment: production
        config: {env_file: ../prod.env}
        secrets:
          repo_path: ../shop
          exclude: ["tests/fixtures/*"]
          env_files: {staging: ../staging.env}
        """,
    )
    env = load_environment(params, environ={})
    assert env.secrets.repo_path == repo
    audit = secrets.audit(env)
    assert secrets.run(env)  # the notebook's entry point gives findings too
    ids = {f.check_id for f in audit.findings if f.status is Status.FAIL}
    assert ids == {
        "secrets.repo.committed_secret",
        "secrets.repo.env_file_tracked",
        "secrets.repo.literal",
        "secrets.env.shared",
        "secrets.env.strength",
    }
    assert_no_value(audit)


def test_plot_findings(tmp_path):
    prod, staging = env_files(tmp_path)
    figure = secrets.plot_findings(env_audit(prod, {"staging": staging}).findings)
    assert figure.axes


# --------------------------------------------------------------------------- the demo


def test_demo_secrets_area(tmp_path):
    """The demo's story: committed keys, a tracked .env, a filled template, literals, a shared secret."""
    # Copy the sample repo into its own git repository, so the test does not depend on the kit's checkout.
    repo = tmp_path / "sample-repo"
    shutil.copytree(ROOT / "harden_lib/demo/sample-repo", repo)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "demo")
    env = load_environment(ROOT / "params/demo.yaml")
    env = env.model_copy(update={"secrets": env.secrets.model_copy(update={"repo_path": repo})})
    audit = secrets.audit(env)
    fails = {(f.check_id, f.target) for f in audit.findings if f.status is Status.FAIL}
    assert ("secrets.repo.committed_secret", "sample-repo/app/settings.py:7") in fails
    assert ("secrets.repo.env_file_tracked", "sample-repo/deploy/.env.production") in fails
    assert ("secrets.repo.literal", "sample-repo/Dockerfile") in fails
    assert ("secrets.repo.literal", "sample-repo/docker-compose.yml") in fails
    assert ("secrets.repo.committed_secret", "sample-repo/Dockerfile:3") in fails
    assert ("secrets.repo.committed_secret", "sample-repo/docker-compose.yml:13") in fails
    # The tracked env file's secret: two detect-secrets plugins and the env-file parser, one finding.
    env_line = one(audit.findings, "secrets.repo.committed_secret", "sample-repo/deploy/.env.production:2")
    assert env_line.observed.endswith("found by: Base64HighEntropyString, KeywordDetector, env file")
    assert ("secrets.env.shared", "NEXTAUTH_SECRET") in fails
    assert not any("fixtures" in target for _, target in fails)
    template = one(audit.findings, "secrets.repo.template_values", "sample-repo/.env.example")
    assert template.status is Status.WARN
    assert one(audit.findings, "secrets.env.shared", "NEXTAUTH_SECRET").observed.startswith(
        "same value in demo and staging"
    )
    assert_catalogued(audit.findings)


def assert_catalogued(findings: list[Finding]) -> None:
    """Each finding is explained by its own secrets catalog entry (exact id, links to read), and a
    severity other than the entry's says why."""
    from harden_lib.catalog import catalog

    assert findings
    for f in findings:
        spec = catalog().lookup(f.check_id)
        assert (spec.id, spec.area, f.area) == (f.check_id, "secrets", "secrets")
        assert any("<https://" in r for r in f.references), f.check_id
        assert (f.severity is spec.severity) == (f.severity_reason == ""), (f.check_id, f.severity_reason)
        assert f.status is not Status.PASS or f.remediation == "", "a pass has nothing to fix"


def test_skips_and_errors_are_catalogued_with_their_severity_reasons(tmp_path):
    skipped = secrets.audit(env_for()).findings
    assert [(f.check_id, f.severity) for f in skipped] == [
        ("secrets.repo", Severity.INFO),
        ("secrets.env", Severity.INFO),
    ]
    assert all(f.severity_reason.startswith("not configured") for f in skipped)
    template = tmp_path / "repo" / ".env.sample"
    template.parent.mkdir()
    template.write_bytes(b"API_KEY=\xff\xfe\n")  # not UTF-8: the template cannot be read
    audit = secrets.SecretsAudit()
    secrets.check_template(template, "repo/.env.sample", audit)
    [unreadable] = audit.findings
    assert (unreadable.status, unreadable.severity) == (Status.ERROR, Severity.HIGH)
    assert unreadable.severity_reason and unreadable.remediation
    assert_catalogued([*skipped, unreadable])
