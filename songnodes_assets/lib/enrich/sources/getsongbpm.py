"""GetSongBPM search (api_key; 3000 req/hour, key blocked for an hour when exceeded). BPM and key.

The search takes one artist: the joined credit is asked first, then each credited artist, until a match.
Shapes: ``tempo`` arrives as a string; ``key_of`` uses the Unicode sharp; "no result" is an object
(``{"search": {"error": "no result"}}``), not an array; malformed rows (``"key_of": "m"``) exist.
"""

from ...camelot import parse_key
from ...matching import Candidate, TrackQuery
from ..api_client import ApiClient, BadResponse
from .base import LookupResult, Source


class GetSongBPM(Source):
    name = "getsongbpm"
    default_base_url = "https://api.getsong.co"
    default_interval_s = 1.2
    credential_env = ("SONGNODES_GETSONGBPM_API_KEY",)

    def lookup(self, client: ApiClient, track: TrackQuery, context: dict) -> LookupResult:
        return self.by_artist(client, track, lambda artist: self._search(client, track, artist))

    def _search(self, client: ApiClient, track: TrackQuery, artist: str) -> LookupResult:
        params = {"type": "both", "lookup": f"song:{track.title} artist:{artist}",
                  "api_key": self.config.credentials["SONGNODES_GETSONGBPM_API_KEY"]}
        res = client.get_json("/search/", params,
                              ttl_for=lambda s, d: self.ttl_for(isinstance((d or {}).get("search"), list)
                                                                and bool(d["search"])))
        data = res.data
        search = data.get("search") if isinstance(data, dict) else None
        if isinstance(search, dict):
            if "error" in search:
                return LookupResult("not_found", reason=f"getsongbpm: {search.get('error')}")
            raise BadResponse(f"getsongbpm: unexpected search object: {str(search)[:120]}")
        if not isinstance(search, list):
            raise BadResponse(f"getsongbpm: unexpected answer: {str(data)[:120]}")
        cands = []
        for s in search:
            if not isinstance(s, dict):
                continue
            artist = s.get("artist") if isinstance(s.get("artist"), dict) else {}
            try:
                bpm = float(s["tempo"]) if s.get("tempo") not in (None, "") else None
            except (TypeError, ValueError):
                bpm = None
            pc, mode = parse_key(s.get("key_of"))
            if pc is None:
                pc, mode = parse_key(s.get("open_key"))
            cands.append(Candidate(
                source_id=str(s.get("id", "")), artists=[artist.get("name", "")], title=s.get("title") or "",
                fields={"bpm": bpm if bpm and 30 <= bpm <= 300 else None, "key_pitch_class": pc, "mode": mode,
                        "genres": [g for g in artist.get("genres") or [] if isinstance(g, str)]}))
        return self.decide(track, cands)
