"""Do protected routes refuse requests without a valid token, and webhooks unsigned calls?

Why: a route that serves data to a request with no token, a made-up token, an unsigned JWT
(``alg: none``) or a malformed ``Authorization`` header is open to anyone who knows its URL,
whatever the code review said about its middleware; and a webhook endpoint that acts on an
unsigned or badly signed POST lets anyone fake a payment, a push or a deploy event. A strong
signing secret in the environment proves nothing if the handler never checks the signature:
only sending the requests shows it.

``auth.bearer``: each route of ``auth.protected_routes`` is requested four ways — without a
token, with an invalid opaque token, with an unsigned JWT (``alg: none``) and with a malformed
header (``Bearer`` and no credentials) — through a client that carries none of the configured
headers or cookies. Every answer must refuse: 401/403 (400/407 are accepted as refusals too,
RFC 6750 answers a malformed request with 400). A 302/303/307 to another path (a login page)
counts as refused by default — the data was not served, and a browser lands on the login page
— unless ``redirect_is_rejection: false`` (then it warns: an API should answer 401). Any 2xx
fails. 301/308, 404/405/410, 429, other statuses, 5xx or no answer are ``error``: the route
that answered is not the protected route the params name, or it failed, so nothing shows
whether a token is required. GET/HEAD routes are always probed (they change nothing); other
methods only with ``active_probes: true``.

``auth.webhook_signature`` (only with ``active_probes: true``): each webhook gets two POSTs
with an inert test event — one without a signature header, one with a wrong signature in the
provider's format (``Stripe-Signature: t=…,v1=…``, ``X-Hub-Signature-256: sha256=…``,
``X-Slack-Signature: v0=…`` or a configured header). Both must be refused with a 4xx other
than 404/405/410/429; a 2xx fails; 3xx, 5xx and no answer are ``error``. Two requests per
webhook, every request under the HTTP client's timeouts and the area's ``max_seconds``.

The answers are hostile: bodies are read under a small cap and never shown; statuses and the
``Location`` path (escaped, capped, query dropped) are.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harden_lib.area import AreaSpec
from harden_lib.catalog import finding
from harden_lib.errors import HardenError
from harden_lib.findings import Finding, Status
from harden_lib.redact import safe_text

if TYPE_CHECKING:
    import httpx
    import pandas as pd

    from harden_lib.environment import Environment

Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def _path(value: str) -> str:
    if not value.startswith("/") or any(c.isspace() for c in value):
        raise ValueError("must be a path starting with '/'")
    return value


class ProtectedRoute(BaseModel):
    """A route that must refuse requests without a valid token."""

    model_config = ConfigDict(extra="forbid")

    path: str
    method: Method = "GET"
    name: str = ""

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        return _path(value)

    @property
    def label(self) -> str:
        return self.name or f"{self.method} {self.path}"


#: Where each provider puts its signature, and how a (wrong) one looks.
PROVIDERS: dict[str, str] = {
    "stripe": "Stripe-Signature",
    "github": "X-Hub-Signature-256",
    "slack": "X-Slack-Signature",
}


class Webhook(BaseModel):
    """A webhook route that must refuse unsigned and badly signed calls."""

    model_config = ConfigDict(extra="forbid")

    path: str
    name: str = ""
    provider: Literal["stripe", "github", "slack", "generic"] = "generic"
    signature_header: str | None = Field(
        None, pattern=r"^[A-Za-z0-9\-]{1,60}$", description="default: the provider's (Stripe-Signature …)"
    )
    signature_prefix: str = Field("", max_length=20, description="generic provider: put before the hex digest")
    body: dict[str, Any] | None = Field(None, description="JSON event sent (default: an inert test event)")

    @field_validator("path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        return _path(value)

    @model_validator(mode="after")
    def _header(self) -> Webhook:
        if self.provider == "generic" and not self.signature_header:
            raise ValueError("a generic webhook needs signature_header (the header its signature travels in)")
        return self

    @property
    def header(self) -> str:
        return self.signature_header or PROVIDERS[self.provider]

    @property
    def label(self) -> str:
        return self.name or f"POST {self.path}"


class AuthParams(BaseModel):
    """The ``auth:`` section of an environment's params."""

    model_config = ConfigDict(extra="forbid")

    protected_routes: list[ProtectedRoute] = Field(
        default_factory=list, max_length=50, description="routes that must refuse requests without a valid token"
    )
    token_header: str = Field("Authorization", pattern=r"^[A-Za-z0-9\-]{1,60}$")
    token_prefix: str = Field("Bearer ", max_length=30)
    redirect_is_rejection: bool = Field(
        True, description="a 302/303/307 to another path (a login page) counts as refused"
    )
    valid_token_env: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,80}$",
        description="name of an environment variable holding a valid token: a control request with it must be "
        "served, so a route that refuses everyone is not taken for one that checks tokens (never shown)",
    )
    webhooks: list[Webhook] = Field(default_factory=list, max_length=20)
    max_seconds: float = Field(60.0, gt=0, le=600, description="hard cap of time for all probes of the area")

    @field_validator("protected_routes", mode="before")
    @classmethod
    def _routes(cls, value: Any) -> Any:
        # A bare path is a GET route: protected_routes: [/api/me, {path: /api/orders, method: POST}]
        if isinstance(value, list):
            return [{"path": v} if isinstance(v, str) else v for v in value]
        return value


