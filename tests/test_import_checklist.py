"""`harden import-checklist`: a draft profile from a checklist written in another team's style."""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path

import pytest
import yaml

from harden_lib import cli
from harden_lib.checklist import Coverage, load_profile, normalise, source_items
from harden_lib.checklist_import import AUTOMATE_AT, Matcher, draft_items, route_selector, write_draft
from harden_lib.environment import load_environment

ROOT = Path(__file__).resolve().parent.parent

#: Written for this test in a style none of the shipped checklists uses: setext headings,
#: numbered lists, prose requirements, a table with a status column, a stand-alone command block.
BILLING = textwrap.dedent("""\
    Billing API — go-live gate
    ==========================

    Owners read this before every release. Nothing here is optional.

    Transport
    ---------

    The Strict-Transport-Security header must be sent with a max-age of one year.
    Certificates should never be allowed to expire unnoticed; renewals are automated.

    1) Only TLS 1.2 and TLS 1.3 are accepted by the load balancer
    2) Plain HTTP redirects to HTTPS
    3) Rate limit `POST /api/login` to 5 requests per minute

    Data stores
    -----------

    | Store | Requirement | Status |
    |-------|-------------|--------|
    | Redis | requirepass set, no anonymous clients | open |
    | Postgres | connections use sslmode=verify-full | done |

    Operations
    ----------

    Before tagging a release, run:

    ```sh
    npm audit --omit=dev
    STAGE=prod ./scripts/smoke.sh --quick
    ```

    1) Quarterly access review of the finance admin group
    2) Invoices are archived for ten years
    """)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher()


def test_every_requirement_becomes_an_item_in_its_own_wording_and_section(tmp_path, matcher):
    source = tmp_path / "billing.md"
    source.write_text(BILLING)
    items = write_draft(source, "billing", tmp_path / "billing.yaml", matcher=matcher)
    expected = source_items(BILLING)
    assert [(d.source.section, d.source.text) for d in items] == [(s.section, s.text) for s in expected]
    assert {s.kind for s in expected} == {"prose", "list", "table", "code"}
    profile = load_profile(tmp_path / "billing.yaml")  # a valid profile: ids, catalog ids, one way each
    assert [normalise(i.text) for i in profile.items] == [normalise(s.text) for s in expected]
    assert profile.title == "Billing API — go-live gate"
    assert len({i.id for i in profile.items}) == len(profile.items)


def test_clear_requirements_get_their_check_others_an_attestation_or_a_command(tmp_path, matcher):
    drafts = {d.source.text: d for d in draft_items(BILLING, matcher)}

    def first(fragment: str) -> str:
        (text,) = [t for t in drafts if fragment in t]
        return drafts[text].candidates[0].check_id

    assert first("Strict-Transport-Security").startswith("headers.hsts.")
    assert first("expire unnoticed") == "tls.cert.expiry"
    assert first("requirepass") in {"datastores.redis.auth_required", "datastores.redis.password"}
    assert first("sslmode") == "datastores.postgres.sslmode"
    assert first("redirects to HTTPS") in {"headers.redirect_https", "surface.http_redirect"}
    hsts = drafts["The Strict-Transport-Security header must be sent with a max-age of one year."]
    assert hsts.automated and hsts.candidates[0].confidence >= AUTOMATE_AT
    assert any(r.startswith('alias "') for r in hsts.candidates[0].reasons)  # explainable: what matched
    assert any("strict-transport-security" in r for c in hsts.candidates for r in c.reasons)
    # a per-route check on a requirement naming one route is decided by that route only
    limit = drafts["Rate limit `POST /api/login` to 5 requests per minute"]
    assert limit.automated and limit.candidates[0].check_id == "ratelimit.enforced"
    assert route_selector(limit.source.text, "ratelimit.enforced") == "route:POST /api/login"
    assert route_selector("Limit /a and /b", "ratelimit.enforced") is None  # two routes: no guess
    assert route_selector("POST /api/login", "headers.csp.present") is None
    # commands in the stand-alone block: leading VAR=value goes to env
    smoke = drafts["STAGE=prod ./scripts/smoke.sh --quick"]
    assert smoke.command == {
        "name": "stage-prod-scripts-smoke-sh-quick",
        "run": "./scripts/smoke.sh --quick",
        "cwd": ".",
        "env": {"STAGE": "prod"},
        "title": "STAGE=prod ./scripts/smoke.sh --quick",
    }
    # nothing in the catalog archives invoices: a person attests it
    archive = drafts["Invoices are archived for ten years"]
    assert not archive.automated and archive.command is None


