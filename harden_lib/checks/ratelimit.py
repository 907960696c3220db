"""Does the rate limit really bite? Bounded bursts against each endpoint of a policy table.

Why: brute force on a login or a password reset and scraping of an API are stopped only by a
limit the server enforces, and a limiter that is configured but not wired in (wrong route, a
proxy that hides the client address, a per-instance memory store behind a load balancer)
looks fine in code review. Only sending the requests shows it.

Sending bursts is intrusive, so it is opt-in (DESIGN §7): without ``active_probes: true`` in
the environment every finding is ``skip`` with the reason. When on, each endpoint gets its
requests one after another (so "the N-th request" means something), at most ``limit +
margin`` of them and never more than ``max_requests``, within ``max_seconds``. The first 429
is the observed threshold; its ``Retry-After`` / ``RateLimit-*`` headers are reported. No
429 within the margin fails. Response bodies are not kept (capped reads, only the status).

Only answers that show the route worked count as evidence that no limit bites: a route that
answers 404, 405, 501, any 5xx, a permanent redirect elsewhere, or nothing at all was never
exercised, so "no 429" there means nothing (``error``, with the status counts). A 429 among
them is still a limit biting. A route that worked and then turned to 5xx (or stopped
answering) within the limit may be a limiter answering with the wrong status (nginx
``limit_req`` answers 503 by default) or a route failing under the burst: ``warn``, never
``pass`` or ``fail``. A burst stops early when the first answers already show the route is
missing (404/405/410/501): there is no point hammering it.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from harden_lib.area import AreaSpec
from harden_lib.catalog import clean_observed, finding
from harden_lib.errors import HardenError
from harden_lib.findings import Finding, Severity, Status
from harden_lib.redact import safe_text

if TYPE_CHECKING:
    import httpx
    import pandas as pd
    from matplotlib.figure import Figure

    from harden_lib.environment import Environment

_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hour|d|day)?\s*$", re.IGNORECASE)
_UNIT = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_window(value: str | int | float) -> float:
    """Seconds in a window written as ``900``, ``15m``, ``1h`` or ``1 day``."""
    if isinstance(value, int | float):
        return float(value)
    match = _WINDOW.match(value)
    if not match:
        raise ValueError("window must be seconds or a number with s, m, h or d (e.g. 15m)")
    return float(match.group(1)) * _UNIT[(match.group(2) or "s").lower()]


class EndpointPolicy(BaseModel):
    """One row of the policy table: ``limit`` requests per ``window`` on ``method path``."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    method: str = Field("GET", pattern=r"^(GET|HEAD|POST|PUT|PATCH|DELETE)$")
    path: str
    body: dict[str, Any] | str | None = Field(None, description="request body: an object is sent as JSON")
    limit: int = Field(ge=1, le=1000)
    window: str | float = Field(description="e.g. 15m, 1h, 900")
    margin: int | None = Field(None, ge=0, le=200, description="extra requests beyond limit (default: area's)")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or any(c.isspace() for c in value):
            raise ValueError("must be a path starting with '/'")
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: str | float) -> str | float:
        parse_window(value)
        return value

    @property
    def label(self) -> str:
        return self.name or f"{self.method} {self.path}"

    @property
    def window_seconds(self) -> float:
        return parse_window(self.window)


class RateLimitParams(BaseModel):
    """The ``ratelimit:`` section of an environment's params."""

    model_config = ConfigDict(extra="forbid")

    endpoints: list[EndpointPolicy] = Field(default_factory=list, max_length=30)
    margin: int = Field(5, ge=0, le=200, description="requests sent beyond the limit before calling it missing")
    max_requests: int = Field(300, ge=1, le=2000, description="hard cap of requests per endpoint")
    max_seconds: float = Field(30.0, gt=0, le=600, description="hard cap of time per endpoint")
    delay: float = Field(0.0, ge=0, le=5, description="seconds between requests")
    window_tolerance: float = Field(
        0.25,
        ge=0,
        le=5,
        description="share of the policy window by which the window the 429's reset headers show may differ "
        "(at least 2 s)",
    )