# --------------------------------------------------------------------------- probes


@dataclass(frozen=True)
class Answer:
    """What one probe got back: status (None: no answer), redirect path, or the error."""

    route: str
    probe: str
    status: int | None
    location: str = ""
    error: str = ""


def _unsigned_jwt() -> str:
    """A JWT with ``alg: none`` claiming an admin subject: must never be accepted (not a secret)."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()

    claims = {"sub": "harden-probe", "role": "admin", "exp": 4102444800}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


#: A made-up token no server can have issued (shown in reports as "invalid token").
INVALID_TOKEN = "harden-invalid-token-7f3c2a91"


def bearer_probes(params: AuthParams) -> list[tuple[str, dict[str, str]]]:
    """(label, headers) of the four requests each protected route gets."""
    name, prefix = params.token_header, params.token_prefix
    return [
        ("no token", {}),
        ("invalid token", {name: prefix + INVALID_TOKEN}),
        ("unsigned JWT (alg none)", {name: prefix + _unsigned_jwt()}),
        ("malformed header", {name: prefix.strip() or "-"}),
    ]


def _send(
    client: httpx.Client, url: str, method: str, headers: dict[str, str], deadline: float, **kwargs: Any
) -> Answer:
    from harden_lib.http import FetchError, fetch

    left = deadline - time.monotonic()
    if left <= 0:
        return Answer(url, "", None, error="auth.max_seconds reached before this request")
    try:
        got = fetch(
            client,
            url,
            method=method,
            headers=headers,
            follow_redirects=False,
            max_body_bytes=2048,
            deadline=max(min(left, 30.0), 0.5),
            **kwargs,
        )
    except FetchError as exc:
        return Answer(url, "", None, error=safe_text(str(exc), 200))
    location = ""
    if 300 <= got.status_code < 400:
        raw = got.headers.get("location", "")
        location = safe_text(urlsplit(raw).path or raw.split("?", 1)[0], 120)
    return Answer(url, "", got.status_code, location)


#: Refusals: 401/403 as RFC 6750 says, 400 for a malformed request, 407 from an auth proxy.
REFUSED = frozenset({400, 401, 403, 407})


def _verdict(a: Answer, path: str, params: AuthParams) -> str:
    """``refused``, ``served``, ``redirect`` (to a login page), or ``inconclusive``."""
    if a.status is None:
        return "inconclusive"
    if a.status in REFUSED:
        return "refused"
    if 200 <= a.status < 300:
        return "served"
    if a.status in (302, 303, 307) and a.location and a.location.rstrip("/") != path.split("?")[0].rstrip("/"):
        return "redirect"
    return "inconclusive"


def _shown(a: Answer) -> str:
    if a.status is None:
        return f"{a.probe}: no answer ({a.error})"
    if a.location:
        return f"{a.probe}: {a.status} → {a.location}"
    return f"{a.probe}: {a.status}"


#: The label of the control request made with ``auth.valid_token_env``'s token.
CONTROL = "valid token (control)"


def bearer_finding(route: ProtectedRoute, url: str, answers: list[Answer], params: AuthParams) -> Finding:
    """``auth.bearer`` of one route from its answers (pure; tested with real servers through ``audit``).

    With a control answer (the valid token), a route that refuses it too only ``warn``s: the
    refusals may come from something else than the token check (a wrong route, a WAF).
    """
    target = f"{route.method} {url}"
    control = next((a for a in answers if a.probe == CONTROL), None)
    answers = [a for a in answers if a.probe != CONTROL]
    verdicts = [(a, _verdict(a, urlsplit(url).path, params)) for a in answers]
    served = [a for a, v in verdicts if v == "served"]
    unclear = [a for a, v in verdicts if v == "inconclusive"]
    redirected = [a for a, v in verdicts if v == "redirect"]
    listed = "; ".join(_shown(a) for a in answers)
    if served:
        return finding(
            "auth.bearer",
            Status.FAIL,
            target,
            f"served without a valid token ({', '.join(a.probe for a in served)}): {listed}",
        )
    if unclear:
        return finding(
            "auth.bearer",
            Status.ERROR,
            target,
            f"inconclusive — no answer shows whether a token is required "
            f"(404/405: check the path and method; 5xx/429/no answer: the route failed): {listed}",
        )
    if redirected and not params.redirect_is_rejection:
        return finding(
            "auth.bearer",
            Status.WARN,
            target,
            f"redirected instead of 401/403 (auth.redirect_is_rejection is false): {listed}",
        )
    note = " (redirects to another path count as refused: auth.redirect_is_rejection)" if redirected else ""
    if control is not None:
        if control.status is not None and 200 <= control.status < 300:
            listed += f"; {_shown(control)} (served)"
        else:
            return finding(
                "auth.bearer",
                Status.WARN,
                target,
                f"refused every time, but also with the valid token ({_shown(control)}): the refusals may not "
                f"come from a token check — check the route and auth.valid_token_env: {listed}",
            )
    return finding("auth.bearer", Status.PASS, target, f"refused every time{note}: {listed}")


def _bad_signature(hook: Webhook) -> dict[str, str]:
    """The provider's signature header with a well-formed but wrong value (zeros: not a secret)."""
    digest = "0" * 64
    now = str(int(time.time()))
    if hook.signature_header is None and hook.provider == "stripe":
        return {"Stripe-Signature": f"t={now},v1={digest}"}
    if hook.signature_header is None and hook.provider == "github":
        return {"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Event": "ping"}
    if hook.signature_header is None and hook.provider == "slack":
        return {"X-Slack-Signature": f"v0={digest}", "X-Slack-Request-Timestamp": now}
    return {hook.header: hook.signature_prefix + digest}


