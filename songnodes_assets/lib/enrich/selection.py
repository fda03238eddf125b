"""Which tracks an enrichment partition covers: the identified tracks first seen that scrape date."""

from __future__ import annotations

import logging
import sqlite3

import pandas as pd

from ..lakehouse import Lakehouse
from ..schemas import SILVER_TRACKS
from ..track_index import TrackIndex, usable

LOG = logging.getLogger(__name__)


def tracks_first_seen(lake: Lakehouse, partition: str, log=None) -> pd.DataFrame:
    """silver.tracks rows of ``partition`` whose track id appears in no earlier partition (deduplicated).

    Earlier sightings come from the track index (lib/track_index: synced against the silver files first, so
    it is never stale), so the cost is the day's tracks; without a usable index, every earlier partition is
    read (same answer, slower) and a warning says why."""
    tracks = lake.read(SILVER_TRACKS, partition)
    if tracks.empty:
        return tracks
    seen = None
    if usable(lake):
        try:
            index = TrackIndex(lake, log=log)
            index.sync()
            seen = index.seen_before(tracks["track_id"], partition)
        except (sqlite3.Error, OSError) as exc:
            (log or LOG.warning)(f"track index unusable ({exc}); reading every earlier silver partition instead")
    if seen is None:
        earlier = [p for p in lake.partitions(SILVER_TRACKS) if p < partition]
        seen = set(pd.concat([lake.read(SILVER_TRACKS, p, columns=["track_id"]) for p in earlier])["track_id"]) \
            if earlier else set()
    tracks = tracks[~tracks["track_id"].isin(seen)]
    return tracks.drop_duplicates("track_id").sort_values("track_id").reset_index(drop=True)