@dataclass
class Burst:
    """Every status one endpoint answered, in order, and what the first 429 said."""

    policy: EndpointPolicy
    url: str
    statuses: list[int | None] = field(default_factory=list)  # None: that request failed
    seconds: float = 0.0
    threshold: int | None = None  # 1-based number of the first 429
    limit_headers: dict[str, str] = field(default_factory=dict)
    #: rate-limit headers of the first answer (its Remaining says whether the window was fresh)
    first_headers: dict[str, str] = field(default_factory=dict)
    threshold_seconds: float | None = None  # seconds from the first request to the first 429's answer
    threshold_epoch: float | None = None  # wall-clock time of that answer (epoch reset headers)
    stopped: str = ""  # why the burst ended early, if it did
    error: str | None = None


#: Answers that say the route as configured is not there: never evidence about a limit.
MISSING_ROUTE = frozenset({404, 405, 410, 501})
#: Leading answers of that kind after which a burst stops (the route will not appear mid-burst).
MISSING_STOP_AFTER = 3


def route_worked(status: int | None) -> bool:
    """Whether an answer shows the route processed the request (so a limiter would have counted it).

    2xx, 302/303/307 (post-login redirects) and 4xx other than 404/405/410/429 do; 5xx,
    501, a missing route, a permanent move elsewhere (301/308: the route the policy names is
    not the one that answers) and no answer at all do not.
    """
    if status is None or status == 429 or status in MISSING_ROUTE:
        return False
    if 200 <= status < 300 or status in (302, 303, 307):
        return True
    return 400 <= status < 500


def status_counts(statuses: list[int | None]) -> str:
    """``200×3, 503×5, no answer×1`` in status order (no answer last)."""
    codes = sorted({s for s in statuses if s is not None})
    parts = [f"{code}\u00d7{statuses.count(code)}" for code in codes]
    if None in statuses:
        parts.append(f"no answer\u00d7{statuses.count(None)}")
    return ", ".join(parts)


def is_limit_header(name: str) -> bool:
    """``Retry-After`` and any rate-limit header however it is spelled.

    The IETF draft's ``RateLimit`` / ``RateLimit-Policy``, GitHub's ``X-RateLimit-*``, Okta's and
    Twitter's ``X-Rate-Limit-*``, ``X-Ratelimit-Reset-After`` …: compared without case, an ``x-``
    prefix, hyphens or underscores.
    """
    folded = name.lower().removeprefix("x-").replace("-", "").replace("_", "")
    return folded == "retryafter" or folded.startswith("ratelimit")


#: Headers reported from a 429 at most (a hostile server may send thousands).
_MAX_LIMIT_HEADERS = 12


