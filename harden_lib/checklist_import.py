"""``harden import-checklist``: a draft profile from any team's checklist text.

Every requirement ``source_items`` finds (list items, table rows, prose requirements, stand-alone
code lines) becomes an item in its own wording and section. Each is matched against the check
catalog; the best matches are written next to the item with a confidence and the reasons, and
the item is mapped to the best check when the confidence reaches ``AUTOMATE_AT``. A code line
that reads as a shell command becomes a ``commands`` entry; everything else becomes an
attestation with ``owner: TODO`` for the team to fill in.

The matcher is deterministic and explainable — no model, no per-checklist rule:

* **aliases**: phrases that name what a check verifies (header and setting names, tool names,
  synonyms), from the catalog entry's ``aliases`` and ``checklist_aliases.yaml``. A phrase found
  in the requirement scores by its length and by how few checks share it;
* **words**: the requirement's words against each check's id, title, expected outcome and
  aliases, weighted by their rarity in the catalog (IDF), inflections matched with RapidFuzz
  (``fuzz.ratio`` >= 88: "rotated" ~ "rotation"); the section heading counts at a third;
* the confidence is ``score / (score + 2)`` of the sum, so it grows with evidence and never
  reaches 1; the reasons (aliases found, words shared) are printed with each candidate.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from rapidfuzz import fuzz

from harden_lib.checklist import SourceItem, source_items

#: a candidate at or above this confidence maps the item to the check; below, an attestation
AUTOMATE_AT = 0.7
#: candidates written next to each item
CANDIDATES = 3
ALIASES_FILE = Path(__file__).with_name("checklist_aliases.yaml")

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "as",
        "at",
        "is",
        "are",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "from",
        "not",
        "no",
        "into",
        "per",
        "via",
        "all",
        "any",
        "each",
        "every",
        "only",
        "also",
        "use",
        "used",
        "using",
        "set",
        "ensure",
        "enable",
        "enabled",
        "must",
        "should",
        "shall",
        "will",
        "can",
        "may",
        "do",
        "does",
        "done",
        "have",
        "has",
        "if",
        "when",
        "before",
        "after",
        "than",
        "then",
        "there",
        "their",
        "our",
        "your",
        "we",
        "you",
        "they",
        "them",
        "is",
        "are",
        "was",
        "were",
        "able",
        "etc",
        "e",
        "g",
        "i",
        "ie",
        "eg",
        "vs",
    ]
)
#: tags and id words that every check of an area shares: no evidence for any one check
_GENERIC = frozenset(
    [
        "web",
        "owasp",
        "asvs",
        "v4",
        "0",
        "3",
        "execution",
        "configured",
        "fetch",
        "checks",
        "check",
        "checklist",
        "audit",
    ]
)
_COMMAND = re.compile(
    r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:npm|npx|yarn|pnpm|node|python3?|pip|bash|sh|make|docker|docker-compose|"
    r"kubectl|helm|curl|wget|openssl|redis-cli|psql|pg_dump|tail|grep|git|go|cargo|terraform|ansible|"
    r"\./|/)\S*"
)


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def words(text: str) -> list[str]:
    """Lower-case word stems of a text, stop words dropped."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


def _phrase_in(phrase: str, text: str) -> bool:
    """``phrase`` occurs in ``text`` (both lower case) not as part of a longer word."""
    start = 0
    while True:
        at = text.find(phrase, start)
        if at < 0:
            return False
        before = text[at - 1] if at else " "
        after = text[at + len(phrase)] if at + len(phrase) < len(text) else " "
        if not (phrase[0].isalnum() and before.isalnum()) and not (phrase[-1].isalnum() and after.isalnum()):
            return True
        start = at + 1


@dataclass(frozen=True)
class Candidate:
    """A check id proposed for a requirement, how sure, and why."""

    check_id: str
    confidence: float
    reasons: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.check_id} {self.confidence:.2f} ({'; '.join(self.reasons) or 'weak'})"


@dataclass
class _Doc:
    check_id: str
    words: dict[str, float] = field(default_factory=dict)  # stem -> weight (before IDF)
    aliases: tuple[str, ...] = ()


