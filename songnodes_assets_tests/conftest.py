import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("SONGNODES_CORPUS", REPO.parent / "shared" / "corpus"))


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared real-data corpus (../shared/corpus); tests that need it skip when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"real-data corpus not found at {CORPUS} (CI provides ../shared/corpus)")
    return CORPUS


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test reads the developer's SONGNODES_* settings or Dagster home."""
    for key in list(os.environ):
        if key.startswith("SONGNODES_") and key not in ("SONGNODES_CORPUS", "SONGNODES_HYPOTHESIS_EXAMPLES"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.setenv("SONGNODES_CACHE_DIR", str(tmp_path / "api_cache"))
    # Nothing may reach the internet by accident: every remote defaults to a closed local port.
    for name in ("MIXESDB", "MUSICBRAINZ", "SPOTIFY", "LASTFM", "DISCOGS", "GETSONGBPM", "ACOUSTICBRAINZ"):
        monkeypatch.setenv(f"SONGNODES_{name}_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SONGNODES_SPOTIFY_AUTH_URL", "http://127.0.0.1:9/api/token")


@pytest.fixture(scope="session")
def httpserver_listen_address():
    """Local test servers listen on 127.0.0.1 only (real sockets, never another address)."""
    return ("127.0.0.1", 0)