def limit_headers_of(headers: httpx.Headers) -> dict[str, str]:
    """The rate-limit headers of one answer, names lower-cased, values escaped and capped."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if is_limit_header(name) and len(out) < _MAX_LIMIT_HEADERS:
            out[safe_text(name.lower(), 60)] = safe_text(value, 80)
    return out


def burst(client: httpx.Client, url: str, policy: EndpointPolicy, params: RateLimitParams) -> Burst:
    """Send up to ``limit + margin`` requests (capped by count and time); stop at the first 429."""
    from harden_lib.http import FetchError, fetch

    margin = params.margin if policy.margin is None else policy.margin
    count = min(policy.limit + margin, params.max_requests)
    result = Burst(policy, url)
    kwargs: dict[str, Any] = {}
    if isinstance(policy.body, dict):
        kwargs["content"] = json.dumps(policy.body).encode()
        kwargs["headers"] = {"Content-Type": "application/json"}
    elif isinstance(policy.body, str):
        kwargs["content"] = policy.body.encode()
        kwargs["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
    started = time.monotonic()
    failures = 0
    for number in range(1, count + 1):
        left = params.max_seconds - (time.monotonic() - started)
        if left <= 0:
            result.stopped = f"time cap of {params.max_seconds:g} s reached after {number - 1} requests"
            break
        try:
            answer = fetch(
                client,
                url,
                method=policy.method,
                follow_redirects=False,
                max_body_bytes=4096,
                deadline=max(min(left, 30.0), 0.5),
                **kwargs,
            )
        except FetchError as exc:
            result.statuses.append(None)
            failures += 1
            if failures >= 3:
                result.error = safe_text(str(exc), 300)
                result.stopped = "three requests failed"
                break
            continue
        result.statuses.append(answer.status_code)
        if number == 1:
            result.first_headers = limit_headers_of(answer.headers)
        leading = result.statuses
        if len(leading) == MISSING_STOP_AFTER and all(s in MISSING_ROUTE for s in leading):
            result.stopped = f"the route answered {status_counts(leading)} to the first {MISSING_STOP_AFTER} requests"
            break
        if answer.status_code == 429:
            result.threshold = number
            result.threshold_seconds = time.monotonic() - started
            result.threshold_epoch = time.time()
            result.limit_headers = limit_headers_of(answer.headers)
            break
        if params.delay:
            time.sleep(params.delay)
    result.seconds = time.monotonic() - started
    if result.threshold is None and not result.stopped and count < policy.limit + 1:
        result.stopped = f"max_requests ({params.max_requests}) is below the limit + 1 ({policy.limit + 1})"
    return result


#: Why a finding's severity differs from the catalog's default (kept on the finding).
_LOOSER = "a limit does bite, only later than the policy says"
_OTHER_STATUS = "something stopped the burst, but not with a 429: a limiter with another status or a failing route"


def burst_findings(b: Burst, params: RateLimitParams) -> list[Finding]:
    """``ratelimit.enforced`` and ``ratelimit.headers`` of one burst (pure; tested without a network)."""
    policy = b.policy
    margin = params.margin if policy.margin is None else policy.margin
    target = f"{policy.method} {b.url}"
    rule = f"policy {policy.limit} per {clean_observed(str(policy.window), 20)}"
    sent = len(b.statuses)
    seen = status_counts(b.statuses)
    summary = f"{sent} request(s) in {b.seconds:.1f} s ({seen or 'no answer'})"
    if b.threshold is None:
        return [*_no_429(b, policy, margin, target, rule, summary), allows_limit_finding(b, params)]
    out: list[Finding] = []
    if b.threshold <= policy.limit + 1:
        note = " (limited from the first request: earlier traffic in the same window)" if b.threshold == 1 else ""
        out.append(
            finding(
                "ratelimit.enforced",
                Status.PASS,
                target,
                f"first 429 at request {b.threshold}{note}; {rule}; {summary}",
            )
        )
    else:
        out.append(
            finding("ratelimit.enforced", Status.WARN, target,
                    f"first 429 at request {b.threshold}, looser than the {rule}; {summary}",
                    severity=Severity.MEDIUM, severity_reason=_LOOSER)
        )  # fmt: skip
    if b.limit_headers:
        shown = "; ".join(f"{k}: {v}" for k, v in b.limit_headers.items())
        out.append(finding("ratelimit.headers", Status.PASS, target, shown))
    else:
        out.append(finding("ratelimit.headers", Status.WARN, target, "429 without Retry-After or RateLimit-* headers"))
    out.append(allows_limit_finding(b, params))
    out.append(window_finding(b, params))
    return out


def _no_429(b: Burst, policy: EndpointPolicy, margin: int, target: str, rule: str, summary: str) -> list[Finding]:
    """No 429 came back: fail only when enough answers show the route worked; otherwise say why not."""
    worked = [i for i, s in enumerate(b.statuses) if route_worked(s)]
    if not worked:
        if b.error and all(s is None for s in b.statuses):
            return [finding("ratelimit.enforced", Status.ERROR, target, f"could not probe: {b.error}")]
        answered = [s for s in b.statuses if s is not None]
        hint = ""
        if answered and all(s == 405 for s in answered):
            hint = f" (405: the route does not take {policy.method}; check the policy's method)"
        elif answered and all(s in (404, 410) for s in answered):
            hint = " (check the policy's path)"
        observed = (
            f"the route did not work: {status_counts(b.statuses) or 'no answer'}{hint}; no answer showed the route "
            f"working, so nothing shows whether a limit bites; {rule}; {summary}"
        )
        return [finding("ratelimit.enforced", Status.ERROR, target, observed)]
    skip_headers = finding("ratelimit.headers", Status.SKIP, target, "no 429 to inspect")
    if len(worked) >= policy.limit + 1:
        broken = len(b.statuses) - len(worked)
        note = f"; {broken} answer(s) did not show the route working" if broken else ""
        observed = (
            f"no 429 within limit + margin ({policy.limit}+{margin}): {len(worked)} answer(s) showed the route "
            f"working{note}; {rule}; {summary}"
        )
        return [finding("ratelimit.enforced", Status.FAIL, target, observed), skip_headers]
    last = worked[-1]
    tail = b.statuses[last + 1 :]
    if len(tail) >= 2:
        # Worked, then stopped working for the rest of the burst, before limit + 1 worked answers.
        observed = (
            f"the route worked for {len(worked)} request(s), then answered {status_counts(tail)} from request "
            f"{last + 2} on, without a 429: a limiter answering with another status (nginx limit_req answers 503 "
            f"unless limit_req_status 429 is set) or the route failing under the burst; {rule}; {summary}"
        )
        remediation = (
            "Make the limiter answer 429 with Retry-After (nginx: limit_req_status 429), and check the service's "
            "logs for errors under load."
        )
        warn = finding(
            "ratelimit.enforced",
            Status.WARN,
            target,
            observed,
            severity=Severity.MEDIUM,
            severity_reason=_OTHER_STATUS,
            remediation=remediation,
        )
        return [warn, skip_headers]
    why = f"stopped before the limit could be tested: {b.stopped}" if b.stopped else "too few answers showed it working"
    observed = (
        f"only {len(worked)} answer(s) showed the route working (limit + 1 = {policy.limit + 1} needed); {why}; "
        f"{rule}; {summary}"
    )
    return [finding("ratelimit.enforced", Status.ERROR, target, observed)]


# --------------------------------------------------------------------------- legitimate use and the window


def _header(headers: dict[str, str], *names: str) -> str | None:
    for name in names:
        if name in headers:
            return headers[name]
    return None


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    match = re.match(r"^\s*(\d+(?:\.\d+)?)", text)
    return float(match.group(1)) if match else None


def _param(text: str | None, key: str) -> float | None:
    """``key=<number>`` inside a structured header (``100;w=900``, ``"default";r=0;t=30``)."""
    if text is None:
        return None
    match = re.search(rf"(?:^|[;,\s]){key}=(\d+(?:\.\d+)?)", text)
    return float(match.group(1)) if match else None


def remaining_of(headers: dict[str, str]) -> float | None:
    """Requests left in the window, as ``RateLimit-Remaining`` / ``X-RateLimit-Remaining`` / ``RateLimit: r=`` say."""
    value = _number(_header(headers, "ratelimit-remaining", "x-ratelimit-remaining", "x-rate-limit-remaining"))
    return value if value is not None else _param(_header(headers, "ratelimit"), "r")


def limit_of(headers: dict[str, str]) -> float | None:
    """The limit the server announces (``RateLimit-Limit``, ``X-RateLimit-Limit``, ``RateLimit-Policy: q=``)."""
    value = _number(_header(headers, "ratelimit-limit", "x-ratelimit-limit", "x-rate-limit-limit"))
    if value is None:
        value = _param(_header(headers, "ratelimit-policy", "x-ratelimit-policy"), "q")
    return value


def window_evidence(b: Burst) -> tuple[float, str] | None:
    """The window the 429's headers show, in seconds, and from which header; None when none says.

    In order of directness: a policy's ``w=`` (IETF draft ``RateLimit-Policy: 100;w=900`` or
    ``"default";q=100;w=900``) is the window itself; otherwise a reset delay (``RateLimit-Reset``
    / ``RateLimit: t=`` delta seconds; ``X-RateLimit-Reset`` delta, or epoch seconds / ms as
    GitHub sends; ``Retry-After`` seconds or an HTTP date) plus the time from the burst's first
    request to the 429 — for a window the burst opened (fixed or sliding), the two add up to
    the window.
    """
    headers = b.limit_headers
    for name in ("ratelimit-policy", "x-ratelimit-policy", "ratelimit"):
        w = _param(headers.get(name), "w")
        if w is not None:
            return w, f"{name} w={w:g}"
    elapsed = b.threshold_seconds or 0.0
    now = b.threshold_epoch or time.time()
    candidates: list[tuple[str, float | None]] = [
        ("ratelimit-reset", _number(headers.get("ratelimit-reset"))),
        ("ratelimit", _param(headers.get("ratelimit"), "t")),
        ("x-ratelimit-reset-after", _number(headers.get("x-ratelimit-reset-after"))),
        ("x-ratelimit-reset", _number(_header(headers, "x-ratelimit-reset", "x-rate-limit-reset"))),
        ("retry-after", _retry_after(headers.get("retry-after"), now)),
    ]
    for name, value in candidates:
        if value is None:
            continue
        if value > 1e12:  # epoch milliseconds
            value = value / 1000 - now
        elif value > 1e9:  # epoch seconds
            value = value - now
        value = max(value, 0.0)
        return value + elapsed, f"{name} {value:.0f} s after {elapsed:.1f} s of burst"
    return None


def _retry_after(text: str | None, now: float) -> float | None:
    if text is None:
        return None
    value = _number(text)
    if value is not None and re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", text):
        return value
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when.timestamp() - now if when.tzinfo else None


#: Why a blocked-too-early finding is only an error: the window was not fresh.
_USED_WINDOW = "earlier traffic in the same window (another probe, a previous run or real users) used part of it"


def allows_limit_finding(b: Burst, params: RateLimitParams) -> Finding:
    """``ratelimit.allows_limit``: legitimate use (``limit`` requests in a window) is never refused.

    Fails when the first 429 comes at or before request ``limit`` of a fresh window. A 429 at
    request 1, or a first answer whose ``RateLimit-Remaining`` shows the window already partly
    used, makes the burst inconclusive (``error``): the early 429 may be somebody else's
    traffic, not a stricter limiter. No 429 at all passes only when ``limit`` answers showed
    the route working (a broken route says nothing about blocking).
    """
    policy = b.policy
    target = f"{policy.method} {b.url}"
    rule = f"policy {policy.limit} per {clean_observed(str(policy.window), 20)}"
    if b.threshold is None:
        worked = sum(1 for s in b.statuses if route_worked(s))
        if worked >= policy.limit:
            return finding(
                "ratelimit.allows_limit",
                Status.PASS,
                target,
                f"no 429 in {len(b.statuses)} request(s); {worked} worked (≥ the limit {policy.limit}); {rule}",
            )
        return finding(
            "ratelimit.allows_limit",
            Status.ERROR,
            target,
            f"only {worked} answer(s) showed the route working, fewer than the limit {policy.limit}: "
            f"nothing shows legitimate use gets through; {status_counts(b.statuses) or 'no answer'}",
        )
    if b.threshold > policy.limit:
        return finding(
            "ratelimit.allows_limit",
            Status.PASS,
            target,
            f"first 429 at request {b.threshold}: the {policy.limit} requests the policy allows got through; {rule}",
        )
    announced = limit_of(b.first_headers) or limit_of(b.limit_headers)
    remaining = remaining_of(b.first_headers)
    shown = f"; the server announces a limit of {announced:g}" if announced is not None else ""
    if b.threshold == 1:
        return finding(
            "ratelimit.allows_limit",
            Status.ERROR,
            target,
            f"429 from the first request: {_USED_WINDOW}; wait one window and run again{shown}; {rule}",
        )
    if remaining is not None:
        used_before = (announced if announced is not None else policy.limit) - 1 - remaining
        if used_before > 0 and (announced is None or announced >= policy.limit):
            return finding(
                "ratelimit.allows_limit",
                Status.ERROR,
                target,
                f"first 429 at request {b.threshold}, but the first answer said RateLimit-Remaining {remaining:g}: "
                f"{used_before:g} request(s) of the window were used before the burst ({_USED_WINDOW}); {rule}",
            )
    return finding(
        "ratelimit.allows_limit",
        Status.FAIL,
        target,
        f"first 429 at request {b.threshold}, before the {policy.limit} requests the policy allows{shown}: "
        f"legitimate users are refused; {rule}; statuses {status_counts(b.statuses)}",
    )


def window_finding(b: Burst, params: RateLimitParams) -> Finding:
    """``ratelimit.window``: the window the 429's headers show matches the policy's, within a tolerance.

    Longer than the policy (users locked out longer than promised) fails; shorter (the limit
    resets sooner, so it is looser than the policy) warns; no reset header is a ``skip``
    (``ratelimit.headers`` already warns about it).
    """
    policy = b.policy
    target = f"{policy.method} {b.url}"
    window = policy.window_seconds
    evidence = window_evidence(b)
    if evidence is None:
        return finding(
            "ratelimit.window",
            Status.SKIP,
            target,
            "the 429 carries no Retry-After, RateLimit-Reset or policy window: the window cannot be observed "
            "(see ratelimit.headers)",
        )
    seen, source = evidence
    tolerance = max(window * params.window_tolerance, 2.0)
    observed = (
        f"window ≈ {seen:.0f} s ({source}); policy {window:g} s "
        f"({clean_observed(str(policy.window), 20)}) ± {tolerance:.0f} s"
    )
    if seen > window + tolerance:
        return finding(
            "ratelimit.window",
            Status.FAIL,
            target,
            observed + ": clients are locked out longer than the policy says",
        )
    if seen < window - tolerance:
        if "w=" not in source and window_used_before(b):
            # The window opened before the burst: a short reset is expected, not evidence of a short window.
            return finding(
                "ratelimit.window",
                Status.ERROR,
                target,
                observed + f": inconclusive — {_USED_WINDOW}, so the reset counts from an earlier start; "
                "wait one window and run again",
            )
        return finding(
            "ratelimit.window",
            Status.WARN,
            target,
            observed + ": the limit resets sooner than the policy says (looser; a token bucket refills this way, "
            "and a fixed window aligned to the clock resets at its boundary)",
        )
    return finding("ratelimit.window", Status.PASS, target, observed)


def window_used_before(b: Burst) -> bool:
    """Whether the burst's window was already in use: a 429 at request 1, or a first Remaining below limit - 1."""
    if b.threshold == 1:
        return True
    remaining = remaining_of(b.first_headers)
    announced = limit_of(b.first_headers) or limit_of(b.limit_headers) or b.policy.limit
    return remaining is not None and announced - 1 - remaining > 0


