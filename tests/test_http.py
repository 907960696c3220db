"""The shared client: body cap, redirects bounded, credentials only to the configured origin."""

from __future__ import annotations

import asyncio
import gzip
import re
import tracemalloc
import zlib

import pytest

from harden_lib.environment import Environment
from harden_lib.http import FetchError, fetch, fetch_async, make_async_client, make_client
from tests.servers import Reply, serve
from tests.stream_servers import endless, serve_raw


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


# --------------------------------------------------------------------------- unfinished reads and bombs


def _gzip_stream(chunk: bytes, repeat: int, members: int = 1) -> bytes:
    """gzip of ``chunk * repeat`` made piece by piece (the inflated body never exists in memory here)."""
    out = bytearray()
    for _ in range(members):
        packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        for _ in range(repeat):
            out += packer.compress(chunk)
        out += packer.flush()
    return bytes(out)


def test_a_gzip_bomb_is_cut_at_the_cap_and_says_how_much_was_read():
    bomb = _gzip_stream(b"var a = 1;\n" * 1000, 5_000)  # 55 MB of script in ~100 KB
    routes = {"/bomb.js": Reply(200, [("Content-Type", "text/javascript"), ("Content-Encoding", "gzip")], bomb)}
    with serve(routes, tls=False) as served, make_client(_plain_env(served)) as client:
        result = fetch(client, served.base_url + "/bomb.js", max_body_bytes=300_000)
    assert result.truncated and len(result.body) == 300_000
    assert result.body.startswith(b"var a = 1;\n")  # decoded, not the compressed bytes
    assert result.incomplete is not None
    assert "read 300,000 of \u2265300,001 bytes" in result.incomplete and "gzip" in result.incomplete


def test_a_double_gzip_bomb_never_inflates_in_memory():
    """``gzip, gzip``: 250 MB of zeros in a few hundred bytes; reading it must stay near the cap in memory."""
    inner = _gzip_stream(b"\0" * 1_000_000, 250)
    bomb = gzip.compress(inner, 9)
    assert len(bomb) < 5_000
    routes = {"/x": Reply(200, [("Content-Encoding", "gzip, gzip")], bomb)}
    with serve(routes, tls=False) as served, make_client(_plain_env(served)) as client:
        tracemalloc.start()
        try:
            result = fetch(client, served.base_url + "/x", max_body_bytes=1_000_000)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert result.truncated and len(result.body) == 1_000_000
    assert peak < 30_000_000, f"{peak / 1e6:.0f} MB allocated while reading a 1 MB-capped body"
    assert "read 1,000,000 of" in (result.incomplete or "")


def test_an_endless_body_is_truncated_not_complete():
    with serve_raw({"/feed": endless([("Content-Type", "text/plain")], b"tick\n" * 100)}, tls=False) as served:
        with make_client(_plain_env(served)) as client:
            result = fetch(client, served.base_url + "/feed", max_body_bytes=10_000)
    assert result.truncated and len(result.body) == 10_000
    match = re.match(r"read 10,000 of \u2265([\d,]+) bytes \(body cap 10,000 bytes\)$", result.incomplete or "")
    assert match and int(match.group(1).replace(",", "")) > 10_000, result.incomplete


def test_a_declared_length_beyond_the_cap_is_named():
    routes = {"/big": Reply(200, [("Content-Type", "text/plain")], b"z" * 40_000)}
    with serve(routes, tls=False) as served, make_client(_plain_env(served)) as client:
        result = fetch(client, served.base_url + "/big", max_body_bytes=4096)
    assert result.incomplete is not None and "read 4,096 of \u226540,000 bytes" in result.incomplete


def test_content_codings_are_still_decoded_exactly():
    text = b"window.api = 'https://api.example';\n" * 500
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    routes = {
        "/gzip": Reply(200, [("Content-Encoding", "gzip")], gzip.compress(text)),
        "/x-gzip": Reply(200, [("Content-Encoding", "x-gzip")], gzip.compress(text)),
        "/zlib": Reply(200, [("Content-Encoding", "deflate")], zlib.compress(text)),
        "/raw-deflate": Reply(200, [("Content-Encoding", "deflate")], raw_deflate.compress(text) + raw_deflate.flush()),
        "/two-members": Reply(
            200, [("Content-Encoding", "gzip")], gzip.compress(text[:700]) + gzip.compress(text[700:])
        ),
        "/stacked": Reply(200, [("Content-Encoding", "deflate, gzip")], gzip.compress(zlib.compress(text))),
        "/identity": Reply(200, [("Content-Encoding", "identity")], text),
        "/empty": Reply(200, [("Content-Encoding", "gzip")], b""),
    }
    with serve(routes, tls=False) as served, make_client(_plain_env(served)) as client:
        for path in routes:
            result = fetch(client, served.base_url + path)
            expected = b"" if path == "/empty" else text
            assert result.body == expected, path
            assert result.incomplete is None and not result.truncated, (path, result.incomplete)


def test_a_compressed_stream_cut_short_is_incomplete():
    whole = gzip.compress(bytes(range(256)) * 4000)  # barely compressible
    routes = {"/cut": Reply(200, [("Content-Encoding", "gzip")], whole[: len(whole) // 2])}
    with serve(routes, tls=False) as served, make_client(_plain_env(served)) as client:
        result = fetch(client, served.base_url + "/cut")
    assert not result.truncated and 0 < len(result.body) < 256 * 4000
    assert "ended before its end marker" in (result.incomplete or "")


def test_a_coding_nobody_can_decode_is_reported_and_corrupt_gzip_is_an_error():
    routes = {
        "/br": Reply(200, [("Content-Encoding", "br")], b"\x8b\x02\x80hello\x03"),
        "/bad": Reply(200, [("Content-Encoding", "gzip")], b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage!"),
    }
    with serve(routes, tls=False) as served, make_client(_plain_env(served)) as client:
        result = fetch(client, served.base_url + "/br")
        assert result.undecoded_encoding == "br" and "cannot decode" in (result.incomplete or "")
        with pytest.raises(FetchError, match="gzip content-encoding is corrupt"):
            fetch(client, served.base_url + "/bad")


def test_the_deadline_error_says_how_much_arrived():
    feed = endless([("Content-Type", "text/plain")], b"x" * 100, interval=0.1)
    with serve_raw({"/slow": feed}, tls=False) as served, make_client(_plain_env(served)) as client:
        with pytest.raises(FetchError, match=r"not complete within 1 s \([\d,]+ bytes read by then\)"):
            fetch(client, served.base_url + "/slow", deadline=1.0)


def test_async_fetch_reads_under_the_same_bounds():
    bomb = _gzip_stream(b"\0" * 1_000_000, 20)

    async def go(base: str, env: Environment):
        async with make_async_client(env) as client:
            return await fetch_async(client, base + "/b", max_body_bytes=50_000)

    with serve({"/b": Reply(200, [("Content-Encoding", "gzip")], bomb)}, tls=False) as served:
        result = asyncio.run(go(served.base_url, _plain_env(served)))
    assert result.truncated and len(result.body) == 50_000 and "read 50,000 of" in (result.incomplete or "")


def _plain_env(served) -> Environment:
    return Environment.model_validate({"environment": "t", "base_url": served.base_url})
