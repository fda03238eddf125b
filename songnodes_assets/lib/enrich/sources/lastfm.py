"""Last.fm track.getInfo (api_key; ~5 req/s guidance). Tags, duration; errors may arrive inside a 200.

getInfo takes one artist: the joined credit is asked first, then each credited artist, until a match."""

from ...matching import Candidate, TrackQuery
from ..api_client import ApiClient, AuthRejected, BadResponse, RateLimited
from .base import LookupResult, Source

AUTH_ERRORS = {4, 9, 10, 14, 26}  # authentication failed, invalid session, invalid key, unauthorised, suspended
RATE_ERRORS = {29}
TRANSIENT_ERRORS = {8, 11, 16}  # operation failed, service offline, temporary error


class LastFm(Source):
    name = "lastfm"
    default_base_url = "https://ws.audioscrobbler.com"
    default_interval_s = 0.2
    credential_env = ("SONGNODES_LASTFM_API_KEY",)

    def lookup(self, client: ApiClient, track: TrackQuery, context: dict) -> LookupResult:
        return self.by_artist(client, track, lambda artist: self._get_info(client, track, artist))

    def _get_info(self, client: ApiClient, track: TrackQuery, artist: str) -> LookupResult:
        params = {"method": "track.getInfo", "artist": artist, "track": track.search_title,
                  "autocorrect": "1", "format": "json", "api_key": self.config.credentials["SONGNODES_LASTFM_API_KEY"]}

        def ttl(status, data):
            if isinstance(data, dict) and "error" in data:
                return self.ttl_for(False) if data.get("error") == 6 else 0  # only "not found" is cached
            return self.ttl_for(True)

        res = client.get_json("/2.0/", params, ttl_for=ttl)
        data = res.data
        if isinstance(data, dict) and "error" in data:
            code = data.get("error")
            if code == 6:
                return LookupResult("not_found", reason=f"last.fm error 6: {data.get('message')}")
            if code in AUTH_ERRORS:
                raise AuthRejected(f"lastfm: error {code}: {data.get('message')}")
            if code in RATE_ERRORS:
                raise RateLimited(f"lastfm: error {code}: rate limit exceeded")
            kind = "temporary" if code in TRANSIENT_ERRORS else "unexpected"
            raise BadResponse(f"lastfm: {kind} error {code}: {data.get('message')}")
        t = data.get("track") if isinstance(data, dict) else None
        if not isinstance(t, dict):
            raise BadResponse(f"lastfm: unexpected getInfo shape: {str(data)[:120]}")
        tags = (t.get("toptags") or {}).get("tag") if isinstance(t.get("toptags"), dict) else []
        if isinstance(tags, dict):  # a single tag comes as an object
            tags = [tags]
        tag_names = [x.get("name") for x in tags or [] if isinstance(x, dict) and x.get("name")]
        # Last.fm answers unknown tracks with a stub: no mbid, no album, no tags, duration "0".
        if not t.get("mbid") and not t.get("album") and not tag_names and str(t.get("duration", "0")) in ("0", ""):
            return LookupResult("not_found", reason="last.fm returned an empty stub for an unknown track")
        artist = t.get("artist")
        artist_name = artist.get("name") if isinstance(artist, dict) else str(artist or "")
        try:
            duration = int(t.get("duration") or 0) or None
        except (TypeError, ValueError):
            duration = None
        cand = Candidate(source_id=t.get("mbid") or t.get("url") or "", artists=[artist_name], title=t.get("name") or "",
                         duration_ms=duration, fields={"tags": [n.lower() for n in tag_names]})
        return self.decide(track, [cand])