class Matcher:
    """Ranks catalog checks for a requirement text (see the module docstring for the scoring)."""

    def __init__(self, specs: Iterable | None = None, aliases: dict[str, Sequence[str]] | None = None) -> None:
        from harden_lib.catalog import catalog

        specs = list(catalog() if specs is None else specs)
        extra = load_aliases() if aliases is None else aliases
        self.docs: list[_Doc] = []
        for spec in specs:
            if (
                spec.family
                or spec.id.endswith((".execution", ".configured"))
                or spec.area in ("commands", "operations")
            ):
                continue  # params-defined ids, run bookkeeping, the command runner itself (code lines -> commands)
            if spec.area == "governance" and spec.id != "governance.signoff":
                continue  # waivers and the checklist's own bookkeeping are no requirement's check
            phrases = tuple(dict.fromkeys(a.lower().strip() for a in (*spec.aliases, *extra.get(spec.id, ())) if a))
            doc = _Doc(spec.id, aliases=phrases)
            sources = [
                (" ".join(spec.id.split(".")[1:]).replace("_", " "), 1.0),
                (spec.title, 1.0),
                (spec.expected, 0.5),
                (" ".join(t for t in spec.tags if ":" not in t), 0.5),
                (" ".join(phrases), 1.0),
            ]
            for text, weight in sources:
                for w in words(text):
                    if w not in _GENERIC:
                        doc.words[w] = max(doc.words.get(w, 0.0), weight)
            self.docs.append(doc)
        n = len(self.docs)
        frequency: dict[str, int] = {}
        alias_frequency: dict[str, int] = {}
        for doc in self.docs:
            for w in doc.words:
                frequency[w] = frequency.get(w, 0) + 1
            for a in doc.aliases:
                alias_frequency[a] = alias_frequency.get(a, 0) + 1
        self.idf = {w: math.log(1 + n / f) for w, f in frequency.items()}
        self.alias_share = alias_frequency
        self.vocabulary = sorted(frequency)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one matcher per import, bounded
    def _similar(self, word: str) -> tuple[tuple[str, float], ...]:
        """Catalog words that are the same word inflected differently (RapidFuzz ratio >= 88)."""
        if word in self.idf:
            return ((word, 1.0),)
        out = []
        for other in self.vocabulary:
            if abs(len(other) - len(word)) <= 3 and min(len(other), len(word)) >= 5:
                ratio = fuzz.ratio(word, other)
                if ratio >= 88:
                    out.append((other, ratio / 100))
        return tuple(out)

    def candidates(self, text: str, section: str = "", limit: int = CANDIDATES) -> list[Candidate]:
        """The ``limit`` best checks for a requirement, best first (ties broken by check id)."""
        lowered = " ".join(text.replace("`", " ").replace("*", " ").lower().split())
        context = [(w, 1.0) for w in words(lowered)] + [(w, 0.33) for w in words(section)]
        scored = []
        for doc in self.docs:
            alias_score, found = 0.0, []
            for phrase in doc.aliases:
                if _phrase_in(phrase, lowered):
                    length = min(len(phrase.split()), 3)
                    share = self.alias_share[phrase]
                    alias_score += (0.8 + 0.4 * length) / math.sqrt(share)
                    found.append(f'alias "{phrase}"')
            word_score, shared = 0.0, {}
            for word, weight in context:
                best = 0.0
                for other, similarity in self._similar(word):
                    if other in doc.words:
                        best = max(best, similarity * doc.words[other] * self.idf[other])
                if best:
                    word_score += weight * best
                    shared[word] = max(shared.get(word, 0.0), weight * best)
            score = 2.0 * min(alias_score, 4.0) + 0.35 * word_score
            if score <= 0:
                continue
            reasons = found[:3]
            if shared:
                top = sorted(shared, key=lambda w: -shared[w])[:4]
                reasons.append("words: " + ", ".join(top))
            scored.append(Candidate(doc.check_id, round(score / (score + 2.0), 2), tuple(reasons)))
        scored.sort(key=lambda c: (-c.confidence, c.check_id))
        return scored[:limit]


def load_aliases(path: Path = ALIASES_FILE) -> dict[str, list[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): [str(v) for v in (vs or [])] for k, vs in data.items()}


# --------------------------------------------------------------------------- the draft profile


def _slug(text: str, words_max: int = 5) -> str:
    parts = _WORD.findall(re.sub(r"`|\*\*", "", text).lower())
    return "_".join(parts[:words_max]) or "item"


def _command(item: SourceItem) -> dict | None:
    """A ``commands`` entry for a code line that reads as a shell command (leading VAR=value -> env)."""
    if item.kind != "code" or not _COMMAND.match(item.text):
        return None
    try:
        tokens = shlex.split(item.text)
    except ValueError:
        return None
    env = {}
    while tokens and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", tokens[0]):
        key, _, value = tokens.pop(0).partition("=")
        env[key] = value
    if not tokens:
        return None
    entry: dict = {"name": _slug(item.text, 6).replace("_", "-"), "run": shlex.join(tokens), "cwd": "."}
    if env:
        entry["env"] = env
    entry["title"] = item.text[:120]
    return entry


_ROUTE = re.compile(r"(?<![\w/])(?:(GET|HEAD|POST|PUT|PATCH|DELETE)\s+)?(/[A-Za-z0-9][\w\-./{}:]*)")
#: checks with one finding per route: a requirement naming a route is decided by that route only
_PER_ROUTE = ("ratelimit.", "auth.bearer", "auth.webhook_signature", "surface.route")


