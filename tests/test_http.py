"""The shared client: body cap, redirects bounded, credentials only to the configured origin."""

from __future__ import annotations

import pytest

from harden_lib.http import FetchError, fetch, make_client
from harden_lib.params import Environment
from tests.servers import Reply, serve


def env_for(served, **http) -> Environment:
    return Environment.model_validate(
        {"environment": "t", "base_url": served.base_url, "http": {"ca_bundle": str(served.ca_path), **http}}
    )


def test_body_is_capped(pki):
    with serve({"/big": Reply(200, [("Content-Type", "text/plain")], b"x" * 50_000)}, certs=pki) as served:
        with make_client(env_for(served)) as client:
            result = fetch(client, served.base_url + "/big", max_body_bytes=2048)
    assert result.truncated and len(result.body) == 2048


def test_redirects_are_bounded(pki):
    with serve({"/loop": Reply(302, [("Location", "/loop")])}, certs=pki) as served:
        with make_client(env_for(served, max_redirects=3)) as client, pytest.raises(FetchError, match="too many"):
            fetch(client, served.base_url + "/loop")


def test_credentials_only_to_the_configured_origin(pki):
    with serve({"/": Reply(200, [], "other")}, certs=pki) as other:
        with serve({"/": Reply(302, [("Location", other.base_url + "/")])}, certs=pki) as own:
            env = env_for(own, headers={"X-Api-Key": "k-123456789"})
            with make_client(env) as client:
                fetch(client, own.base_url + "/")
    assert own.requests[0][2].get("X-Api-Key") == "k-123456789"
    assert "X-Api-Key" not in other.requests[0][2]
    assert other.requests[0][2]["User-Agent"].startswith("harden/")


def test_untrusted_certificate_is_a_clear_error(pki):
    with serve({"/": Reply(200)}, certs=pki) as served:
        env = Environment.model_validate({"environment": "t", "base_url": served.base_url})
        with make_client(env) as client, pytest.raises(FetchError, match="certificate verification failed"):
            fetch(client, served.base_url + "/")


def test_connection_refused_is_a_clear_error():
    env = Environment.model_validate({"environment": "t", "base_url": "https://127.0.0.1:9"})
    with make_client(env) as client, pytest.raises(FetchError, match="could not connect"):
        fetch(client, "https://127.0.0.1:9/")
