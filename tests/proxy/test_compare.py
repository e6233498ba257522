"""auth.lua's constant-time comparison on its own, in nginx's LuaJIT: every byte of a digest counts.

A comparison that looked at only some bytes would let through a wrong key whose digest agrees on
them (one in 256 for a first-byte-only compare); the end-to-end tests cannot see that, this can.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from testkit.nginx import Runtime, free_port, render_proxy_files, scratch_dir, started_nginx, values_for
from testkit.proxy_client import request

# A test-only nginx.conf beside the rendered auth.lua: one location that runs auth.equal over the pairs
# of hex strings it is sent and answers with the results.
CONF = """\
daemon off;
worker_processes 1;
pid run/nginx.pid;
error_log stderr warn;
events {{ worker_connections 64; }}
http {{
    lua_package_path "${{prefix}}conf/?.lua;;";
    client_body_buffer_size 4m;
    client_max_body_size 4m;
    access_log off;
    client_body_temp_path run/client_body;
    server {{
        listen 127.0.0.1:{port};
        location = /equal {{
            content_by_lua_block {{
                local cjson, auth = require("cjson"), require("auth")
                local function bytes(hex)
                    return (hex:gsub("..", function(h) return string.char(tonumber(h, 16)) end))
                end
                ngx.req.read_body()
                local out = {{}}
                for i, pair in ipairs(cjson.decode(ngx.req.get_body_data())) do
                    out[i] = auth.equal(bytes(pair[1]), bytes(pair[2]))
                end
                ngx.print(cjson.encode(out))
            }}
        }}
    }}
}}
"""


@pytest.fixture(scope="module")
def equal_port(runtime: Runtime) -> Iterator[int]:
    with scratch_dir() as scratch:
        auth_lua = render_proxy_files(scratch / "project", values_for(free_port(), free_port()))["auth.lua"]
        port = free_port()
        with started_nginx(runtime, scratch, {"nginx.conf": CONF.format(port=port), "auth.lua": auth_lua}, port):
            yield port


def equal(port: int, pairs: list[tuple[bytes, bytes]]) -> list[int]:
    reply = request(port, "POST", "/equal", body=json.dumps([[a.hex(), b.hex()] for a, b in pairs]).encode())
    assert reply.status == 200, reply.body
    return list(json.loads(reply.body))


@pytest.mark.parametrize("length", [20, 32])  # HMAC-SHA1 of a key, SHA-256 of a salted hash
def test_a_difference_at_any_position_and_bit_is_a_mismatch(equal_port: int, length: int) -> None:
    digest = os.urandom(length)
    flipped = [digest[:i] + bytes([digest[i] ^ (1 << bit)]) + digest[i + 1:] for i in range(length) for bit in range(8)]
    assert equal(equal_port, [(digest, other) for other in flipped]) == [0] * (8 * length)
    assert equal(equal_port, [(digest, bytes(digest))]) == [1]


def test_every_byte_value_at_every_position_is_compared(equal_port: int) -> None:
    """Each position replaced by each of the 255 other byte values: no value is mistaken for another."""
    digest = bytes(range(100, 120))
    pairs = [(digest, digest[:i] + bytes([v]) + digest[i + 1:]) for i in range(len(digest)) for v in range(256)]
    results = equal(equal_port, pairs)
    assert [r for (_, other), r in zip(pairs, results, strict=True) if other == digest] == [1] * len(digest)
    assert sum(results) == len(digest)


def test_different_lengths_never_match(equal_port: int) -> None:
    digest = os.urandom(32)
    assert equal(equal_port, [(digest, digest[:20]), (digest[:20], digest), (b"", digest), (digest, digest + b"\0")]) == [0] * 4
