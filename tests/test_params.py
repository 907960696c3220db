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
