"""The second source: real 1001tracklists pages parsed into the same silver tables (cross-source ids)."""

import json
import re

import dagster as dg
import pytest

from songnodes_assets.defs.bronze.raw_scrape_data import raw_scrape_data
from songnodes_assets.defs.resources import resources_from_settings
from songnodes_assets.defs.silver.tables import silver_tables
from songnodes_assets.lib.http.page_checks import block_reason
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.parsing.tracklist import parse_tracklist
from songnodes_assets.lib.parsing.tracklists1001 import parse_1001tracklists
from songnodes_assets.lib.schemas import BRONZE_RAW, SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS, SILVER_TRACKS
from songnodes_assets.sample_site.server import SampleSite
from songnodes_assets.settings import Settings

SPLIT = re.compile(r"\s+(?:&|x|vs\.)\s+")
PAGES = ["bicep_warehouse_project_rotterdam_2023-04-28", "curbi_tape_06_2021-03-12"]


@pytest.mark.parametrize("name", PAGES)
def test_page_parses_to_its_expected_parse(corpus, name):
    html = (corpus / "1001tracklists" / f"{name}.html").read_text(encoding="utf-8")
    expected = json.loads((corpus / "1001tracklists" / f"{name}.expected_parse.json").read_text(encoding="utf-8"))
    page = parse_1001tracklists(html, name)
    entries = parse_tracklist(page.tracklist_lines)
    rows = expected["tracks"]
    groups = []  # each numbered row with the component rows that follow it
    for r in rows:
        if r["tracknumber"]:
            groups.append((r, []))
        else:
            groups[-1][1].append(r)
    top = [e for e in entries if e.component_of is None]
    assert len(top) == len(groups)
    assert [e.position for e in top] == [int(r["tracknumber"]) for r, _ in groups]
    comps = iter(e for e in entries if e.entry_type == "component")
    for e, (r, sub) in zip(top, groups):
        if int(r["cue_seconds"] or 0):
            assert e.cue_seconds == int(r["cue_seconds"])
        if r["name"] is None:
            assert e.entry_type == "placeholder" and e.track_id is None
            continue
        if sub:  # a mashup: the container is rebuilt from its component rows
            assert e.is_mashup
            for s in sub:
                c = next(comps)
                assert set(c.artists) == set(SPLIT.split(s["byArtist"])), s["name"]
                assert c.title_full == s["name"].split(" - ", 1)[1]
            continue
        assert set(e.artists) == set(SPLIT.split(r["byArtist"])), r["name"]
        assert e.title_full == r["name"].split(" - ", 1)[1]
        assert e.is_identified == (e.title != "ID")


def test_page_metadata(corpus):
    page = parse_1001tracklists((corpus / "1001tracklists" / f"{PAGES[1]}.html").read_text(encoding="utf-8"), "x")
    assert page.title == "2021-03-12 - Curbi @ Tape 06" and page.categories == ["Curbi"]


def test_captcha_pages_are_blocked_not_empty_tracklists(corpus):
    for path in sorted((corpus / "1001tracklists").glob("captcha_*.html")):
        body = path.read_bytes()
        assert block_reason(body, "text/html", expect_html=True)
        assert not parse_1001tracklists(body.decode("utf-8"), path.name).has_tracklist_section


def test_same_track_on_mixesdb_and_1001tracklists_gets_one_id(corpus, tmp_path, monkeypatch):
    """Sample MixesDB page 04 and the real Bicep 1001tracklists page both play Bicep - Apricots / Glue."""
    bicep = (corpus / "1001tracklists" / f"{PAGES[0]}.html").read_text(encoding="utf-8")
    with SampleSite() as site, dg.DagsterInstance.ephemeral() as instance:
        site.extra["/tracklist/1gz59x6t/bicep.html"] = ("text/html; charset=utf-8", bicep)
        site.extra["/tracklist/captcha/nts.html"] = (
            "text/html", (corpus / "1001tracklists" / "captcha_bicep_nts_radio_2022-06-16.html").read_text("utf-8"))
        for k, v in {"SONGNODES_MIXESDB_BASE_URL": site.base_url, "SONGNODES_LAKEHOUSE_ROOT": str(tmp_path / "lake"),
                     "SONGNODES_MIXESDB_START_URLS": f"{site.base_url}/w/Special:RecentChanges",
                     "SONGNODES_1001TL_URLS": f"{site.base_url}/tracklist/1gz59x6t/bicep.html",
                     "SONGNODES_MIN_INTERVAL_S": "0", "SONGNODES_JITTER_S": "0"}.items():
            monkeypatch.setenv(k, v)
        res = dg.materialize([raw_scrape_data, silver_tables], instance=instance, partition_key="2024-05-01",
                             resources=resources_from_settings(Settings.from_env()), raise_on_error=False)
        assert res.success
        lake = Lakehouse(tmp_path / "lake")
        pl = lake.read(SILVER_PLAYLISTS, "2024-05-01")
        assert set(pl["source"]) == {"mixesdb", "1001tracklists"}
        tl = pl[pl["source"] == "1001tracklists"].iloc[0]
        assert list(tl["djs"]) == ["Bicep"] and tl["mix_date"] == "2023-04-28" and tl["n_entries"] == 22
        pt = lake.read(SILVER_PLAYLIST_TRACKS, "2024-05-01")
        apricots = pt[pt["title"] == "Apricots"]
        assert set(apricots["source"]) == {"mixesdb", "1001tracklists"} and apricots["track_id"].nunique() == 1
        tracks = lake.read(SILVER_TRACKS, "2024-05-01")
        assert tracks.loc[tracks["title"] == "Apricots", "n_occurrences"].iloc[0] == apricots["playlist_id"].nunique() == 3

        # a captcha served for a 1001tracklists page: an error row, and the run fails loudly
        monkeypatch.setenv("SONGNODES_1001TL_URLS", f"{site.base_url}/tracklist/captcha/nts.html")
        res = dg.materialize([raw_scrape_data], instance=instance, partition_key="2024-05-02",
                             resources=resources_from_settings(Settings.from_env()), raise_on_error=False)
        assert not res.success
        bronze = lake.read(BRONZE_RAW, "2024-05-02")
        assert list(bronze.loc[bronze["source"] == "1001tracklists", "error_kind"]) == ["anti_bot"]
