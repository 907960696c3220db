"""Independent verification of issue 10, items 10 and 11, without a network: forms written other ways.

``tests/test_redact.py`` covers the forms the fixes were written against. These are other forms real
tools print or real URLs carry: credentials in client config files as ``cat`` shows them (libpq
conninfo, ``.npmrc``, ``pip.conf``, ``~/.aws/credentials``, ``~/.docker/config.json``, a multi-line
``.netrc``), git credential URLs, a ``;jsessionid=`` path parameter, fragments, bracketed PHP-style
parameter names, upper-case and kebab-case parameter names, Google Cloud Storage and CloudFront
signed URLs. Forms found to leak (``FIXED_GAPS``: htpasswd -b, gh --body, webhook paths, Makefile ?=, az -p) were
strict ``xfail`` tests naming the gap; they are fixed and now plain tests.
"""

from __future__ import annotations

import secrets
import string

import pytest

from harden_lib.redact import redact_text, scrub_output


def canary() -> str:
    return "Cv" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(20)) + "9"


TEXT_FORMS = {
    "libpq conninfo": "psql 'host=db.internal user=app password={c} dbname=app sslmode=require'",
    ".npmrc": "//registry.npmjs.org/:_authToken={c}",
    "pip.conf": "index-url = https://__token__:{c}@pypi.example.com/simple",
    "git credential url": "remote: https://x-access-token:{c}@github.com/org/repo.git",
    "aws credentials": "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = {c}",
    "docker config.json": '{{"auths": {{"registry.example.com": {{"auth": "{c}"}}}}}}',
    "netrc on three lines": "machine api.example.com\n  login deploy-bot\n  password {c}",
    "ssh passphrase prompt echo": "passphrase={c}",
    "kebab option": "run --db-password={c} --verbose",
}
URL_FORMS = {
    "jsessionid path parameter": "https://shop.example/cart;jsessionid={c}?x=1",
    "upper-case name": "https://app.example/cb?ACCESS-TOKEN={c}",
    "id_token in the fragment": "https://app.example/cb#state=1&id_token={c}",
    "PHP array name": "https://app.example/login?user[password]={c}&user[name]=bob",
    "GCS signed URL": "https://storage.googleapis.com/b/o.bin?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature={c}",
    "CloudFront signed URL": "https://d111.cloudfront.net/v.mp4?Expires=1700000000&Signature={c}&Key-Pair-Id=K2JC",
    "upper-case scheme and user": "HTTPS://DEPLOY:{c}@ARTIFACTS.EXAMPLE.COM/app.tgz",
    "IPv6 host": "https://user:{c}@[::1]:8443/x",
}


@pytest.mark.parametrize("form", list(TEXT_FORMS))
def test_command_output_forms(form: str) -> None:
    c = canary()
    out = redact_text(TEXT_FORMS[form].format(c=c))
    assert c not in out and "[REDACTED]" in out, out


@pytest.mark.parametrize("form", list(URL_FORMS))
def test_url_forms_everywhere_a_url_is_shown(form: str) -> None:
    c = canary()
    url = URL_FORMS[form].format(c=c)
    for shown in (scrub_output(url), redact_text(f"GET {url} -> 200"), scrub_output(f"[prod] headers {url} ok")):
        assert c not in shown and "[REDACTED]" in shown, shown


#: Forms found leaking by this file, fixed since (each was a strict xfail naming the gap).
FIXED_GAPS = {
    "htpasswd -b": ("htpasswd -b /etc/nginx/.htpasswd admin {c}", "htpasswd's positional password after -b"),
    "gh secret set --body": ("gh secret set API_KEY --body {c}", "--body is not a secret-named option"),
    "Slack webhook path": (
        "posting to https://hooks.slack.com/services/T0001/B0001/{c}",
        "a Slack/Discord webhook URL carries its secret in the path; only a secret-named env key registers it",
    ),
    "Makefile ?=": ("DB_PASS ?= {c}", "the pair separators are = := => :, not make's ?= (or +=)"),
    "az -p": ("az login --service-principal -u app -p {c} --tenant t", "short -p only known for a few clients"),
}


@pytest.mark.parametrize("form", list(FIXED_GAPS))
def test_forms_found_leaking(form: str) -> None:
    c = canary()
    out = redact_text(FIXED_GAPS[form][0].format(c=c))
    assert c not in out, out
