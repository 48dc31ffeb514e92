"""Prices per million tokens for a dry run's cost: from --price-input / --price-output or a JSON pricing file.

Prices are Decimals, so a cost is exact to the cent whatever the token counts; a price must be a finite,
non-negative number.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from claim_assess.errors import ConfigError


def parse_price(value: float | Decimal | str | None, name: str) -> Decimal | None:
    """``value`` as a Decimal (None stays None); ConfigError naming ``name`` when it is negative or infinite.
    Text that is no number at all raises decimal.InvalidOperation (an ArithmeticError)."""
    if value is None:
        return None
    price = Decimal(str(value))
    if not price.is_finite() or price < 0:
        raise ConfigError(f"{name} must be a non-negative number, got {value}")
    return price


def load_pricing(path: str | Path, model: str) -> tuple[Decimal, Decimal]:
    """(input, output) price per million tokens for ``model`` from a JSON file
    ``{"model": {"input_per_m": x, "output_per_m": y}, ...}``."""
    try:
        table = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--pricing {path}: cannot read it: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--pricing {path}: not valid JSON: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(table, Mapping):
        raise ConfigError(f"--pricing {path}: expected a JSON object of models")
    entry = table.get(model)
    if not isinstance(entry, Mapping):
        known = ", ".join(sorted(map(str, table))) or "none"
        raise ConfigError(f"--pricing {path}: no prices for model {model!r} (models listed: {known})")
    prices = []
    for key in ("input_per_m", "output_per_m"):
        value = entry.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"--pricing {path}: {model}.{key} must be a number")
        try:
            price = parse_price(value, f"{model}.{key}")
        except ArithmeticError as exc:  # decimal.InvalidOperation for text that is not a number
            raise ConfigError(f"--pricing {path}: {model}.{key} must be a number, got {value!r}") from exc
        prices.append(price)
    return prices[0], prices[1]  # type: ignore[return-value]


def resolve_prices(model: str, *, price_input: float | None, price_output: float | None,
                   pricing_file: str | Path | None) -> tuple[Decimal | None, Decimal | None]:
    """Flags win over the file; a file without the flags supplies both prices."""
    from_file: tuple[Decimal | None, Decimal | None] = (None, None)
    if pricing_file is not None:
        from_file = load_pricing(pricing_file, model)
    return (parse_price(price_input, "--price-input") if price_input is not None else from_file[0],
            parse_price(price_output, "--price-output") if price_output is not None else from_file[1])