def route_selector(text: str, check_id: str) -> str | None:
    """``route:[METHOD ]/path`` when a per-route check's requirement names exactly one route."""
    if not check_id.startswith(_PER_ROUTE):
        return None
    routes = {(m.group(1) or "", m.group(2).rstrip(".:,;)")) for m in _ROUTE.finditer(text.replace("`", " "))}
    if len(routes) != 1:
        return None
    method, path = routes.pop()
    return f"route:{method + ' ' if method else ''}{path}"


@dataclass(frozen=True)
class DraftItem:
    source: SourceItem
    ident: str
    candidates: tuple[Candidate, ...]
    command: dict | None

    @property
    def automated(self) -> bool:
        return bool(self.candidates) and self.candidates[0].confidence >= AUTOMATE_AT


def draft_items(text: str, matcher: Matcher | None = None) -> list[DraftItem]:
    """Every requirement of ``text`` with its candidate checks (deterministic: same text, same draft)."""
    matcher = matcher or Matcher()
    out: list[DraftItem] = []
    used: set[str] = set()
    for item in source_items(text):
        section = re.sub(r"^[\W\d_]+", "", item.section.split(" / ")[-1]) if item.section else ""
        base = f"{_slug(section, 2)}.{_slug(item.text)}" if section else _slug(item.text)
        base = re.sub(r"^[^a-z0-9]+", "", base) or "item"
        ident, n = base, 2
        while ident in used:
            ident, n = f"{base}-{n}", n + 1
        used.add(ident)
        candidates = tuple(matcher.candidates(item.text, item.section))
        out.append(DraftItem(item, ident, candidates, _command(item)))
    return out


def _title(text: str, fallback: str) -> str:
    """The document's first heading (``# Title`` or a setext title underlined with ``===``)."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        m = re.match(r"^#\s+(.+?)\s*$", line.strip())
        if m:
            return m.group(1)
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if line.strip() and re.fullmatch(r"=+", following):
            return line.strip()
    return fallback


def _dump(value: object) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)


def write_draft(source: Path, system: str, output: Path, *, matcher: Matcher | None = None) -> list[DraftItem]:
    """Write the draft profile for ``source`` to ``output``; returns its items (for reports and tests)."""
    text = source.read_text(encoding="utf-8")
    items = draft_items(text, matcher)
    relative = os.path.relpath(source.resolve(), output.resolve().parent)
    lines = [
        f"# Draft checklist profile written by `harden import-checklist` from {source.name}",
        f"# on {dt.date.today().isoformat()}. Every requirement of the checklist is an item in its own wording.",
        "# Review each item: the candidates line lists the catalog checks that best match its text, with a",
        f"# confidence (0-1) and why; items at or above {AUTOMATE_AT} are mapped to the first one, command lines",
        "# to a `commands` entry, the rest to an attestation whose owner is TODO. Add `targets:` where a",
        "# check has several targets (see harden_lib/checklist.py), set the commands' cwd, and fill in owners.",
        _dump({"system": system, "title": _title(text, system), "source": relative}).rstrip(),
        "items:",
    ]
    attestations, commands = [], []
    for draft in items:
        if draft.candidates:
            lines.append("  # candidates: " + " | ".join(c.describe() for c in draft.candidates))
        entry: dict = {"id": draft.ident, "section": draft.source.section or "(none)", "text": draft.source.text}
        if draft.automated:
            best = draft.candidates[0]
            entry["checks"] = [best.check_id]
            route = route_selector(draft.source.text, best.check_id)
            if route:
                entry["targets"] = [route]
            entry["note"] = f"proposed by import-checklist (confidence {best.confidence:.2f}); review" + (
                f"; decided by the finding of {route[6:]} only (the route the requirement names)" if route else ""
            )
        elif draft.command is not None:
            names = {c["name"] for c in commands}
            name, n = draft.command["name"], 2
            while name in names:
                name, n = f"{draft.command['name']}-{n}", n + 1
            commands.append({**draft.command, "name": name})
            entry["command"] = name
            entry["note"] = "a command line of the checklist: set its cwd (and env) in the environment's params"
        else:
            attestations.append(
                {
                    "id": draft.ident,
                    "title": re.sub(r"\s+", " ", draft.source.text.replace("**", "").replace("`", ""))[:200],
                    "owner": "TODO",
                    "max_age_days": 90,
                }
            )
            entry["attestation"] = draft.ident
        block = _dump([entry]).rstrip().splitlines()
        lines.extend("  " + line for line in block)
    params: dict = {}
    if commands:
        params["commands"] = {"commands": commands}
    if attestations:
        params["attestations"] = attestations
    lines.append(_dump({"params": params}).rstrip())
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return items
