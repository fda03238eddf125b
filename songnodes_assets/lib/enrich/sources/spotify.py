"""Spotify Web API search (OAuth client credentials; rolling 30 s window, 429 + Retry-After).

The token request goes through the same ApiClient as the searches (limiter, retries, breaker, stats)
and the token is kept until a minute before it expires. A token endpoint that rejects the credentials
(400 invalid_client, 401, 403) is ``AuthRejected``; one that fails (5xx, timeouts) is a retried
``ServerError``/``TransportFailure`` that opens the breaker like any other failing call.

Audio features (BPM, key) are closed to new apps since Nov 2024: asked only when
SONGNODES_SPOTIFY_AUDIO_FEATURES=1, and switched off for the run at the first 403/404. The ``artist:``
filter takes one name: the joined credit is asked first, then each credited artist, until a match.
"""

import base64
import time

from ...camelot import spotify_key
from ...matching import Candidate, TrackQuery
from ..api_client import ApiClient, AuthRejected, BadRequest, BadResponse
from .base import LookupResult, Source, artist_fields, first

DEFAULT_AUTH_URL = "https://accounts.spotify.com/api/token"
TOKEN_MARGIN_S = 60.0  # renew this long before the announced expiry


class Spotify(Source):
    name = "spotify"
    default_base_url = "https://api.spotify.com"
    default_interval_s = 0.2
    credential_env = ("SONGNODES_SPOTIFY_CLIENT_ID", "SONGNODES_SPOTIFY_CLIENT_SECRET")

    def __init__(self, config):
        super().__init__(config)
        self._token: str | None = None
        self._token_expires = 0.0
        self.features_on = config.options.get("audio_features", "0").lower() in ("1", "true", "yes", "on")

    def _headers(self, client: ApiClient) -> dict:
        if self._token is None or time.time() > self._token_expires - TOKEN_MARGIN_S:
            self._token, self._token_expires = self._fetch_token(client)
        return {"Authorization": f"Bearer {self._token}"}

    def _fetch_token(self, client: ApiClient) -> tuple[str, float]:
        url = self.config.options.get("auth_url") or DEFAULT_AUTH_URL
        creds = self.config.credentials
        basic = base64.b64encode(f"{creds['SONGNODES_SPOTIFY_CLIENT_ID']}:{creds['SONGNODES_SPOTIFY_CLIENT_SECRET']}"
                                 .encode()).decode()
        client.stats["token_requests"] += 1  # each one is also in stats["calls"] (once per try)
        try:
            res = client.get_json(url, method="POST", data={"grant_type": "client_credentials"},
                                  headers={"Authorization": f"Basic {basic}"}, cache=False)
        except BadRequest as exc:  # 400 invalid_client: the credentials are wrong
            raise AuthRejected(f"spotify: token request rejected: {exc}", exc.status) from exc
        body = res.data
        token = body.get("access_token") if isinstance(body, dict) else None
        if res.status != 200 or not isinstance(token, str) or not token:
            raise BadResponse(f"spotify: token answer without access_token (HTTP {res.status})", res.status)
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        return token, time.time() + lifetime

    def lookup(self, client: ApiClient, track: TrackQuery, context: dict) -> LookupResult:
        result = self.by_artist(client, track, lambda artist: self._search(client, track, artist))
        if result.status == "matched" and self.features_on:
            result.fields.update(self._features(client, result.fields["source_id"]))
        result.fields.pop("popularity", None)
        return result

    def _search(self, client: ApiClient, track: TrackQuery, artist: str) -> LookupResult:
        q = f'track:"{track.search_title}" artist:"{artist}"'
        res = client.get_json("/v1/search", {"q": q, "type": "track", "limit": "10"},
                              headers=lambda: self._headers(client),
                              ttl_for=lambda s, d: self.ttl_for(bool(((d or {}).get("tracks") or {}).get("items"))))
        data = res.data
        if not isinstance(data, dict) or not isinstance(data.get("tracks"), dict):
            raise BadResponse(f"spotify: unexpected search shape: {str(data)[:120]}")
        cands = []
        for item in data["tracks"].get("items") or []:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            album = item.get("album") or {}
            cands.append(Candidate(
                source_id=item["id"], artists=[a.get("name", "") for a in item.get("artists") or [] if isinstance(a, dict)],
                title=item.get("name") or "", duration_ms=item.get("duration_ms"),
                isrc=(item.get("external_ids") or {}).get("isrc"),
                fields={"release_date": album.get("release_date"), "popularity": item.get("popularity"),
                        **artist_fields(item.get("artists"), lambda a: a.get("name"), lambda a: a.get("id"))}))
        return self.decide(track, cands)

    def _features(self, client: ApiClient, track_id: str) -> dict:
        res = client.get_json(f"/v1/audio-features/{track_id}", headers=lambda: self._headers(client),
                              ttl_for=lambda s, d: self.ttl_for(s == 200))
        if res.status != 200 or not isinstance(res.data, dict):
            self.features_on = False
            return {}
        pc, mode = spotify_key(res.data.get("key"), res.data.get("mode"))
        tempo = res.data.get("tempo")
        return {"bpm": float(tempo) if isinstance(tempo, (int, float)) and tempo > 0 else None,
                "key_pitch_class": pc, "mode": mode}


__all__ = ["Spotify", "first"]
