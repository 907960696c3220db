"""Params loading: extends, ${VAR}, relative paths, and clear errors naming file and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harden_lib import ParamsError
from harden_lib.environment import load_environment
from harden_lib.redact import SECRETS

ROOT = Path(__file__).resolve().parent.parent


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_extends_deep_merges_and_resolves_paths_against_each_file(tmp_path):
    write(
        tmp_path,
        "base/base.yaml",
        """
        base_url: https://app.example.com
        http: {ca_bundle: certs/ca.pem, read_timeout: 7}
        headers: {urls: ["/", "/login"]}
    """,
    )
    top = write(
        tmp_path,
        "prod.yaml",
        """
        extends: base/base.yaml
        http: {read_timeout: 3}
        config: {env_file: ../deploy/.env.production}
    """,
    )
    env = load_environment(top, environ={})
    assert env.name == "prod"  # from the file name
    assert env.http.read_timeout == 3 and env.http.connect_timeout == 5
    assert env.http.ca_bundle == tmp_path / "base" / "certs" / "ca.pem"
    assert env.config.env_file == tmp_path.parent / "deploy" / ".env.production"
    assert env.headers.urls == ["/", "/login"]
    assert env.files == ((tmp_path / "base" / "base.yaml").resolve(), top.resolve())


def test_interpolation_with_default_and_escape(tmp_path):
    top = write(
        tmp_path,
        "e.yaml",
        """
        base_url: https://${HOST}
        description: "${MISSING:-fallback} $${LITERAL}"
        http: {headers: {Authorization: "Bearer ${API_TOKEN}"}}
    """,
    )
    env = load_environment(top, environ={"HOST": "shop.example.com", "API_TOKEN": "tok-1234567890"})
    assert env.base == "https://shop.example.com"
    assert env.description == "fallback ${LITERAL}"
    assert env.http.headers["Authorization"] == "Bearer tok-1234567890"
    assert SECRETS.scrub("x tok-1234567890 y") == "x [REDACTED] y"
    # What is shown and digested is the file as written, never the value.
    assert "tok-1234567890" not in str(env.redacted_params()) and "tok-1234567890" not in env.digest()


def test_redacted_params_masks_literal_secrets(tmp_path):
    top = write(
        tmp_path,
        "e.yaml",
        """
        http: {headers: {X-Api-Key: literal-key-value, X-Trace: "${TRACE:-on}"}}
    """,
    )
    shown = load_environment(top, environ={}).redacted_params()
    assert shown["http"]["headers"]["X-Api-Key"] == "[REDACTED]"
    assert shown["http"]["headers"]["X-Trace"] == "${TRACE:-on}"


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("base_url: [1,\n  x: 2", "line 2", "invalid YAML"),
        ("htp: {}\n", "htp", "unknown key"),
        ("http: {read_timeout: soon}\n", "http.read_timeout", "valid number"),
        ("gate: {fail_on: huge}\n", "gate.fail_on", "'critical', 'high'"),
        ("areas: [config, nope]\n", "areas", "unknown area(s) nope"),
        ("base_url: ${NOT_SET_ANYWHERE}\n", "base_url", "environment variable NOT_SET_ANYWHERE is not set"),
        ("base_url: not a url\n", "base_url", "URL"),
        ("- just\n- a list\n", "", "top level must be a mapping"),
        ("", "", "file is empty"),
    ],
)
def test_errors_name_file_key_and_problem(tmp_path, text, key, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ParamsError) as caught:
        load_environment(path, environ={})
    message = str(caught.value)
    assert message.startswith(str(path.resolve()))
    assert key in message and problem in message
    assert "Traceback" not in message


def test_error_in_base_file_names_the_base(tmp_path):
    write(tmp_path, "base.yaml", "http: {max_redirects: 999}\n")
    top = write(tmp_path, "top.yaml", "extends: base.yaml\n")
    with pytest.raises(ParamsError) as caught:
        load_environment(top, environ={})
    assert caught.value.file == str((tmp_path / "base.yaml").resolve())
    assert caught.value.key == "http.max_redirects"


def test_extends_cycle_is_detected(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\n")
    with pytest.raises(ParamsError, match=r"extends cycle: a\.yaml -> b\.yaml -> a\.yaml"):
        load_environment(tmp_path / "a.yaml", environ={})


def test_missing_base_and_missing_file(tmp_path):
    top = write(tmp_path, "top.yaml", "extends: nowhere.yaml\n")
    with pytest.raises(ParamsError, match=r"extends: base params file nowhere\.yaml does not exist"):
        load_environment(top, environ={})
    with pytest.raises(ParamsError, match="params file does not exist"):
        load_environment(tmp_path / "absent.yaml")


def test_error_never_quotes_the_secret_value(tmp_path):
    top = write(tmp_path, "e.yaml", "http: {max_body_bytes: '${BODY_SECRET}'}\n")
    with pytest.raises(ParamsError) as caught:
        load_environment(top, environ={"BODY_SECRET": "hunter2-super-secret"})
    assert "hunter2-super-secret" not in str(caught.value)


def test_shipped_params_files_validate():
    for name in ("demo.yaml", "production.example.yaml"):
        env = load_environment(ROOT / "params" / name, environ={"APP_API_TOKEN": "x" * 40})
        assert env.areas


# --------------------------------------------------------------------------- harden validate


def validate(capsys, *paths: Path) -> tuple[int, str, str]:
    from harden_lib import cli

    code = cli.main(["validate", *map(str, paths)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_validate_names_every_missing_reference_with_its_file_and_key(tmp_path, capsys):
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.env").write_text("NODE_ENV=production\n")
    (tmp_path / "base").mkdir()
    write(tmp_path, "base/shared.yaml", "http: {ca_bundle: pki/internal-root.crt}\n")
    top = write(
        tmp_path,
        "staging.yaml",
        """
        extends: base/shared.yaml
        config: {env_file: deploy/app.env}
        secrets: {repo_path: ../checkouts/web}
        containers: {compose_files: [deploy/compose.yaml, deploy/app.env]}
        dependencies: {reports: [deploy]}
        commands: {commands: [{name: smoke, run: ["true"], cwd: deploy/app.env}]}
        """,
    )
    code, out, err = validate(capsys, top)
    assert code == 2 and not out
    lines = err.splitlines()
    assert all(line.startswith("INVALID ") for line in lines)
    base = str((tmp_path / "base" / "shared.yaml").resolve())
    expected = [
        f"{base}: http.ca_bundle: 'pki/internal-root.crt' (relative to that file's folder) does not exist",
        f"{top.resolve()}: secrets.repo_path: '../checkouts/web' (relative to that file's folder) does not exist",
        f"{top.resolve()}: containers.compose_files[0]: 'deploy/compose.yaml' (relative to that file's folder) "
        "does not exist",
        f"{top.resolve()}: dependencies.reports[0]: 'deploy' (relative to that file's folder) is not a file",
        f"{top.resolve()}: commands.commands[0].cwd: 'deploy/app.env' (relative to that file's folder) is not a folder",
    ]
    for sentence in expected:
        assert f"INVALID {sentence}" in lines, (sentence, lines)
    assert len(lines) == len(expected)  # the existing env file and compose file are not reported


def test_validate_never_prints_an_interpolated_value(tmp_path, capsys):
    top = write(tmp_path, "prod.yaml", "config: {env_file: '${DEPLOY_DIR}/prod.env'}\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEPLOY_DIR", "/srv/tenant-4b1e9c7d2a/secret-area")
        code, _, err = validate(capsys, top)
    assert code == 2
    assert "config.env_file: '${DEPLOY_DIR}/prod.env' does not exist" in err
    assert "4b1e9c7d2a" not in err


def test_validate_passes_when_every_reference_exists(tmp_path, capsys):
    (tmp_path / "repo").mkdir()
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "root.env").write_text("A=1\n")
    # env_files' keys are the user's names: one called "repo_dir" still names a file, not a folder.
    top = write(
        tmp_path,
        "ok.yaml",
        "http: {ca_bundle: ca.pem}\nsecrets: {repo_path: repo, env_files: {repo_dir: root.env}}\nareas: [secrets]\n",
    )
    code, out, err = validate(capsys, top)
    assert code == 0 and not err
    assert out == f"OK {top}: environment 'ok', areas secrets, gate fail_on high\n"


CHECKLIST_TEXT = "# Ops\n\n- Keep the env file out of git\n- Rotate keys\n"


def write_profile(folder: Path, *, source: str = "sources/ops.txt", params: str = "{}", check: str = "") -> Path:
    (folder / "sources").mkdir(parents=True, exist_ok=True)
    (folder / "sources" / "ops.txt").write_text(CHECKLIST_TEXT)
    check = check or "secrets.repo.env_file_tracked"
    return write(
        folder,
        "ops.yaml",
        f"""
        system: ops
        title: Ops checklist
        source: {source}
        items:
          - {{id: env.untracked, section: Ops, text: Keep the env file out of git, checks: [{check}]}}
          - {{id: keys.rotated, section: Ops, text: Rotate keys, checks: [secrets.env.shared]}}
        params: {params}
        """,
    )


def test_validate_recognises_and_checks_a_checklist_profile(tmp_path, capsys):
    good = write_profile(tmp_path / "good", params="{config: {env_file: ../deploy.env}}")
    (tmp_path / "deploy.env").write_text("A=1\n")
    no_source = write_profile(tmp_path / "nosource", source="sources/gone.txt")
    bad_params = write_profile(tmp_path / "badparams", params="{dependencies: {reports: [audits/npm.json]}}")
    bad_key = write_profile(tmp_path / "badkey", params="{http: {read_timeout: -1}}")
    bad_check = write_profile(tmp_path / "badcheck", check="secrets.no_such_check")
    code, out, err = validate(capsys, good, no_source, bad_params, bad_key, bad_check)
    assert code == 2
    assert out == f"OK {good}: checklist profile 'ops' (Ops checklist), 2 items\n"
    assert f"{no_source}: source: the checklist text sources/gone.txt does not exist" in err
    assert f"{bad_params.resolve()}: dependencies.reports[0]: 'audits/npm.json'" in err
    assert f"{bad_key.resolve()}: params.http.read_timeout:" in err
    assert "secrets.no_such_check" in err and str(bad_check.resolve()) in err
    assert len(err.splitlines()) == 4


def test_validate_a_folder_and_an_environment_naming_its_profile(tmp_path, capsys):
    profile = write_profile(tmp_path / "checklists", params="{secrets: {repo_path: ../app}}")
    env = write(tmp_path, "prod.yaml", "checklist: checklists/ops.yaml\nareas: [secrets]\n")
    write(tmp_path, "prod.example.yaml", "http: {ca_bundle: nowhere.pem}\n")  # a template: not read
    code, out, err = validate(capsys, tmp_path, tmp_path / "checklists")
    assert code == 2 and "example" not in err
    # The profile's relative path resolves against the profile, and the profile is named.
    assert err.count(f"INVALID {profile.resolve()}: secrets.repo_path: '../app'") == 2  # via prod.yaml and alone
    (tmp_path / "app").mkdir()
    code, out, err = validate(capsys, env)
    assert code == 0 and not err
    assert out.startswith(f"OK {env}: environment 'prod'") and f"checklist profile {profile.resolve()}" in out
    missing = write(tmp_path, "other.yaml", "checklist: checklists/absent.yaml\n")
    code, _, err = validate(capsys, missing)
    assert code == 2 and "absent.yaml does not exist" in err and "checklist" in err


def test_coverage_takes_several_profiles_and_exits_with_the_worst(tmp_path, capsys):
    from harden_lib import cli

    first = write_profile(tmp_path / "a")
    second = write_profile(tmp_path / "b")
    second.write_text(second.read_text().replace("title: Ops checklist", "title: Second list"))
    assert cli.main(["coverage", str(first), str(second)]) == 0
    out = capsys.readouterr().out
    assert f"Ops checklist ({first})" in out and f"Second list ({second})" in out
    # One profile with an item the checklist text lacks a mapping for (exit 1), one unreadable (2):
    # every profile is still shown, and the exit code is the worst.
    (tmp_path / "a" / "sources" / "ops.txt").write_text(CHECKLIST_TEXT + "- Review the firewall\n")
    broken = write(tmp_path / "c", "ops.yaml", "system: ops\ntitle: Broken\n")
    assert cli.main(["coverage", str(first), str(broken), str(second)]) == 2
    captured = capsys.readouterr()
    assert f"Ops checklist ({first})" in captured.out and f"Second list ({second})" in captured.out
    assert "NOT MAPPED" in captured.err and str(broken.resolve()) in captured.err
    assert cli.main(["coverage", str(first), str(second)]) == 1
    capsys.readouterr()
    # A folder stands for its profiles.
    assert cli.main(["coverage", str(tmp_path / "b")]) == 0
    assert "Second list" in capsys.readouterr().out
