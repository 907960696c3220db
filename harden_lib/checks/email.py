"""Email authentication of the sending domains: SPF, DKIM and DMARC records, read from DNS.

Password-reset links, receipts and alerts leave from the product's domain; without SPF, DKIM and an
enforcing DMARC policy anyone can send mail that receiving servers accept as the product's own
(phishing the users with the real domain). The three records are public DNS data, so the audit
reads them with dnspython (through the system resolver, or the nameservers given)::

    email:
      nameservers: []            # default: the system resolver; e.g. [127.0.0.1] or the zone's own servers
      port: 53
      timeout: 3                 # seconds per lookup
      domains:
        - domain: example.com
          spf_all: ["-all", "~all"]         # accepted final 'all' mechanisms
          dmarc_policies: [quarantine, reject]
          dkim_selectors: [google, s1]      # DKIM selectors cannot be listed by DNS: name them

Findings (area ``email``, target the DNS name looked up): ``email.spf`` (exactly one ``v=spf1``
record, ending in an accepted ``all``, at most 10 DNS-querying terms at its top level),
``email.dmarc`` (one ``v=DMARC1`` record at ``_dmarc.<domain>``, ``p=`` accepted, ``pct`` 100),
``email.dkim`` (each selector's ``<selector>._domainkey.<domain>`` holds a usable public key: not
empty (revoked), decodable, RSA at least 1024 bits — 2048 advised). A domain that does not exist
(NXDOMAIN), a timeout, SERVFAIL or a refusal is ``error``: nothing was judged. Record text from
DNS is hostile: it is capped and cleaned before it is shown.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harden_lib.area import AreaSpec
from harden_lib.catalog import clean_observed, finding
from harden_lib.findings import Finding, Status

if TYPE_CHECKING:
    from collections.abc import Callable

    import dns.resolver
    import pandas as pd
    from publicsuffixlist import PublicSuffixList

    from harden_lib.environment import Environment

#: RFC 7208 §4.6.4: at most 10 terms that cause DNS lookups, or the SPF check is a permerror.
SPF_LOOKUP_LIMIT = 10
_SPF_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})


class DomainSpec(BaseModel):
    """One sending domain and what its records must say."""

    model_config = ConfigDict(extra="forbid")

    domain: str = Field(min_length=1, max_length=253, description="the domain mail is sent from")
    spf: Literal["required", "ignore"] = "required"
    spf_all: list[Literal["-all", "~all"]] = Field(
        default_factory=lambda: ["-all", "~all"], description="accepted final all mechanisms"
    )
    dmarc: Literal["required", "ignore"] = "required"
    dmarc_policies: list[Literal["none", "quarantine", "reject"]] = Field(
        default_factory=lambda: ["quarantine", "reject"], description="accepted DMARC p= policies"
    )
    dkim_selectors: list[str] = Field(
        default_factory=list, description="DKIM selectors whose key records must exist (cannot be discovered)"
    )

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        value = value.strip().rstrip(".").lower()
        if not re.fullmatch(r"(?:[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9])?\.)+[a-z0-9\-]{2,63}", value):
            raise ValueError("not a domain name (e.g. example.com)")
        return value

    @field_validator("dkim_selectors")
    @classmethod
    def _selectors(cls, value: list[str]) -> list[str]:
        for selector in value:
            if not re.fullmatch(r"[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*", selector):
                raise ValueError(f"not a DKIM selector: {selector[:40]!r}")
        return value


class EmailParams(BaseModel):
    """The ``email:`` section of an environment's params."""

    model_config = ConfigDict(extra="forbid")

    nameservers: list[str] = Field(default_factory=list, description="resolver addresses (empty: the system's)")
    port: int = Field(53, ge=1, le=65535)
    timeout: float = Field(3.0, gt=0, le=30, description="seconds per DNS lookup")
    domains: list[DomainSpec] = Field(default_factory=list)


# --------------------------------------------------------------------------- DNS


class LookupError_(Exception):
    """A lookup that could not be answered (timeout, SERVFAIL, refused, no resolver): nothing to judge."""


@dataclass(frozen=True)
class TxtAnswer:
    """The TXT strings at a name; ``exists`` is False for NXDOMAIN (the name does not exist)."""

    records: tuple[str, ...]
    exists: bool = True


