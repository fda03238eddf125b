"""Names first: the analyst views join display names and distinct DJs onto the id-only tables."""

from songnodes_assets.lib.catalog import connect
from songnodes_assets.lib.lakehouse import Lakehouse
from songnodes_assets.lib.schemas import (SILVER_PLAYLIST_TRACKS, SILVER_PLAYLISTS, SILVER_PROBLEMS, SILVER_TRACKS,
                                          SILVER_TRANSITIONS)
from songnodes_assets.lib.silver_build import build_silver

from .helpers import bronze_frame, wiki_page


def test_transitions_named_have_names_weights_and_distinct_djs(tmp_path):
    pages = {"2024-01-01 - DJ One - Show": wiki_page(["# A & B - First (C Remix)", "# D - Second"]),
             "2024-01-02 - DJ Two & DJ Three - Other": wiki_page(["# B & A - First (C Remix)", "# D - Second"])}
    t = build_silver(bronze_frame(pages), "2024-05-01")
    lake = Lakehouse(tmp_path)
    for spec, df in ((SILVER_PLAYLISTS, t.playlists), (SILVER_PLAYLIST_TRACKS, t.playlist_tracks),
                     (SILVER_TRACKS, t.tracks), (SILVER_TRANSITIONS, t.transitions), (SILVER_PROBLEMS, t.problems)):
        lake.write(spec, df, "2024-05-01")
    rows = connect(tmp_path).execute("SELECT from_track, to_track, weight, djs FROM silver.transitions_named").fetchall()
    assert rows == [("A & B - First (C Remix)", "D - Second", 2, 3)]
