"""AcousticBrainz low-level data by MusicBrainz recording id (frozen since 2022, read-only API;
10 queries / 10 s per IP). Needs the MusicBrainz source's matches of the same partition."""

from ...camelot import parse_key
from ...matching import TrackQuery
from ..api_client import ApiClient, BadResponse
from .base import LookupResult, Source


class AcousticBrainz(Source):
    name = "acousticbrainz"
    default_base_url = "https://acousticbrainz.org"
    default_interval_s = 1.0
    needs_mbid = True

    def lookup(self, client: ApiClient, track: TrackQuery, context: dict) -> LookupResult:
        mbid = (context.get("mbids") or {}).get(track.track_id)
        if not mbid:
            return LookupResult("skipped", reason="no MusicBrainz recording id for this track")
        # The bulk endpoint (one id here) answers {mbid: {"0": {...}}} and simply omits unknown ids.
        res = client.get_json("/api/v1/low-level", {"recording_ids": mbid,
                                                    "features": "rhythm.bpm;tonal.key_key;tonal.key_scale"},
                              ttl_for=lambda s, d: self.ttl_for(isinstance(d, dict) and mbid in d))
        if res.status == 404 or (isinstance(res.data, dict) and mbid not in res.data):
            return LookupResult("not_found", reason="AcousticBrainz has no submission for this recording")
        doc = res.data.get(mbid) if isinstance(res.data, dict) else None
        if isinstance(doc, dict) and "0" in doc and isinstance(doc["0"], dict):
            doc = doc["0"]
        if not isinstance(doc, dict) or not isinstance(doc.get("rhythm"), dict):
            raise BadResponse(f"acousticbrainz: unexpected low-level shape: {str(res.data)[:120]}")
        tonal = doc.get("tonal") if isinstance(doc.get("tonal"), dict) else {}
        # key without its scale (major/minor) is only half a key: keep neither
        pc, mode = parse_key(tonal.get("key_key"), tonal.get("key_scale")) if tonal.get("key_scale") else (None, None)
        bpm = doc["rhythm"].get("bpm")
        return LookupResult("matched", None, {
            "source_id": mbid, "bpm": round(float(bpm), 2) if isinstance(bpm, (int, float)) and bpm > 0 else None,
            "key_pitch_class": pc, "mode": mode})
