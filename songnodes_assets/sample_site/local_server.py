"""Lifecycle shared by the local stand-in servers (sample site, fake APIs): a threaded HTTP server on
127.0.0.1 (an ephemeral port unless one is given), usable as a context manager."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalServer:
    host: str
    port: int
    _server: ThreadingHTTPServer | None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://{self.host}:{self._server.server_address[1]}"

    def _serve(self, handler: type[BaseHTTPRequestHandler], name: str):
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name=name, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self):  # pragma: no cover - each server defines its handler
        raise NotImplementedError
