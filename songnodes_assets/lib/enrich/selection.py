"""Which tracks an enrichment partition covers: the identified tracks first seen that scrape date."""

from __future__ import annotations

import pandas as pd

from ..lakehouse import Lakehouse
from ..schemas import SILVER_TRACKS


def tracks_first_seen(lake: Lakehouse, partition: str) -> pd.DataFrame:
    """silver.tracks rows of ``partition`` whose track id appears in no earlier partition (deduplicated)."""
    tracks = lake.read(SILVER_TRACKS, partition)
    if tracks.empty:
        return tracks
    earlier = [p for p in lake.partitions(SILVER_TRACKS) if p < partition]
    if earlier:
        seen = pd.concat([lake.read(SILVER_TRACKS, p, columns=["track_id"]) for p in earlier])["track_id"]
        tracks = tracks[~tracks["track_id"].isin(set(seen))]
    return tracks.drop_duplicates("track_id").sort_values("track_id").reset_index(drop=True)