@dataclass
class RateLimitAudit:
    findings: list[Finding] = field(default_factory=list)
    bursts: list[Burst] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """The policy table with what was observed per endpoint."""
        import pandas as pd

        rows = []
        for b in self.bursts:
            rows.append(
                {
                    "endpoint": b.policy.label,
                    "policy": f"{b.policy.limit} / {b.policy.window}",
                    "requests sent": len(b.statuses),
                    "first 429 at": b.threshold,
                    "seconds": round(b.seconds, 2),
                    "limit headers": "; ".join(f"{k}: {v}" for k, v in b.limit_headers.items()),
                    "stopped": b.stopped,
                }
            )
        return pd.DataFrame(rows, columns=["endpoint", "policy", "requests sent", "first 429 at", "seconds",
                                           "limit headers", "stopped"])  # fmt: skip

    def statuses(self) -> pd.DataFrame:
        """Every request: endpoint, number, status (long form, for filtering)."""
        import pandas as pd

        rows = [
            {"endpoint": b.policy.label, "request": i, "status": s}
            for b in self.bursts
            for i, s in enumerate(b.statuses, start=1)
        ]
        return pd.DataFrame(rows, columns=["endpoint", "request", "status"])


def audit(env: Environment) -> RateLimitAudit:
    """Probe each policy row when active probes are on; otherwise ``skip`` with the reason."""
    from harden_lib.http import make_client, resolve_url

    params = env.ratelimit
    report = RateLimitAudit()
    if not params.endpoints:
        report.findings.append(
            finding("ratelimit.enforced", Status.SKIP, env.base or "(no base_url)", "no ratelimit.endpoints configured")
        )
        return report
    if not env.active_probes:
        for policy in params.endpoints:
            report.findings.append(
                finding("ratelimit.enforced", Status.SKIP, f"{policy.method} {policy.path}",
                        "active probes are off for this environment (set active_probes: true to send bursts)")
            )  # fmt: skip
            for check_id in ("ratelimit.allows_limit", "ratelimit.window"):
                report.findings.append(
                    finding(check_id, Status.SKIP, f"{policy.method} {policy.path}",
                            "active probes are off for this environment (set active_probes: true to send bursts)")
                )  # fmt: skip
        return report
    from harden_lib.http import no_cookie_jar

    # No cookies kept between requests: each request looks like a fresh client (as an attacker's).
    with make_client(env, cookies=no_cookie_jar()) as client:
        for policy in params.endpoints:
            try:
                url = resolve_url(env, policy.path)
            except HardenError as exc:
                report.findings.append(finding("ratelimit.enforced", Status.ERROR, policy.path, str(exc)))
                continue
            result = burst(client, url, policy, params)
            report.bursts.append(result)
            report.findings.extend(burst_findings(result, params))
    return report