def make_resolver(params: EmailParams) -> dns.resolver.Resolver:
    import dns.resolver

    resolver = dns.resolver.Resolver(configure=not params.nameservers)
    if params.nameservers:
        resolver.nameservers = list(params.nameservers)
    resolver.port = params.port
    resolver.timeout = params.timeout
    resolver.lifetime = params.timeout
    resolver.search = []
    return resolver


def lookup_txt(resolver: dns.resolver.Resolver, name: str) -> TxtAnswer:
    """The TXT records at ``name`` (each record's strings joined, RFC 7208 §3.3)."""
    import dns.exception
    import dns.name
    import dns.resolver

    try:
        answer = resolver.resolve(dns.name.from_text(name), "TXT", raise_on_no_answer=False, search=False)
    except dns.resolver.NXDOMAIN:
        return TxtAnswer((), exists=False)
    except dns.resolver.NoNameservers:
        raise LookupError_("no nameserver answered (SERVFAIL or refused)") from None
    except dns.exception.Timeout:
        raise LookupError_(f"no answer within {resolver.lifetime:g}s (timeout)") from None
    except dns.resolver.NoResolverConfiguration:
        raise LookupError_("no resolver is configured on this host (give email.nameservers)") from None
    except dns.exception.DNSException as exc:
        raise LookupError_(f"the lookup failed ({clean_observed(str(exc), 120) or 'no reason given'})") from None
    records = []
    for rdata in answer.rrset or []:
        records.append(b"".join(rdata.strings).decode("utf-8", "replace"))
    return TxtAnswer(tuple(records))


def _shown(record: str) -> str:
    return clean_observed(record, 300)


# --------------------------------------------------------------------------- SPF


def judge_spf(domain: DomainSpec, answer: TxtAnswer) -> tuple[Status, str]:
    if not answer.exists:
        return Status.ERROR, f"{domain.domain} does not exist (NXDOMAIN): check the domain in the params"
    spf = [r for r in answer.records if r.lower() == "v=spf1" or r.lower().startswith("v=spf1 ")]
    if not spf:
        return Status.FAIL, "no v=spf1 TXT record: any server may send as this domain"
    if len(spf) > 1:
        return Status.FAIL, f"{len(spf)} v=spf1 records (receivers treat this as a permanent error, RFC 7208 §4.5)"
    record = spf[0]
    terms = record.split()[1:]
    lookups = sum(1 for t in terms if re.split(r"[:/=]", t.lstrip("+-~?").lower())[0] in _SPF_LOOKUP_TERMS)
    alls = [t.lower() for t in terms if t.lower().lstrip("+-~?") == "all"]
    redirect = next((t for t in terms if t.lower().startswith("redirect=")), None)
    shown = f"SPF {_shown(record)}"
    if lookups > SPF_LOOKUP_LIMIT:
        return Status.FAIL, f"{shown}: {lookups} DNS-querying terms at the top level (limit {SPF_LOOKUP_LIMIT})"
    if not alls:
        if redirect:
            return Status.WARN, f"{shown}: the policy is delegated by {_shown(redirect)} (not followed)"
        return Status.FAIL, f"{shown}: no final all mechanism (unlisted senders get a neutral result)"
    final = alls[-1]
    final = final if final[0] in "+-~?" else "+" + final
    if final in domain.spf_all:
        return Status.PASS, shown
    return Status.FAIL, f"{shown}: ends in {final} (accepted: {', '.join(domain.spf_all)})"


# --------------------------------------------------------------------------- DMARC


