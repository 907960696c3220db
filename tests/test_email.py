"""SPF, DKIM and DMARC read by dnspython from a real DNS server on 127.0.0.1 (tests/dns_servers.py)."""

from __future__ import annotations

import base64
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import ValidationError

from harden_lib.checks import email
from harden_lib.checks.email import DomainSpec, EmailParams, check_email
from harden_lib.environment import load_environment
from harden_lib.findings import Finding, Status
from tests.dns_servers import Zone, dns_server


def dkim_record(bits: int | None, pkcs1: bool = False) -> list[str]:
    """A real key's DKIM record, split into 255-character strings as DNS requires."""
    if bits is None:
        raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        text = f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}"
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
        der = key.public_bytes(Encoding.DER, PublicFormat.PKCS1 if pkcs1 else PublicFormat.SubjectPublicKeyInfo)
        text = f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"
    return [text[i : i + 255] for i in range(0, len(text), 255)]


def run(zone: Zone, *domains: dict, timeout: float = 2.0) -> dict[str, Finding]:
    with dns_server(zone) as port:
        params = EmailParams(nameservers=["127.0.0.1"], port=port, timeout=timeout, domains=list(domains))
        found = check_email(params)
    return {f.target: f for f in found}


GOOD = Zone(
    txt={
        "shop.test": [["v=spf1 include:_spf.mailer.test ", "ip4:192.0.2.0/24 -all"], ["google-site-verification=x"]],
        "_dmarc.shop.test": [["v=DMARC1; p=reject; rua=mailto:dmarc@shop.test"]],
        "s1._domainkey.shop.test": [dkim_record(2048)],
        "ed._domainkey.shop.test": [dkim_record(None)],
        "old._domainkey.shop.test": [dkim_record(1024)],
        "gone._domainkey.shop.test": [["v=DKIM1; k=rsa; p="]],
        "junk._domainkey.shop.test": [["v=DKIM1; p=bm90IGEga2V5"]],
        "pkcs1._domainkey.shop.test": [dkim_record(2048, pkcs1=True)],
        "notb64._domainkey.shop.test": [["v=DKIM1; p=@@@@"]],
    }
)


def test_good_domain_passes_and_keys_are_judged():
    found = run(
        GOOD, {"domain": "Shop.Test.", "dkim_selectors": ["s1", "ed", "old", "gone", "junk", "none", "pkcs1", "notb64"]}
    )
    assert found["shop.test"].check_id == "email.spf" and found["shop.test"].status is Status.PASS
    # the record's two character-strings are joined without a separator (RFC 7208 §3.3)
    assert "ip4:192.0.2.0/24 -all" in found["shop.test"].observed
    assert found["_dmarc.shop.test"].status is Status.PASS
    assert found["s1._domainkey.shop.test"].observed == "RSA 2048-bit key"
    assert found["s1._domainkey.shop.test"].status is Status.PASS
    assert found["ed._domainkey.shop.test"].status is Status.PASS
    assert found["old._domainkey.shop.test"].status is Status.WARN
    assert "revoked" in found["gone._domainkey.shop.test"].observed
    assert found["gone._domainkey.shop.test"].status is Status.FAIL
    assert found["junk._domainkey.shop.test"].status is Status.FAIL
    assert found["none._domainkey.shop.test"].status is Status.FAIL
    assert found["pkcs1._domainkey.shop.test"].observed == "RSA 2048-bit key"
    assert found["notb64._domainkey.shop.test"].observed == "p= is not valid base64"


