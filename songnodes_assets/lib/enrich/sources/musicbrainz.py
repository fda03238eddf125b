"""MusicBrainz WS/2 recording search (1 req/s per IP, descriptive User-Agent, no key).

The artist phrase is the whole credit first (space-joined, as before: same tokens as "A & B", same cache
keys), then each credited artist, so a recording credited to only one of them is found too."""

from ...matching import Candidate, TrackQuery
from ..api_client import ApiClient, BadResponse
from .base import LookupResult, Source, artist_fields, first


def lucene_phrase(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class MusicBrainz(Source):
    name = "musicbrainz"
    default_base_url = "https://musicbrainz.org"
    default_interval_s = 1.0

    def lookup(self, client: ApiClient, track: TrackQuery, context: dict) -> LookupResult:
        return self.by_artist(client, track, lambda artist: self._search(client, track, artist), joiner=" ")

    def _search(self, client: ApiClient, track: TrackQuery, artist: str) -> LookupResult:
        query = f"recording:{lucene_phrase(track.search_title)} AND artist:{lucene_phrase(artist)}"
        res = client.get_json("/ws/2/recording", {"query": query, "fmt": "json", "limit": "10"},
                              ttl_for=lambda s, d: self.ttl_for(bool(isinstance(d, dict) and d.get("recordings"))))
        data = res.data
        if res.status == 404 or data is None:
            return LookupResult("not_found", reason="HTTP 404")
        if not isinstance(data, dict) or not isinstance(data.get("recordings", []), list):
            raise BadResponse(f"musicbrainz: unexpected search shape: {str(data)[:120]}")
        cands = []
        for rec in data.get("recordings") or []:
            if not isinstance(rec, dict) or not rec.get("id"):
                continue
            credit = rec.get("artist-credit") or []
            artists = [c.get("name") or (c.get("artist") or {}).get("name", "") for c in credit if isinstance(c, dict)]
            release = first(rec.get("releases")) or {}
            cands.append(Candidate(
                source_id=rec["id"], artists=[a for a in artists if a], title=rec.get("title") or "",
                duration_ms=rec.get("length") if isinstance(rec.get("length"), int) else None,
                isrc=first(rec.get("isrcs")),
                fields={"release_date": rec.get("first-release-date") or release.get("date"),
                        "tags": [t.get("name") for t in rec.get("tags") or [] if isinstance(t, dict) and t.get("name")],
                        "genres": [g.get("name") for g in rec.get("genres") or [] if isinstance(g, dict) and g.get("name")],
                        **artist_fields(credit, _credit_artist_name, lambda c: _credit_artist(c).get("id"))},
            ))
        return self.decide(track, cands)


def _credit_artist(credit: dict) -> dict:
    artist = credit.get("artist")
    return artist if isinstance(artist, dict) else {}


def _credit_artist_name(credit: dict):
    """The artist's own name (``artist-credit[].artist.name``), else the name as credited on the recording."""
    return _credit_artist(credit).get("name") or credit.get("name")
