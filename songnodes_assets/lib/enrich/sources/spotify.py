"""Spotify Web API search (OAuth client credentials; rolling 30 s window, 429 + Retry-After).

Audio features (BPM, key) are closed to new apps since Nov 2024: asked only when
SONGNODES_SPOTIFY_AUDIO_FEATURES=1, and switched off for the run at the first 403/404.
"""

import time

import requests

from ...camelot import spotify_key
from ...matching import Candidate, TrackQuery
from ..api_client import ApiClient, AuthRejected, BadResponse, TransportFailure
from .base import LookupResult, Source, first

DEFAULT_AUTH_URL = "https://accounts.spotify.com/api/token"


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
        if self._token is None or time.time() > self._token_expires - 60:
            url = self.config.options.get("auth_url") or DEFAULT_AUTH_URL
            client.limiter.acquire()
            client.stats["auth_calls"] += 1
            try:
                resp = client.session.post(url, data={"grant_type": "client_credentials"},
                                           auth=(self.config.credentials["SONGNODES_SPOTIFY_CLIENT_ID"],
                                                 self.config.credentials["SONGNODES_SPOTIFY_CLIENT_SECRET"]),
                                           timeout=(client.policy.connect_timeout_s, client.policy.read_timeout_s))
            except requests.RequestException as exc:
                raise TransportFailure(f"spotify: token request failed: {type(exc).__name__}") from exc
            if resp.status_code in (400, 401, 403):
                raise AuthRejected(f"spotify: token request rejected (HTTP {resp.status_code})", resp.status_code)
            try:
                body = resp.json()
                self._token = body["access_token"]
                self._token_expires = time.time() + float(body.get("expires_in", 3600))
            except (ValueError, KeyError, TypeError) as exc:
                raise BadResponse(f"spotify: token answer without access_token (HTTP {resp.status_code})") from exc
        return {"Authorization": f"Bearer {self._token}"}

    def lookup(self, client: ApiClient, track: TrackQuery, context: dict) -> LookupResult:
        q = f'track:"{track.search_title}" artist:"{track.artists[0]}"'
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
                fields={"release_date": album.get("release_date"), "popularity": item.get("popularity")}))
        result = self.decide(track, cands)
        if result.status == "matched" and self.features_on:
            result.fields.update(self._features(client, result.fields["source_id"]))
        result.fields.pop("popularity", None)
        return result

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