def run(env: Environment) -> list[Finding]:
    """The area's entry point: every rate-limit finding for ``env`` (notebooks call ``audit`` once)."""
    return audit(env).findings


def plot_statuses(report: RateLimitAudit) -> Figure:
    """Status code over request number, one panel per endpoint; the policy limit as a dashed line."""
    from harden_lib.render import STATUS_COLOURS, empty_chart, figure

    bursts = report.bursts
    if not bursts:
        return empty_chart("no bursts sent (active probes off or nothing configured)", 7.5, 2.5)
    fig = figure(7.5, 0.6 + 1.9 * len(bursts))
    axes = fig.subplots(len(bursts), 1, squeeze=False)[:, 0]
    for ax, b in zip(axes, bursts, strict=True):
        xs = list(range(1, len(b.statuses) + 1))
        ys = [s or 0 for s in b.statuses]
        colours = [
            STATUS_COLOURS[Status.PASS] if s == 429 else STATUS_COLOURS[Status.ERROR] if not s else "#607d8b"
            for s in b.statuses
        ]
        ax.step(xs, ys, where="mid", color="#b0bec5", linewidth=1)
        ax.scatter(xs, ys, c=colours, s=14, zorder=3)
        ax.axvline(b.policy.limit + 0.5, color=STATUS_COLOURS[Status.FAIL], linestyle="--", linewidth=1)
        ax.set_title(f"{b.policy.label}: policy {b.policy.limit} / {b.policy.window}", fontsize=9)
        ax.set_ylabel("status")
        ticks = sorted(set(ys))
        ax.set_yticks(ticks, [str(t) if t else "failed" for t in ticks])
        ax.margins(y=0.25)
        ax.set_xlim(0.5, max(len(xs), b.policy.limit + 1) + 0.5)
        ax.spines[["top", "right"]].set_visible(False)
    axes[-1].set_xlabel("request number (dashed: the policy's limit)")
    return fig


AREA = AreaSpec(
    name="ratelimit",
    title="Rate limits",
    purpose="Login, password reset and API limits really bite (bounded, opt-in bursts).",
    params=RateLimitParams,
    order=60,
)
