"""The enrichment sources, by name."""

from .acousticbrainz import AcousticBrainz
from .discogs import Discogs
from .getsongbpm import GetSongBPM
from .lastfm import LastFm
from .musicbrainz import MusicBrainz
from .spotify import Spotify

SOURCES = {cls.name: cls for cls in (MusicBrainz, Spotify, LastFm, Discogs, GetSongBPM, AcousticBrainz)}
