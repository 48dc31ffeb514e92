"""Prices for the dry run's cost: a JSON pricing file, and flags that win over it."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from claim_assess.errors import ConfigError
from claim_assess.plan.pricing import load_pricing, resolve_prices


def test_pricing_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"gpt-x": {"input_per_m": 0.15, "output_per_m": "0.60"}, "other": {}}))
    assert load_pricing(path, "gpt-x") == (Decimal("0.15"), Decimal("0.60"))
    with pytest.raises(ConfigError, match="no prices for model 'nope'"):
        load_pricing(path, "nope")
    with pytest.raises(ConfigError, match="input_per_m must be a number"):
        load_pricing(path, "other")
    assert resolve_prices("gpt-x", price_input=1.0, price_output=None, pricing_file=path) == (Decimal("1.0"),
                                                                                               Decimal("0.60"))
    assert resolve_prices("gpt-x", price_input=None, price_output=None, pricing_file=None) == (None, None)
    path.write_text("{oops")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_pricing(path, "gpt-x")
    with pytest.raises(ConfigError, match="cannot read"):
        load_pricing(tmp_path / "missing.json", "gpt-x")
    path.write_text(json.dumps({"gpt-x": {"input_per_m": "cheap", "output_per_m": 1}}))
    with pytest.raises(ConfigError, match="must be a number"):
        load_pricing(path, "gpt-x")