@pytest.mark.parametrize(
    ("spf", "status", "needle"),
    [
        ([["v=spf1 mx ~all"]], Status.PASS, "~all"),
        ([["v=spf1 mx ?all"]], Status.FAIL, "ends in ?all"),
        ([["v=spf1 a mx all"]], Status.FAIL, "ends in +all"),
        ([["v=spf1 mx"]], Status.FAIL, "no final all"),
        ([["v=spf1 redirect=_spf.other.test"]], Status.WARN, "delegated"),
        ([["v=spf1 -all"], ["v=spf1 mx -all"]], Status.FAIL, "2 v=spf1 records"),
        ([["v=spf10 -all"], ["spf1 -all"]], Status.FAIL, "no v=spf1"),
        ([[" ".join(f"include:i{n}.test" for n in range(11)).join(["v=spf1 ", " -all"])]], Status.FAIL, "11 DNS"),
    ],
)
def test_spf_shapes(spf, status, needle):
    zone = Zone(txt={"mail.test": spf, "_dmarc.mail.test": [["v=DMARC1;p=quarantine"]]})
    found = run(zone, {"domain": "mail.test"})
    assert found["mail.test"].status is status, found["mail.test"].observed
    assert needle in found["mail.test"].observed


def test_soft_fail_can_be_refused_by_params():
    zone = Zone(txt={"mail.test": [["v=spf1 mx ~all"]]})
    found = run(zone, {"domain": "mail.test", "spf_all": ["-all"], "dmarc": "ignore"})
    assert found["mail.test"].status is Status.FAIL and "_dmarc.mail.test" not in found


@pytest.mark.parametrize(
    ("dmarc", "status", "needle"),
    [
        ([["v=DMARC1; p=none; rua=mailto:x@mail.test"]], Status.FAIL, "p=none"),
        ([["v=DMARC1; p=quarantine; pct=20"]], Status.WARN, "pct=20"),
        ([["v=DMARC1; rua=mailto:x@mail.test"]], Status.FAIL, "no valid p="),
        ([["v=DMARC1; p=reject"], ["v=DMARC1; p=none"]], Status.FAIL, "2 DMARC records"),
        (None, Status.FAIL, "no v=DMARC1"),
        # written other ways: tag names are case-insensitive, "DMARC1" must match exactly (RFC 7489 §6.4)
        ([["V = DMARC1 ;P=Reject; PCT = 100"]], Status.PASS, "DMARC"),
        ([["v=DMARC1; ", "p=quarantine"]], Status.PASS, "DMARC"),  # one record in two strings
        ([["v=dmarc1; p=reject"]], Status.FAIL, "no v=DMARC1"),
    ],
)
def test_dmarc_shapes(dmarc, status, needle):
    txt = {"mail.test": [["v=spf1 -all"]]}
    if dmarc is not None:
        txt["_dmarc.mail.test"] = dmarc
    found = run(Zone(txt=txt), {"domain": "mail.test"})
    assert found["_dmarc.mail.test"].status is status
    assert needle in found["_dmarc.mail.test"].observed


def test_nxdomain_servfail_refused_and_timeout_are_errors():
    found = run(Zone(), {"domain": "absent.test"})
    assert found["absent.test"].status is Status.ERROR and "NXDOMAIN" in found["absent.test"].observed
    for mode, needle in (("servfail", "SERVFAIL"), ("refused", "refused")):
        found = run(Zone(txt={"mail.test": [["v=spf1 -all"]]}, mode=mode), {"domain": "mail.test"})
        assert {f.status for f in found.values()} == {Status.ERROR, Status.SKIP}
        assert needle in found["mail.test"].observed
    started = time.monotonic()
    found = run(Zone(mode="silent"), {"domain": "mail.test", "dkim_selectors": ["s1"]}, timeout=0.5)
    assert time.monotonic() - started < 5
    assert all(f.status is Status.ERROR and "timeout" in f.observed for f in found.values())


def test_hostile_record_text_is_cleaned_and_capped():
    evil = "v=spf1 <script>alert(1)</script> " + "a" * 2000 + " \x1b[31m -all"
    found = run(Zone(txt={"mail.test": [[evil[i : i + 255] for i in range(0, len(evil), 255)]]}),
                {"domain": "mail.test", "dmarc": "ignore"})  # fmt: skip
    observed = found["mail.test"].observed
    assert len(observed) < 700 and "\x1b" not in observed


