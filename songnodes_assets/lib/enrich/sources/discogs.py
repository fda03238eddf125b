"""Discogs database search (token; 60 req/min authenticated). Labels, catalog numbers, genres and styles.

The ``artist`` filter takes one name: the joined credit is asked first, then each credited artist.
Artist ids (``artist_names``/``artist_ids``) come from a result's ``artists[]{id,name}`` when it has one (the
release shape); the search results Discogs really returns carry only "Artist - Title", so they stay empty."""

from ...matching import Candidate, TrackQuery
from ...parsing.text import fold
from ..api_client import ApiClient, BadResponse
from .base import LookupResult, Source, artist_fields


class Discogs(Source):
    name = "discogs"
    default_base_url = "https://api.discogs.com"
    default_interval_s = 1.0
    credential_env = ("SONGNODES_DISCOGS_TOKEN",)

    def lookup(self, client: ApiClient, track: TrackQuery, context: dict) -> LookupResult:
        return self.by_artist(client, track, lambda artist: self._search(client, track, artist))

    def _search(self, client: ApiClient, track: TrackQuery, artist: str) -> LookupResult:
        token = self.config.credentials["SONGNODES_DISCOGS_TOKEN"]
        res = client.get_json("/database/search", {"type": "release", "artist": artist,
                                                   "track": track.search_title, "per_page": "10"},
                              headers={"Authorization": f"Discogs token={token}"},
                              ttl_for=lambda s, d: self.ttl_for(bool(isinstance(d, dict) and d.get("results"))))
        data = res.data
        if not isinstance(data, dict) or not isinstance(data.get("results", []), list):
            raise BadResponse(f"discogs: unexpected search shape: {str(data)[:120]}")
        cands = []
        for r in data.get("results") or []:
            if not isinstance(r, dict) or r.get("type", "release") != "release" or " - " not in str(r.get("title", "")):
                continue
            artist, release_title = str(r["title"]).split(" - ", 1)
            # The search was filtered by track; when the release is named after the track, compare titles,
            # otherwise (an EP or album holding the track) the release title says nothing about the track.
            title = track.search_title if fold(track.title) in fold(release_title) and not _other_remix(release_title, track) \
                else release_title
            labels = r.get("label") if isinstance(r.get("label"), list) else [r.get("label")] if r.get("label") else []
            cands.append(Candidate(
                source_id=str(r.get("id", "")), artists=[artist], title=title,
                fields={"label": labels[0] if labels else None,
                        "catalog_number": r.get("catno") if r.get("catno") not in (None, "none", "") else None,
                        "genres": list(r.get("genre") or []) + list(r.get("style") or []),
                        "release_date": str(r["year"]) if r.get("year") else None,
                        # a release object has artists[]{id,name}; a search result has none: both lists empty
                        **artist_fields(r.get("artists"), lambda a: a.get("name"), lambda a: a.get("id"))}))
        return self.decide(track, cands)


def _other_remix(release_title: str, track: TrackQuery) -> bool:
    low = release_title.lower()
    return ("remix" in low or "rmx" in low) and not track.remixers
