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


@pytest.mark.parametrize("value", ["2024-13-01", "yesterday", "2024-1-5", "2999-01-01", "1970-01-01"])
def test_a_bad_partitions_start_is_refused_naming_the_variable(value):
    from songnodes_assets.lib.partition_start import partitions_start

    with pytest.raises(ValueError, match="SONGNODES_PARTITIONS_START"):
        partitions_start({"SONGNODES_PARTITIONS_START": value})


def test_partitions_start_default_and_override():
    from songnodes_assets.lib.partition_start import DEFAULT_START, partitions_start

    assert partitions_start({}) == DEFAULT_START == "2024-01-01"
    assert partitions_start({"SONGNODES_PARTITIONS_START": " 2025-02-03 "}) == "2025-02-03"
