"""Hostile local numbers: NaN, infinite, negative or out-of-range settings are refused naming the variable."""

import pytest

from songnodes_assets.settings import Settings


@pytest.mark.parametrize("name, value", [
    ("SONGNODES_MIN_INTERVAL_S", "nan"), ("SONGNODES_MIN_INTERVAL_S", "inf"), ("SONGNODES_JITTER_S", "-1"),
    ("SONGNODES_RETRY_AFTER_CAP_S", "NaN"), ("SONGNODES_TIMEOUT_S", "1e400"), ("SONGNODES_API_BACKOFF_S", "-inf"),
    ("SONGNODES_MAX_BAD_LINE_SHARE", "1.5"), ("SONGNODES_MAX_BAD_PAGE_SHARE", "nan"),
    ("SONGNODES_ENRICH_MIN_SUCCESS_RATE", "2"), ("SONGNODES_MAX_LINES_PER_PAGE", "ten"),
    ("SONGNODES_DISCOVERY_LIMIT", "-3"),
])
def test_bad_numbers_are_refused_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        Settings.from_env()


def test_sane_numbers_are_accepted(monkeypatch):
    monkeypatch.setenv("SONGNODES_MIN_INTERVAL_S", "0.5")
    monkeypatch.setenv("SONGNODES_MAX_BAD_LINE_SHARE", "0")
    s = Settings.from_env()
    assert s.min_interval_s == 0.5 and s.max_bad_line_share == 0.0