DEFAULT_EVENT = {"id": "evt_harden_signature_probe", "object": "event", "type": "harden.signature_probe", "data": {}}


def webhook_finding(hook: Webhook, url: str, answers: list[Answer]) -> Finding:
    """``auth.webhook_signature`` of one webhook from its two answers."""
    target = f"POST {url}"
    listed = "; ".join(_shown(a) for a in answers)
    served = [a for a in answers if a.status is not None and 200 <= a.status < 300]
    if served:
        return finding(
            "auth.webhook_signature",
            Status.FAIL,
            target,
            f"accepted without a valid {hook.header} ({', '.join(a.probe for a in served)}): {listed}",
        )
    refused = [a for a in answers if a.status is not None and 400 <= a.status < 500 and a.status not in _MISSING]
    if len(refused) == len(answers):
        return finding("auth.webhook_signature", Status.PASS, target, f"refused: {listed}")
    return finding(
        "auth.webhook_signature",
        Status.ERROR,
        target,
        f"inconclusive — 404/405/410/429, a redirect, 5xx or no answer shows nothing about the signature check: "
        f"{listed}",
    )


_MISSING = frozenset({404, 405, 410, 429})


# --------------------------------------------------------------------------- the audit


@dataclass
class AuthAudit:
    findings: list[Finding] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """Every probe: route, what was sent, what came back."""
        import pandas as pd

        rows = [
            {
                "route": safe_text(a.route, 120),
                "probe": a.probe,
                "status": a.status,
                "redirect to": a.location,
                "error": a.error,
            }
            for a in self.answers
        ]
        return pd.DataFrame(rows, columns=["route", "probe", "status", "redirect to", "error"])


