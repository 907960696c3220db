"""Secret-shape descriptions, URL redaction and the scrubbing registry."""

from __future__ import annotations

import pytest

from harden_lib.redact import SECRETS, describe_secret, is_secret_key, redact_url, register_secret, scrub


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("DATABASE_PASSWORD", True),
        ("API_KEY", True),
        ("DSTREAM_XMR_SESSION_SECRET", True),
        ("ENCRYPTION_KEY", True),
        ("Authorization", True),
        ("NEXT_PUBLIC_HLS_ORIGIN", False),
        ("PUBLIC_KEY", False),
        ("CORS_ORIGINS", False),
        ("KEYBOARD_LAYOUT", False),
    ],
)
def test_is_secret_key(name, secret):
    assert is_secret_key(name) is secret


def test_describe_secret_shows_shape_not_value():
    text = describe_secret("Abc123!xyz")
    assert "Abc123!xyz" not in text
    assert "10 chars" in text and "lower+upper+digit+symbol" in text
    assert describe_secret(None) == "absent" and describe_secret("") == "present but empty"


def test_redact_url_password_and_secret_query():
    assert redact_url("postgres://app:s3cr3t@db:5432/x") == "postgres://app:[REDACTED]@db:5432/x"
    shown = redact_url("https://h/cb?token=abc&page=2")
    assert "abc" not in shown and "page=2" in shown


def test_registry_scrubs_longest_first():
    register_secret("abcd1234")
    register_secret("abcd1234-extended")
    assert scrub("x abcd1234-extended y abcd1234") == "x [REDACTED] y [REDACTED]"
    register_secret("ab")  # too short to scrub safely: ignored
    assert len(SECRETS) == 2
