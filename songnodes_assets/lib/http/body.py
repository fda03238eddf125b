"""Read a streamed response body under a size cap and a whole-body deadline.

``iter_content`` waits until a full chunk arrives, so a server that trickles a byte at a time (slow
loris) is never caught by it or by the per-read timeout; ``read1`` returns what has arrived, letting the
deadline be checked between every receive."""

from __future__ import annotations

import time

import requests


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


def read_body(resp: requests.Response, max_bytes: int, max_seconds: float, clock=time.monotonic) -> bytes:
    deadline = clock() + max_seconds
    raw = resp.raw
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            if clock() > deadline:
                raise BodyTooSlow(f"body not complete after {max_seconds:g}s")
            chunk = raw.read1(64 * 1024, decode_content=True) if hasattr(raw, "read1") else raw.read(64 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise BodyTooLarge(f"body larger than {max_bytes} bytes")
            chunks.append(chunk)
    finally:
        resp.close()
    return b"".join(chunks)