def _client(env: Environment) -> httpx.Client:
    """The shared client without any configured header or cookie: probes come as a stranger's requests."""
    from harden_lib.http import make_client, no_cookie_jar

    return make_client(env, http=env.http.model_copy(update={"headers": {}}), cookies=no_cookie_jar())


def audit(env: Environment) -> AuthAudit:
    """Probe every protected route and (with active probes) every webhook; nothing configured is a ``skip``."""
    params: AuthParams = env.auth
    report = AuthAudit()
    if not params.protected_routes and not params.webhooks:
        report.findings.append(
            finding(
                "auth.bearer",
                Status.SKIP,
                env.base or "(no base_url)",
                "no auth.protected_routes or auth.webhooks configured",
            )
        )
        return report
    deadline = time.monotonic() + params.max_seconds
    with _client(env) as client:
        _probe_bearer(env, client, report, deadline)
        _probe_webhooks(env, client, report, deadline)
    return report


def _probe_bearer(env: Environment, client: httpx.Client, report: AuthAudit, deadline: float) -> None:
    """Each protected route with no, invalid, unsigned and malformed tokens (and the valid-token control)."""
    from harden_lib.http import resolve_url

    params: AuthParams = env.auth
    valid = os.environ.get(params.valid_token_env, "") if params.valid_token_env else ""
    probes = bearer_probes(params)
    if valid:
        probes.append((CONTROL, {params.token_header: params.token_prefix + valid}))
    for route in params.protected_routes:
        target = f"{route.method} {route.path}"
        if route.method not in ("GET", "HEAD") and not env.active_probes:
            report.findings.append(
                finding("auth.bearer", Status.SKIP, target,
                        f"{route.method} without a token could change data on an unprotected route: "
                        "set active_probes: true to send it")
            )  # fmt: skip
            continue
        if params.valid_token_env and not valid:
            report.findings.append(
                finding("auth.bearer", Status.ERROR, target,
                        f"auth.valid_token_env names {params.valid_token_env}, which is not set or empty")
            )  # fmt: skip
            continue
        try:
            url = resolve_url(env, route.path)
        except HardenError as exc:
            report.findings.append(finding("auth.bearer", Status.ERROR, target, str(exc)))
            continue
        answers = []
        for label, headers in probes:
            got = _send(client, url, route.method, headers, deadline)
            answers.append(Answer(url, label, got.status, got.location, got.error))
        report.answers.extend(answers)
        report.findings.append(bearer_finding(route, url, answers, params))


def _probe_webhooks(env: Environment, client: httpx.Client, report: AuthAudit, deadline: float) -> None:
    """Each webhook with an unsigned and a badly signed POST (only with active probes: they may act)."""
    from harden_lib.http import resolve_url

    for hook in env.auth.webhooks:
        target = f"POST {hook.path}"
        if not env.active_probes:
            report.findings.append(
                finding("auth.webhook_signature", Status.SKIP, target,
                        "active probes are off for this environment (set active_probes: true to send the "
                        "unsigned and badly signed POSTs)")
            )  # fmt: skip
            continue
        try:
            url = resolve_url(env, hook.path)
        except HardenError as exc:
            report.findings.append(finding("auth.webhook_signature", Status.ERROR, target, str(exc)))
            continue
        body = json.dumps(hook.body if hook.body is not None else DEFAULT_EVENT).encode()
        answers = []
        for label, extra in (("unsigned", {}), (f"wrong {hook.header}", _bad_signature(hook))):
            headers = {"Content-Type": "application/json", **extra}
            got = _send(client, url, "POST", headers, deadline, content=body)
            answers.append(Answer(url, label, got.status, got.location, got.error))
        report.answers.extend(answers)
        report.findings.append(webhook_finding(hook, url, answers))


def run(env: Environment) -> list[Finding]:
    """The area's entry point: every token and webhook-signature finding for ``env``."""
    return audit(env).findings


AREA = AreaSpec(
    name="auth",
    title="Tokens and webhook signatures",
    purpose="Protected routes refuse missing, invalid and malformed tokens; webhooks refuse unsigned calls.",
    params=AuthParams,
    order=55,
)
