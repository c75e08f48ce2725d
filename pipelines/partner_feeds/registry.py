"""The partner registry: per-partner feed adapters declared as data (partners.yaml)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

REGISTRY_PATH = Path(__file__).with_name("partners.yaml")
FIELDS = ("sku", "name", "price", "stock", "description", "currency", "updated_at")
REQUIRED_COLUMNS = ("sku", "name", "price", "stock")
_ISO_CURRENCY = re.compile(r"^[A-Z]{3}$")


class RegistryError(ValueError):
    """The partner registry itself is invalid (a configuration error, not a feed error)."""


@dataclass(frozen=True)
class PartnerAdapter:
    """How one partner writes its feeds; every difference is a value here, never a code branch."""

    partner: str
    encoding: str = "utf-8"
    delimiter: str = ","
    quotechar: str = '"'
    decimal_separator: str = "."
    thousands_separator: str = ""
    currency: str | None = None
    currency_symbols: Mapping[str, str] = field(default_factory=dict)
    datetime_formats: tuple[str, ...] = ()
    json_records: str | None = None
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def column_for(self, source_name: str) -> str | None:
        """The canonical field a source column name stands for, or None if it is not ours."""
        return self._alias_index.get(_normalise_name(source_name))

    @cached_property
    def _alias_index(self) -> dict[str, str]:
        index: dict[str, str] = {}
        for canonical, aliases in self.columns.items():
            for alias in (canonical, *aliases):
                index[_normalise_name(alias)] = canonical
        return index


def _normalise_name(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).casefold()


class PartnerRegistry:
    """Adapters by partner; an unknown partner gets the defaults."""

    def __init__(
        self, defaults: Mapping[str, Any], partners: Mapping[str, Mapping[str, Any]]
    ) -> None:
        self._defaults = dict(defaults)
        self._partners = {name: dict(spec or {}) for name, spec in partners.items()}
        self._adapters: dict[str, PartnerAdapter] = {}
        for name in self._partners:  # validate every entry up front, not on first feed
            self.adapter(name)

    @classmethod
    def load(cls, path: str | Path | None = None) -> PartnerRegistry:
        source = Path(path) if path else REGISTRY_PATH
        try:
            data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise RegistryError(f"cannot read partner registry {source}: {exc}") from exc
        return cls(data.get("defaults") or {}, data.get("partners") or {})

    def known(self, partner: str) -> bool:
        return partner in self._partners

    def adapter(self, partner: str) -> PartnerAdapter:
        if partner not in self._adapters:
            self._adapters[partner] = self._build(partner, self._partners.get(partner, {}))
        return self._adapters[partner]

    def _build(self, partner: str, spec: Mapping[str, Any]) -> PartnerAdapter:
        merged = {**self._defaults, **{k: v for k, v in spec.items() if k != "columns"}}
        columns: dict[str, list[str]] = {}
        for source in (self._defaults.get("columns") or {}, spec.get("columns") or {}):
            for canonical, aliases in source.items():
                if canonical not in FIELDS:
                    raise RegistryError(
                        f"partner {partner}: unknown column {canonical!r} (known: {FIELDS})"
                    )
                columns.setdefault(canonical, []).extend(str(a) for a in aliases or [])
        unknown = set(merged) - {f.name for f in PartnerAdapter.__dataclass_fields__.values()}
        if unknown:
            raise RegistryError(f"partner {partner}: unknown adapter keys {sorted(unknown)}")
        currency = merged.get("currency")
        if currency is not None and not _ISO_CURRENCY.match(str(currency)):
            raise RegistryError(
                f"partner {partner}: currency {currency!r} is not a 3-letter ISO code"
            )
        if merged.get("decimal_separator", ".") == merged.get("thousands_separator", ""):
            raise RegistryError(f"partner {partner}: decimal and thousands separators are the same")
        try:
            "".encode(str(merged.get("encoding", "utf-8")))
        except LookupError as exc:
            raise RegistryError(f"partner {partner}: {exc}") from exc
        adapter = PartnerAdapter(
            partner=partner,
            encoding=str(merged.get("encoding", "utf-8")),
            delimiter=str(merged.get("delimiter", ",")),
            quotechar=str(merged.get("quotechar", '"')),
            decimal_separator=str(merged.get("decimal_separator", ".")),
            thousands_separator=str(merged.get("thousands_separator") or ""),
            currency=currency,
            currency_symbols={
                str(k): str(v) for k, v in (merged.get("currency_symbols") or {}).items()
            },
            datetime_formats=tuple(merged.get("datetime_formats") or ()),
            json_records=merged.get("json_records"),
            columns={k: tuple(v) for k, v in columns.items()},
        )
        clashes = _alias_clashes(adapter)
        if clashes:
            raise RegistryError(f"partner {partner}: aliases used for two columns: {clashes}")
        return adapter


def _alias_clashes(adapter: PartnerAdapter) -> list[str]:
    seen: dict[str, str] = {}
    clashes = []
    for canonical, aliases in adapter.columns.items():
        for alias in (canonical, *aliases):
            key = _normalise_name(alias)
            if seen.setdefault(key, canonical) != canonical:
                clashes.append(alias)
    return clashes