def dmarc_tags(record: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in record.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags.setdefault(key.strip().lower(), value.strip())
    return tags


def _dmarc_records(answer: TxtAnswer) -> list[str]:
    """The DMARC records: the tag name ``v`` is case-insensitive, its value ``DMARC1`` exact (RFC 7489 §6.4)."""
    return [r for r in answer.records if re.match(r"\s*[vV]\s*=\s*DMARC1\s*(;|$)", r)]


def judge_dmarc(domain: DomainSpec, answer: TxtAnswer, inherited_from: str = "") -> tuple[Status, str]:
    """Judge the DMARC record; ``inherited_from``: the organizational domain whose record applies
    because the domain has none (RFC 7489 §6.6.3: its ``sp=`` policy, else its ``p=``)."""
    dmarc = _dmarc_records(answer)
    if not answer.exists or not dmarc:
        where = f"_dmarc.{domain.domain}" + (f" nor at _dmarc.{inherited_from}" if inherited_from else "")
        return Status.FAIL, f"no v=DMARC1 record at {where}: receivers apply no policy"
    if len(dmarc) > 1:
        return Status.FAIL, f"{len(dmarc)} DMARC records (receivers ignore them all, RFC 7489 §6.6.3)"
    record = dmarc[0]
    tags = dmarc_tags(record)
    policy = tags.get("p", "").lower()
    shown = f"DMARC {_shown(record)}"
    if inherited_from:
        shown = f"no record at _dmarc.{domain.domain}; the organizational domain's applies: {shown}"
        if tags.get("sp"):
            policy = tags["sp"].lower()
            shown += f" (sp={_shown(policy)} for subdomains)"
    if policy not in ("none", "quarantine", "reject"):
        return Status.FAIL, f"{shown}: no valid p= policy"
    if policy not in domain.dmarc_policies:
        return Status.FAIL, f"{shown}: {'sp' if inherited_from and tags.get('sp') else 'p'}={policy} "
        f"(accepted: {', '.join(domain.dmarc_policies)})"
    pct = tags.get("pct", "100")
    if pct != "100":
        return Status.WARN, f"{shown}: pct={_shown(pct)} applies the policy to part of the mail only"
    return Status.PASS, shown


def organizational_domain(domain: str) -> str | None:
    """The registrable domain (Public Suffix List): ``shop.example.co.uk`` → ``example.co.uk``."""
    return _public_suffixes().privatesuffix(domain)


@functools.lru_cache(maxsize=1)
def _public_suffixes() -> PublicSuffixList:
    """The Public Suffix List bundled with ``publicsuffixlist`` (read once; no network)."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


# --------------------------------------------------------------------------- DKIM


def judge_dkim(answer: TxtAnswer) -> tuple[Status, str]:
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key

    if not answer.exists or not answer.records:
        return Status.FAIL, "no DKIM key record at this selector"
    keys = [r for r in answer.records if "p=" in r.replace(" ", "")]
    if not keys:
        return Status.FAIL, "TXT records here, but none is a DKIM key (no p= tag)"
    tags = dmarc_tags(keys[0])  # same tag=value; syntax
    if tags.get("v", "DKIM1") != "DKIM1":
        return Status.FAIL, f"v={_shown(tags.get('v', ''))}: not a DKIM1 key record"
    data = re.sub(r"\s+", "", tags.get("p", ""))
    kind = tags.get("k", "rsa").lower()
    if not data:
        return Status.FAIL, "p= is empty: the key is revoked"
    if kind == "ed25519":
        try:
            raw = base64.b64decode(data, validate=True)
            ed25519.Ed25519PublicKey.from_public_bytes(raw)
        except (binascii.Error, ValueError):
            return Status.FAIL, "k=ed25519 but p= is not a 32-byte Ed25519 key"
        return Status.PASS, "Ed25519 key"
    try:
        der = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return Status.FAIL, "p= is not valid base64"
    try:
        key = load_der_public_key(der)  # SubjectPublicKeyInfo, as RFC 6376 §3.6.1 asks
    except ValueError:
        try:  # a bare PKCS#1 RSAPublicKey, which common verifiers (OpenDKIM, Gmail) accept too
            key = load_pem_public_key(
                b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(der) + b"-----END RSA PUBLIC KEY-----\n"
            )
        except ValueError:
            return Status.FAIL, "p= is not a DER public key"
    if not isinstance(key, rsa.RSAPublicKey):
        return Status.FAIL, f"k={_shown(kind)} but p= holds another key type"
    bits = key.key_size
    if bits < 1024:
        return Status.FAIL, f"RSA {bits}-bit key (receivers reject keys under 1024 bits, RFC 8301)"
    if bits < 2048:
        return Status.WARN, f"RSA {bits}-bit key (2048 bits advised)"
    return Status.PASS, f"RSA {bits}-bit key"


# --------------------------------------------------------------------------- area


def _dmarc_finding(domain: DomainSpec, resolver: dns.resolver.Resolver) -> Finding:
    name = f"_dmarc.{domain.domain}"
    expected = f"v=DMARC1 with p={' or '.join(domain.dmarc_policies)}, pct=100"
    try:
        answer = lookup_txt(resolver, name)
        organization = organizational_domain(domain.domain)
        if not _dmarc_records(answer) and organization and organization != domain.domain:
            parent = lookup_txt(resolver, f"_dmarc.{organization}")
            status, observed = judge_dmarc(domain, parent, inherited_from=organization)
        else:
            status, observed = judge_dmarc(domain, answer)
    except LookupError_ as exc:
        return finding("email.dmarc", Status.ERROR, name, f"TXT {name}: {exc}", expected=expected)
    return finding("email.dmarc", status, name, observed, expected=expected)


def check_domain(domain: DomainSpec, resolver: dns.resolver.Resolver) -> list[Finding]:
    findings: list[Finding] = []

    def one(check_id: str, name: str, judge: Callable[[TxtAnswer], tuple[Status, str]], expected: str) -> None:
        try:
            answer = lookup_txt(resolver, name)
        except LookupError_ as exc:
            findings.append(finding(check_id, Status.ERROR, name, f"TXT {name}: {exc}", expected=expected))
            return
        status, observed = judge(answer)
        findings.append(finding(check_id, status, name, observed, expected=expected))

    if domain.spf == "required":
        one("email.spf", domain.domain, lambda a: judge_spf(domain, a),
            f"one v=spf1 record ending in {' or '.join(domain.spf_all)}")  # fmt: skip
    if domain.dmarc == "required":
        findings.append(_dmarc_finding(domain, resolver))
    for selector in domain.dkim_selectors:
        one("email.dkim", f"{selector}._domainkey.{domain.domain}", judge_dkim,
            "a DKIM1 public key (RSA 2048 bits or Ed25519)")  # fmt: skip
    if not domain.dkim_selectors:
        findings.append(
            finding(
                "email.dkim",
                Status.SKIP,
                f"*._domainkey.{domain.domain}",
                "no dkim_selectors configured: DKIM selectors cannot be discovered by DNS, name them in the params",
            )
        )
    return findings


def check_email(params: EmailParams) -> list[Finding]:
    if not params.domains:
        return [finding("email.configured", Status.SKIP, "(no domains)", "email.domains is empty")]
    import dns.exception

    try:
        resolver = make_resolver(params)
    except (dns.exception.DNSException, OSError, ValueError):
        problem = (
            "no resolver is configured on this host (no usable /etc/resolv.conf): give email.nameservers"
            if not params.nameservers
            else "email.nameservers are not IP addresses"
        )
        return [finding(check_id, Status.ERROR, name, problem) for d in params.domains for check_id, name in _names(d)]
    findings: list[Finding] = []
    for domain in params.domains:
        findings.extend(check_domain(domain, resolver))
    return findings


def _names(domain: DomainSpec) -> list[tuple[str, str]]:
    """The (check id, DNS name) pairs a domain is judged on."""
    out = []
    if domain.spf == "required":
        out.append(("email.spf", domain.domain))
    if domain.dmarc == "required":
        out.append(("email.dmarc", f"_dmarc.{domain.domain}"))
    out += [("email.dkim", f"{s}._domainkey.{domain.domain}") for s in domain.dkim_selectors]
    return out


def run(env: Environment) -> list[Finding]:
    """The email area's findings for one environment (the notebook calls this)."""
    return check_email(env.email)


def record_table(findings: list[Finding]) -> pd.DataFrame:
    """One row per DNS name looked up: what was found there."""
    import pandas as pd

    from harden_lib.findings import ordered_categories  # issue 14: status in the model's order (A)

    rows = [{"name": f.target, "check": f.check_id, "status": f.status.value, "observed": f.observed} for f in findings]
    return ordered_categories(pd.DataFrame(rows))


AREA = AreaSpec(
    name="email",
    title="Email authentication",
    purpose="SPF, DKIM and DMARC records of the sending domains, read from DNS: nobody else can send as them.",
    params=EmailParams,
    order=105,
)
