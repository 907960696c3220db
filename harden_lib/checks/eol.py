"""End-of-life of the runtimes and distributions named in container image references.

``node:20-alpine`` names two things with an end of life: Node.js 20 (2026-04-30) and, through
``alpine``, an Alpine release. A checklist written in 2024 that asks for ``node:20-alpine`` was good
advice then and is outdated now; the audit must flag that, not enforce it. The dates come from a
bundled, dated table (``harden_lib/data/eol.yaml``: its ``as_of`` date and sources travel with every
finding) that a team can refresh with its own file of the same shape (merged over the bundled
one, cycle by cycle), so no release of harden is needed when a date moves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from harden_lib.errors import HardenError

BUNDLED = Path(__file__).resolve().parent.parent / "data" / "eol.yaml"


@dataclass(frozen=True)
class Cycle:
    product: str
    title: str
    cycle: str
    eol: date
    lts: bool = True
    note: str = ""


@dataclass(frozen=True)
class EolTable:
    as_of: date
    sources: tuple[str, ...]
    products: dict[str, dict[str, Any]]

    def cycles(self, product: str) -> dict[str, Cycle]:
        spec = self.products[product]
        return {
            name: Cycle(
                product, spec.get("title", product), name, value["eol"], value.get("lts", True), value.get("note", "")
            )
            for name, value in spec["cycles"].items()
        }

    def product_for_image(self, name: str) -> str | None:
        for product, spec in self.products.items():
            if name in spec.get("images", []):
                return product
        return None

    def recommend(self, product: str, today: date, margin_days: int) -> str | None:
        """The oldest cycle still supported beyond the margin (a recommended one: not an odd Node.js)."""
        ok = [c for c in self.cycles(product).values() if c.lts and c.eol > today + timedelta(days=margin_days)]
        return min(ok, key=lambda c: _key(c.cycle)).cycle if ok else None


def _key(cycle: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", cycle))


def _as_date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise HardenError(f"{where}: not a date (YYYY-MM-DD)") from None


def _validate(raw: Any, source: str) -> EolTable:
    if not isinstance(raw, dict) or not isinstance(raw.get("products"), dict):
        raise HardenError(f"{source}: an EOL table needs a 'products' mapping")
    products: dict[str, dict[str, Any]] = {}
    for name, spec in raw["products"].items():
        if not isinstance(spec, dict) or not isinstance(spec.get("cycles"), dict):
            raise HardenError(f"{source}: products.{name} needs a 'cycles' mapping")
        cycles = {}
        for cycle, value in spec["cycles"].items():
            value = value if isinstance(value, dict) else {"eol": value}
            cycles[str(cycle)] = {**value, "eol": _as_date(value.get("eol"), f"{source}: products.{name}.{cycle}")}
        products[str(name)] = {**spec, "cycles": cycles}
    as_of = _as_date(raw.get("as_of"), f"{source}: as_of") if raw.get("as_of") else date.min
    return EolTable(as_of, tuple(str(s) for s in raw.get("sources") or ()), products)


@lru_cache(maxsize=8)
def _read(path: Path, mtime: float) -> EolTable:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HardenError(f"{path.name}: EOL table does not exist") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        raise HardenError(f"{path.name}: EOL table cannot be read as YAML") from None
    return _validate(raw, path.name)


def load_table(extra: Path | None = None) -> EolTable:
    """The bundled table, with ``extra`` (a file of the same shape) merged over it cycle by cycle."""
    base = _read(BUNDLED, BUNDLED.stat().st_mtime)
    if extra is None:
        return base
    extra = Path(extra)
    try:
        mtime = extra.stat().st_mtime
    except OSError:
        raise HardenError(f"{extra.name}: EOL table does not exist") from None
    update = _read(extra, mtime)
    products = {name: {**spec, "cycles": dict(spec["cycles"])} for name, spec in base.products.items()}
    for name, spec in update.products.items():
        if name in products:
            merged = {**products[name], **{k: v for k, v in spec.items() if k != "cycles"}}
            merged["cycles"] = {**products[name]["cycles"], **spec["cycles"]}
            products[name] = merged
        else:
            products[name] = spec
    as_of = max(base.as_of, update.as_of)
    return EolTable(as_of, tuple(dict.fromkeys([*update.sources, *base.sources])), products)


# --------------------------------------------------------------------------- image references

_DISTRO_IN_TAG = re.compile(
    r"(?:^|[-_.])(alpine)(\d+\.\d+)?(?=$|[-_.])|(?:^|[-_.])(stretch|buster|bullseye|bookworm|trixie)(?=$|[-_.])"
)


@dataclass(frozen=True)
class Component:
    """One product/cycle an image reference names (``node:20-alpine3.19`` names two)."""

    product: str
    cycle: str
    text: str  # how the image names it, e.g. "node:20" or "alpine3.19"


def image_name_tag(image: str) -> tuple[str, str]:
    """``(last path component of the repository, tag)``; digests dropped; no tag is ''."""
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    name, _, tag = last.partition(":")
    return name.lower(), tag


def _cycle_of(product: str, version: str, table: EolTable) -> str | None:
    """The table cycle a version string falls in (``20.11.1`` → ``20``; ``3.11.4`` → ``3.11``; ``7`` → newest 7.x)."""
    cycles = table.products[product]["cycles"]
    numbers = re.findall(r"\d+", version)
    if not numbers:
        return None
    for width in (2, 1):
        candidate = ".".join(numbers[:width])
        if len(numbers) >= width and candidate in cycles:
            return candidate
    same_major = [c for c in cycles if c.split(".")[0] == numbers[0]]
    if len(numbers) == 1 and same_major:  # "redis:7" is the newest 7.x
        return max(same_major, key=_key)
    return None


def components(image: str, table: EolTable) -> list[Component]:
    """Every product/cycle of the table that an image reference names (unknown parts are left out)."""
    if "$" in image:
        return []
    name, tag = image_name_tag(image)
    out: list[Component] = []
    product = table.product_for_image(name)
    if product is not None and tag:
        spec = table.products[product]
        first = re.split(r"[-_]", tag, maxsplit=1)[0]
        named = spec.get("names", {}).get(first.lower())
        cycle = named if named is not None else (_cycle_of(product, first, table) if re.match(r"\d", first) else None)
        if cycle is not None:
            out.append(Component(product, cycle, f"{name}:{first}"))
    for match in _DISTRO_IN_TAG.finditer(tag if product not in ("alpine", "debian") else ""):
        if match.group(1) and match.group(2) and "alpine" in table.products:
            cycle = _cycle_of("alpine", match.group(2), table)
            if cycle:
                out.append(Component("alpine", cycle, f"alpine{match.group(2)}"))
        elif match.group(3) and "debian" in table.products:
            cycle = table.products["debian"].get("names", {}).get(match.group(3))
            if cycle:
                out.append(Component("debian", cycle, match.group(3)))
    return out


@dataclass(frozen=True)
class Judgement:
    status: str  # "past" | "soon" | "ok"
    text: str


def judge(component: Component, table: EolTable, today: date, warn_days: int) -> Judgement:
    cycle = table.cycles(component.product)[component.cycle]
    note = f" ({cycle.note})" if cycle.note else ""
    newer = table.recommend(component.product, today, warn_days)
    use = ""
    if newer is not None and _key(newer) > _key(component.cycle):
        images = table.products[component.product].get("images", [component.product])
        use = f", use {images[0]}:{newer}+"
    if cycle.eol < today:
        return Judgement("past", f"{component.text}: {cycle.title} {cycle.cycle} past end of life since {cycle.eol}"
                                 f"{note}{use}")  # fmt: skip
    if cycle.eol <= today + timedelta(days=warn_days):
        days = (cycle.eol - today).days
        return Judgement("soon", f"{component.text}: {cycle.title} {cycle.cycle} reaches end of life on {cycle.eol} "
                                 f"(in {days} days){note}{use}")  # fmt: skip
    return Judgement("ok", f"{component.text}: {cycle.title} {cycle.cycle} supported until {cycle.eol}{note}")
