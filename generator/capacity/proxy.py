"""The auth proxy's memory: measured costs per connection and request, and how many connections fit a limit.

Measured in real nginx (tests/proxy/test_memory.py asserts each stays within what is assumed here;
`make bench` prints the measurements): nginx 1.22 with lua-nginx-module 0.10.23 and OpenResty 1.27
share this code, 64-bit.
"""

from __future__ import annotations

from .quantity import MiB

PROXY_FIXED_BYTES = 12 * MiB  # the master and one idle worker, auth.lua loaded, shared zones included
PROXY_WORKER_BYTES = 6 * MiB  # each further worker
PROXY_SLOT_BYTES = 512  # each worker_connections slot (connection and two events), allocated at start
PROXY_CONNECTION_BYTES = 32 * 1024  # a client connection at its worst before authentication: full header buffers
PROXY_REQUEST_BYTES = 48 * 1024  # an authenticated request in flight on top: upstream connection, buffers, Lua
PROXY_BODY_FACTOR = 4  # memory per byte of a generation body while it is checked: buffer, Lua string, decoded table
# With metrics on: the shared dictionary of counters (256 KiB, of which a few hundred series use a
# tenth), metrics.lua loaded in every worker and one exposition being built for a scrape.
PROXY_METRICS_DICT_KIB = 256
PROXY_METRICS_BYTES = PROXY_METRICS_DICT_KIB * 1024 + 1 * MiB
PROXY_HEADROOM = 0.25  # of the limit, left free: allocator fragmentation, Lua's garbage not yet collected
PROXY_MAX_WORKER_CONNECTIONS = 4096


def proxy_memory(workers: int, worker_connections: int, requests: int, body_bytes: int, metrics: bool = False) -> int:
    """The proxy's memory when every connection and every request in flight is at its measured worst."""
    connections = workers * worker_connections * (PROXY_SLOT_BYTES + PROXY_CONNECTION_BYTES)
    in_flight = requests * (PROXY_REQUEST_BYTES + PROXY_BODY_FACTOR * body_bytes)
    fixed = PROXY_FIXED_BYTES + (workers - 1) * PROXY_WORKER_BYTES + (PROXY_METRICS_BYTES if metrics else 0)
    return fixed + connections + in_flight


def usable_bytes(limit_bytes: int) -> int:
    """What the proxy may plan to use of its memory limit, the headroom left aside."""
    return int(limit_bytes * (1 - PROXY_HEADROOM))


def fitting_connections(limit_bytes: int, workers: int, requests: int, body_bytes: int, metrics: bool = False) -> int:
    """As many worker_connections as fit the limit when each one and each request in flight is at its worst."""
    spare = usable_bytes(limit_bytes) - proxy_memory(workers, 0, requests, body_bytes, metrics)
    per_connection = workers * (PROXY_SLOT_BYTES + PROXY_CONNECTION_BYTES)
    return max(0, min(spare // per_connection, PROXY_MAX_WORKER_CONNECTIONS))
