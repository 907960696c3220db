"""Shared fixtures. Servers are real and local (127.0.0.1); certificates are made per session."""

from __future__ import annotations

import pytest

from harden_lib.demo.certs import CertBundle, generate_chain
from harden_lib.redact import SECRETS


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> CertBundle:
    """One CA + leaf for 127.0.0.1/localhost, shared by the session's HTTPS servers."""
    return generate_chain(tmp_path_factory.mktemp("pki"))


@pytest.fixture(autouse=True)
def _fresh_secret_registry():
    """Each test starts with an empty registry so scrubbing is tested, not inherited."""
    SECRETS.clear()
    yield
    SECRETS.clear()
