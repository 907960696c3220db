"""Env-file reading: python-dotenv's values, the lines it skipped, and secret registration."""

from __future__ import annotations

import logging
import textwrap

import pytest

from harden_lib.envfile import EnvFile, is_truthy, load_env_file, looks_like_secret, split_list, url_password
from harden_lib.errors import HardenError
from harden_lib.redact import REDACTED, SECRETS, scrub

SESSION = "Vq3rT9xLm2PzK8wNc5HbJ7dYf4GsA6eU"
DB_PASSWORD = "pw-Zr8Kq2Lx9Tn4"
NSEC = "b7e4c1a9f03d5e8a2c6b9f1d4e7a0c3b"


def write_env(tmp_path, text: str, name: str = "app.env"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_values_are_what_python_dotenv_returns(tmp_path):
    env = load_env_file(
        write_env(
            tmp_path,
            """
            # comment
            export NODE_ENV=production
            QUOTED="a value # not a comment"
            SINGLE='x y'
            INLINE=plain # trailing comment
            EMPTY=
            REF=${NODE_ENV}
            """,
        )
    )
    assert env.values == {
        "NODE_ENV": "production",
        "QUOTED": "a value # not a comment",
        "SINGLE": "x y",
        "INLINE": "plain",
        "EMPTY": "",
        "REF": "${NODE_ENV}",  # interpolate=False: the file as written, not a resolved value
    }
    assert env.name == "app.env" and len(env) == 6
    assert env.lines["NODE_ENV"] == 2 and env.lines["REF"] == 7
    assert env.problems == () and env.duplicates == {}
    assert not env.is_set("EMPTY") and env.is_set("NODE_ENV") and "EMPTY" in env


def test_unparseable_lines_are_reported_with_their_real_line_numbers(tmp_path, caplog):
    path = write_env(
        tmp_path,
        """
        A=1

        BAD LINE=2
        # fine

        =novalue
        B="unterminated
        C=3
        FLAG_WITHOUT_VALUE
        """,
    )
    with caplog.at_level(logging.WARNING, logger="dotenv.main"):
        env = load_env_file(path)
    assert [(p.line, p.message.split(";")[0]) for p in env.problems] == [
        (3, "not a KEY=VALUE statement"),
        (6, "not a KEY=VALUE statement"),
        (7, "not a KEY=VALUE statement"),
        (9, "FLAG_WITHOUT_VALUE has no '=': it is read as a key without a value"),
    ]
    assert env.values["C"] == "3" and env.values["FLAG_WITHOUT_VALUE"] is None
    # The skipped lines become findings; dotenv's own warning is not repeated on stderr.
    assert not [r for r in caplog.records if "could not parse" in r.getMessage()]


def test_duplicate_keys_keep_the_last_value_and_every_line(tmp_path):
    env = load_env_file(write_env(tmp_path, "DEBUG=0\nX=1\nDEBUG=1\n"))
    assert env.get("DEBUG") == "1"
    assert env.duplicates == {"DEBUG": (1, 3)}
    assert env.lines["DEBUG"] == 3


def test_secret_values_and_url_passwords_are_registered_for_scrubbing(tmp_path):
    env = load_env_file(
        write_env(
            tmp_path,
            f"""
            SESSION_SECRET={SESSION}
            DATABASE_URL=postgres://app:{DB_PASSWORD}@db.example.com:5432/app
            NOSTR_NSEC_HEX={NSEC}
            PUBLIC_NAME=stream.example.com
            """,
        )
    )
    text = f"{SESSION} {DB_PASSWORD} {NSEC} stream.example.com"
    assert scrub(text) == f"{REDACTED} {REDACTED} {REDACTED} stream.example.com"
    assert len(SECRETS) == 3
    # repr never shows values (it is what a notebook or a traceback would print)
    assert SESSION not in repr(env) and DB_PASSWORD not in repr(env) and "EnvFile(" in repr(env)


def test_well_known_stand_ins_are_not_registered(tmp_path):
    """Scrubbing 'secret' or 'changeme' would mangle every sentence using the word."""
    load_env_file(write_env(tmp_path, "SESSION_SECRET=Change-Me\nAPI_TOKEN=secret\nDB=postgres://u:password@db/x\n"))
    assert len(SECRETS) == 0
    assert scrub("keep the secret in the secret manager") == "keep the secret in the secret manager"


def test_missing_directory_and_binary_files_are_clear_errors(tmp_path):
    with pytest.raises(HardenError, match=r"nope\.env: env file does not exist"):
        load_env_file(tmp_path / "nope.env")
    with pytest.raises(HardenError, match="is a directory"):
        load_env_file(tmp_path)
    binary = tmp_path / "bin.env"
    binary.write_bytes(b"KEY=\xff\xfe\n")
    with pytest.raises(HardenError, match=r"bin\.env: env file is not UTF-8 text"):
        load_env_file(binary)


def test_empty_file_is_valid_and_empty(tmp_path):
    env = load_env_file(write_env(tmp_path, ""))
    assert isinstance(env, EnvFile) and env.values == {} and env.problems == ()


@pytest.mark.parametrize(
    ("value", "items"),
    [
        ("wss://a.example, wss://b.example", ["wss://a.example", "wss://b.example"]),
        ("wss://a.example wss://b.example\twss://c.example", ["wss://a.example", "wss://b.example", "wss://c.example"]),
        (",,a,,", ["a"]),
        ("", []),
        (None, []),
        (
            '[{"urls": ["turn:t.example:3478", "turns:t.example:5349"]}, {"url": "stun:s.example"}, "stun:x.example"]',
            ["turn:t.example:3478", "turns:t.example:5349", "stun:s.example", "stun:x.example"],
        ),
        ("[not json, a]", ["[not", "json", "a]"]),
    ],
)
def test_split_list(value, items):
    assert split_list(value) == items


@pytest.mark.parametrize(
    ("value", "on"),
    [
        ("1", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("", False),
        (None, False),
        ("2", False),
    ],
)
def test_is_truthy(value, on):
    assert is_truthy(value) is on


@pytest.mark.parametrize(
    ("value", "secret"),
    [
        (SESSION, True),
        (NSEC, True),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", True),
        ("https://stream.example.com/live", False),
        ("turns:turn.example.com:5349?transport=tcp", False),
        ("hls.stream.example.com", False),
        ("transcoder_profile_default", False),
        ("DSTREAM_TRANSCODER_PROFILES", False),
        ("AKIAIOSFODNN7EXAMPLE", True),
        ("/var/lib/dstream/media", False),
        ("production", False),
        ("12345678901234567890", False),
    ],
)
def test_looks_like_secret(value, secret):
    assert looks_like_secret(value) is secret


def test_url_password():
    assert url_password(f"redis://:{DB_PASSWORD}@cache:6379/0") == DB_PASSWORD
    assert url_password(f"postgres://u:{DB_PASSWORD}@db:notaport/x") == DB_PASSWORD
    assert url_password("https://user@example.com") is None
    assert url_password("not a url") is None


def test_a_token_pasted_on_its_own_line_is_reported_without_quoting_it(tmp_path):
    token = "ghp_R8kLm2Qx7Vn4Tz9Wb3Hc6Jd1Fs5Yp0Ae"
    env = load_env_file(write_env(tmp_path, f"A=1\n{token}\n"))
    assert [(p.line, token in p.message) for p in env.problems] == [(2, False)]
    assert "looks like a pasted secret" in env.problems[0].message
    assert scrub(f"x {token} y") == f"x {REDACTED} y"


def test_values_under_secret_names_written_other_ways_are_registered(tmp_path):
    """Lower-case word values (not secret-shaped): only the key name can tell they are secrets."""
    values = {
        "PGPASSWORD": "pg-alpha-bravo-charlie",
        "MYSQL_PWD": "mysql-delta-echo-foxtrot",
        "clientSecret": "client-golf-hotel-india",
        "apiKey": "api-juliet-kilo-lima",
        "BACKUP_PASSPHRASE": "backup-mike-november",
        "SMTP_PW": "smtp-oscar-papa-quebec",
        "GOOGLE_CREDENTIALS": "google-romeo-sierra",
        "JWT_PRIVATE_KEY": "jwt-tango-uniform-victor",
    }
    public = {"PASSENGER_COUNT": "passengers-whiskey-xray", "KEYBOARD_LAYOUT": "keyboard-yankee-zulu"}
    lines = "".join(f"{k}={v}\n" for k, v in {**values, **public}.items())
    load_env_file(write_env(tmp_path, lines))
    text = " ".join([*values.values(), *public.values()])
    cleaned = scrub(text)
    assert all(v not in cleaned for v in values.values())
    assert all(v in cleaned for v in public.values())


def test_register_file_secrets_for_processes_that_do_not_run_the_config_checks(tmp_path):
    from harden_lib.envfile import register_file_secrets

    path = write_env(tmp_path, f"SESSION_SECRET={SESSION}\n")
    assert register_file_secrets(path) is True
    assert scrub(f"x {SESSION}") == f"x {REDACTED}"
    assert register_file_secrets(tmp_path / "missing.env") is False
    assert register_file_secrets(None) is False
    (tmp_path / "bad.env").write_bytes(b"\xff\xfe\x00")
    assert register_file_secrets(tmp_path / "bad.env") is False


def test_url_credential_query_values_are_registered(tmp_path):
    sig, frag = "Sg7" + "kLm2Qx9" * 3, "Fr4" + "pZq8Wn1" * 3
    load_env_file(write_env(tmp_path, f"FEED_URL=https://s.example/feed?page=2024&sig={sig}#access_token={frag}\n"))
    assert scrub(f"{sig} {frag} page 2024") == f"{REDACTED} {REDACTED} page 2024"


@pytest.mark.parametrize(
    ("value", "secret"),
    [
        # wallet recovery phrases: BIP-39 (12/24), Electrum (13), Monero-style (25): secret by shape
        ("liquid orbit walnut hazard plunge sketch dinner album tiger ocean vivid tribe", True),
        (" ".join(["gospel", "fringe", "mercy", "ankle", "salad", "tribe"] * 4), True),
        (" ".join(["zodiac", "jigsaw", "eavesdrop", "ultimate", "woozy"] * 5), True),
        ("abbey ability able about above absent absorb abstract absurd abuse access accident acid", True),
        # prose and short lists are not
        ("the quick brown fox jumps over the lazy dog and runs far away", False),
        ("liquid orbit walnut hazard plunge sketch dinner album tiger ocean vivid", False),  # 11 words
        ("Liquid Orbit Walnut Hazard Plunge Sketch Dinner Album Tiger Ocean Vivid Tribe", False),
        # twelve plain words read like a phrase: hidden (shown by shape), the trade-off of recognising one
        ("checkout search reviews wishlist payments shipping returns loyalty coupons gifts sitemap feeds", True),
    ],
)
def test_seed_phrases_look_secret_by_shape(value, secret):
    assert looks_like_secret(value) is secret


def test_a_seed_phrase_and_a_glued_authkey_are_registered_whatever_their_names(tmp_path):
    phrase = "ankle gospel fringe orbit walnut hazard plunge sketch dinner album tiger ocean vivid tribe salad"
    authkey = "tunnel-alpha-bravo-charlie"  # words: only the name tells it is a secret
    load_env_file(write_env(tmp_path, f"NODE_WORDS={phrase}\nTAILSCALE_AUTHKEY={authkey}\nRANDOM_SEED=424242\n"))
    assert scrub(f"a {phrase} b {authkey} c 424242") == f"a {REDACTED} b {REDACTED} c 424242"