def test_the_draft_is_deterministic_and_usable_by_an_environment(tmp_path, matcher):
    source = tmp_path / "billing.md"
    source.write_text(BILLING)
    write_draft(source, "billing", tmp_path / "a.yaml", matcher=matcher)
    write_draft(source, "billing", tmp_path / "b.yaml", matcher=Matcher())
    assert (tmp_path / "a.yaml").read_text() == (tmp_path / "b.yaml").read_text()
    document = yaml.safe_load((tmp_path / "a.yaml").read_text())
    owners = {a["owner"] for a in document["params"]["attestations"]}
    assert owners == {"TODO"}
    env_file = tmp_path / "prod.yaml"
    env_file.write_text("checklist: a.yaml\nareas: [operations, commands]\n")
    env = load_environment(env_file, environ={})
    profile = env.profile
    coverage = {i.coverage for i in profile.items}
    assert {Coverage.AUTOMATED, Coverage.ATTESTATION, Coverage.COMMAND} <= coverage
    assert "# candidates: headers.hsts." in (tmp_path / "a.yaml").read_text()
    limit = [i for i in profile.items if "POST /api/login" in i.text]
    assert [(c.id, c.targets) for c in limit[0].checks] == [("ratelimit.enforced", ("route:POST /api/login",))]


def test_cli_writes_the_draft_and_prints_its_coverage(tmp_path, capsys):
    source = tmp_path / "billing.md"
    source.write_text(BILLING)
    assert cli.main(["import-checklist", str(source), "--system", "billing"]) == 0
    out = capsys.readouterr().out
    draft = tmp_path / "billing.draft.yaml"
    assert draft.is_file() and f"Draft written to {draft}" in out
    assert "Billing API — go-live gate" in out and "0 not covered" in out  # the coverage table follows
    assert cli.main(["import-checklist", str(source), "--system", "billing"]) == 64  # no silent overwrite
    assert "--force" in capsys.readouterr().err
    assert cli.main(["import-checklist", str(source), "--system", "billing", "--force"]) == 0
    assert cli.main(["import-checklist", str(source), "--system", "Billing API"]) == 64
    assert cli.main(["import-checklist", str(tmp_path / "missing.md"), "--system", "x"]) == 64
    (tmp_path / "binary.md").write_bytes(b"\xff\xfe\x00 not text")
    assert cli.main(["import-checklist", str(tmp_path / "binary.md"), "--system", "bin"]) == 64


def test_the_shipped_checklists_draft_with_measured_agreement():
    """The figure in the README comes from benchmarks/bench_import.py: keep it from silently dropping."""
    spec = importlib.util.spec_from_file_location("bench_import", ROOT / "benchmarks" / "bench_import.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.measure()
    assert result["totals"]["items"] >= 90
    assert result["share"]["top1"] >= 0.7 and result["share"]["top3"] >= 0.85, result["share"]


def test_every_alias_names_a_catalog_check():
    """A typo in checklist_aliases.yaml would silently never match: every key must be a catalog id."""
    from harden_lib.catalog import catalog
    from harden_lib.checklist_import import load_aliases

    aliases = load_aliases()
    unknown = [k for k in aliases if catalog().get(k) is None or catalog().get(k).family]
    assert not unknown, unknown
    assert all(phrase and phrase == phrase.strip() for phrases in aliases.values() for phrase in phrases)