def test_params_and_nothing_configured(tmp_path):
    assert [(f.check_id, f.status) for f in check_email(EmailParams())] == [("email.configured", Status.SKIP)]
    with pytest.raises(ValidationError, match="not a domain"):
        DomainSpec(domain="not a domain")
    with pytest.raises(ValidationError, match="DKIM selector"):
        DomainSpec(domain="a.test", dkim_selectors=["bad selector"])
    with dns_server(GOOD) as port:
        (tmp_path / "p.yaml").write_text(
            f"environment: t\nemail:\n  nameservers: [127.0.0.1]\n  port: {port}\n"
            "  domains:\n    - {domain: shop.test}\n"
        )
        found = email.run(load_environment(tmp_path / "p.yaml"))
    assert [(f.check_id, f.status) for f in found] == [
        ("email.spf", Status.PASS),
        ("email.dmarc", Status.PASS),
        ("email.dkim", Status.SKIP),
    ]
    assert not email.record_table(found).empty
    assert email.AREA.params is EmailParams


def test_no_resolver_configuration_is_an_error_per_check(monkeypatch, tmp_path):
    import dns.resolver

    def no_config(self, *args, **kwargs):
        raise dns.resolver.NoResolverConfiguration("no nameservers")

    monkeypatch.setattr(dns.resolver.Resolver, "read_resolv_conf", no_config)
    found = check_email(EmailParams(domains=[{"domain": "shop.test", "dkim_selectors": ["s1"]}]))
    assert [(f.check_id, f.target, f.status) for f in found] == [
        ("email.spf", "shop.test", Status.ERROR),
        ("email.dmarc", "_dmarc.shop.test", Status.ERROR),
        ("email.dkim", "s1._domainkey.shop.test", Status.ERROR),
    ]
    assert "give email.nameservers" in found[0].observed
    bad = check_email(EmailParams(nameservers=["not-an-address"], domains=[{"domain": "shop.test"}]))
    assert {f.status for f in bad} == {Status.ERROR}


def test_subdomain_without_a_record_uses_the_organizational_domain_policy():
    """RFC 7489 §6.6.3: no record at _dmarc.mail.shop.co.uk → the record of _dmarc.shop.co.uk, its sp= first."""
    zone = Zone(
        txt={
            "mail.shop.co.uk": [["v=spf1 include:_spf.mailer.test -all"]],
            "_dmarc.shop.co.uk": [["v=DMARC1; p=reject; sp=none; rua=mailto:d@shop.co.uk"]],
            "news.shop.co.uk": [["v=spf1 -all"]],
            "_dmarc.news.shop.co.uk": [["v=DMARC1; p=quarantine"]],
            "bulk.other.co.uk": [["v=spf1 -all"]],
            "_dmarc.other.co.uk": [["v=DMARC1; p=quarantine"]],
            "lone.nothing.co.uk": [["v=spf1 -all"]],
            "nothing.co.uk": [["v=spf1 -all"]],
        }
    )
    found = run(
        zone,
        {"domain": "mail.shop.co.uk"},
        {"domain": "news.shop.co.uk"},
        {"domain": "bulk.other.co.uk"},
        {"domain": "lone.nothing.co.uk"},
    )
    inherited = found["_dmarc.mail.shop.co.uk"]
    assert inherited.status is Status.FAIL  # sp=none governs subdomains although p=reject
    assert "the organizational domain's applies" in inherited.observed and "sp=none" in inherited.observed
    assert found["_dmarc.news.shop.co.uk"].status is Status.PASS  # its own record wins
    assert found["_dmarc.bulk.other.co.uk"].status is Status.PASS  # no sp=: the parent's p=quarantine
    lone = found["_dmarc.lone.nothing.co.uk"]
    assert lone.status is Status.FAIL and "nor at _dmarc.nothing.co.uk" in lone.observed
