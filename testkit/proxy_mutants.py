"""Hand-written mutants of the auth proxy (auth.lua, nginx.conf.j2): each a named one-line change and
the property it breaks, for `make mutation` (bench/mutation.py) to run one at a time against tests/proxy
in a real nginx. A mutant the suite lets through is a property nothing tests, unless it is `equivalent`
(no request can tell it apart), which says why.

`search` must occur exactly once in the template (tests/unit/test_proxy_mutants.py checks it against the
current templates, so the catalogue cannot rot); it may hold a line of context before or after the one
line it changes. `killed_by` lists the tests expected to kill it: they run first, so a kill is quick.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[1] / "generator" / "templates" / "proxy"


@dataclass(frozen=True)
class Mutant:
    """One wrong program: `search` replaced by `replace` in the template `file`."""

    name: str
    file: str  # auth.lua or nginx.conf.j2, under generator/templates/proxy/
    search: str
    replace: str
    breaks: str  # the property a proxy with this change no longer has
    killed_by: tuple[str, ...] = ()  # tests/proxy node ids expected to fail
    equivalent: str = ""  # why no request can tell it apart (then it is expected to survive)

    def apply(self, text: str) -> str:
        """The template with this mutant applied; refuses a search that does not occur exactly once."""
        count = text.count(self.search)
        if count != 1:
            raise ValueError(f"mutant {self.name}: {self.search!r} occurs {count} times in {self.file}, not once")
        return text.replace(self.search, self.replace)


def _k(*nodes: str) -> tuple[str, ...]:
    """Test node ids under tests/proxy/."""
    return tuple(f"tests/proxy/{node}" for node in nodes)


KEY_FILE, COMPARE, AUTH = "test_key_file.py", "test_compare.py", "test_auth.py"
LUA, CONF = "auth.lua", "nginx.conf.j2"

MUTANTS: tuple[Mutant, ...] = (
    # -- the key file --------------------------------------------------------------------------------
    Mutant("key-file-last-line-dropped", LUA, 'for line in (text .. "\\n"):gmatch', "for line in text:gmatch",
           "a key file without a trailing newline (a Secret's usual shape) holds its last key",
           _k(f"{KEY_FILE}::test_a_key_file_without_a_trailing_newline_works")),
    Mutant("min-key-length-15", LUA, "local MIN_KEY_LENGTH = 16", "local MIN_KEY_LENGTH = 15",
           "a key shorter than 16 characters is ignored", _k(f"{KEY_FILE}::test_a_15_character_key_is_refused_and_16_is_enough")),
    Mutant("min-key-length-17", LUA, "if #line < MIN_KEY_LENGTH then", "if #line <= MIN_KEY_LENGTH then",
           "a 16-character key works", _k(f"{KEY_FILE}::test_a_15_character_key_is_refused_and_16_is_enough")),
    Mutant("key-file-cap-unchecked", LUA, "if #text > MAX_KEY_FILE_BYTES then", "if #text > MAX_KEY_FILE_BYTES + 1 then",
           "a key file over 64 KiB is refused, not read in part",
           _k(f"{KEY_FILE}::test_the_key_file_may_hold_64_kib_and_no_more")),
    Mutant("key-file-cap-lowered", LUA, "local MAX_KEY_FILE_BYTES = 65536", "local MAX_KEY_FILE_BYTES = 65535",
           "a key file of exactly 64 KiB is read", _k(f"{KEY_FILE}::test_the_key_file_may_hold_64_kib_and_no_more")),
    Mutant("ignored-line-shows-content", LUA, 'warnings[#warnings + 1] = "line " .. line_no .. " "',
           'warnings[#warnings + 1] = "line " .. trimmed .. " "',
           "an ignored key-file line is named by number, never by its content",
           _k(f"{KEY_FILE}::test_ignored_lines_are_named_by_number_never_by_content")),
    Mutant("hash-length-unchecked", LUA, "            or #hash ~= 64 then", "            then",
           "a hash line with a digest of the wrong length is ignored",
           _k(f"{KEY_FILE}::test_a_malformed_hash_line_is_ignored_by_number")),
    Mutant("hash-salt-ignored", LUA, "local candidate = entry.salt and sha256(entry.salt .. token)",
           "local candidate = entry.salt and sha256(token)", "a salted hash accepts its key",
           _k(f"{KEY_FILE}::test_a_salted_hash_accepts_its_key_only")),
    Mutant("reload-never", LUA, "            if not premature then", "            if premature then",
           "a rotated key file takes effect without a restart",
           _k(f"{KEY_FILE}::test_a_rotation_takes_effect_without_a_restart")),
    Mutant("reload-keeps-stale-keys", LUA, "    entries = found\n    -- Protected",
           "    entries = #found > 0 and found or entries\n    -- Protected",
           "a key file that goes away or empties fails closed, not open on the last keys",
           _k(f"{KEY_FILE}::test_a_key_file_that_goes_away_fails_closed_and_comes_back",
              f"{KEY_FILE}::test_an_emptied_key_file_fails_closed")),
    Mutant("no-key-not-503", LUA, "if #known == 0 then", "if #known < 0 then",
           "without a usable key every request gets 503", _k(f"{KEY_FILE}::test_without_a_usable_key_every_request_gets_503")),
    # -- the comparison ------------------------------------------------------------------------------
    Mutant("compare-first-byte-only", LUA, "    for i = 1, #a do", "    for i = 1, 1 do",
           "every byte of the digest is compared", _k(COMPARE)),
    Mutant("compare-last-byte-skipped", LUA, "    for i = 1, #a do", "    for i = 1, #a - 1 do",
           "the last byte of the digest is compared", _k(COMPARE)),
    Mutant("compare-last-byte-only", LUA, "diff = bor(diff, bxor(byte(a, i), byte(b, i)))",
           "diff = bxor(byte(a, i), byte(b, i))", "a difference in an early byte is not forgotten", _k(COMPARE)),
    Mutant("compare-always-equal", LUA, "return band(rshift(diff - 1, 31), 1)", "return 1",
           "a wrong key does not match", _k(COMPARE, f"{AUTH}::test_anything_but_one_bearer_key_is_refused")),
    Mutant("compare-ignores-length", LUA, "    if #a ~= #b then", "    if false then",
           "strings of different lengths never match", _k(COMPARE)),
    Mutant("match-first-entry-always", LUA, "if equal(candidate, entry.digest) == 1 then",
           "if equal(candidate, entry.digest) == 1 or i == 1 then", "a wrong token matches no entry",
           _k(f"{AUTH}::test_anything_but_one_bearer_key_is_refused")),
    # -- the header ----------------------------------------------------------------------------------
    Mutant("scheme-case-sensitive", LUA, 'scheme:lower() ~= "bearer"', 'scheme ~= "Bearer"',
           "the scheme is case-insensitive", _k(f"{AUTH}::test_the_scheme_is_case_insensitive")),
    Mutant("value-not-trimmed", LUA, 'value = value:match("^[ \\t]*(.-)[ \\t]*$")', "value = value",
           "spaces around the header value are not part of it",
           _k(f"{AUTH}::test_whitespace_around_the_header_value_is_not_part_of_it")),
    Mutant("token-not-end-anchored", LUA, 'local TOKEN68 = "^[%w%-%._~%+/]+=*$"', 'local TOKEN68 = "^[%w%-%._~%+/]+=*"',
           "a key-file line is a token68 to its end (no key followed by anything)",
           _k(f"{KEY_FILE}::test_without_a_usable_key_every_request_gets_503")),
    Mutant("scheme-any-spaces", LUA, 'value:match("^([^ ]+) (.+)$")', 'value:match("^([^ ]+) +(.+)$")',
           "exactly one space between the scheme and the token", _k(f"{AUTH}::test_anything_but_one_bearer_key_is_refused")),
    # -- the probe path and the allowlist ------------------------------------------------------------
    Mutant("probe-prefix", LUA, 'if ngx.var.request_uri == "/health"', 'if ngx.var.request_uri:sub(1, 7) == "/health"',
           "only the exact `GET /health` passes without a key",
           _k(f"{AUTH}::test_every_other_path_needs_the_key", f"{AUTH}::test_a_path_trick_with_the_key_reaches_nothing")),
    Mutant("probe-any-method", LUA, '        and (method == "GET" or method == "HEAD") then', "        then",
           "another method on the probe path needs the key", _k(f"{AUTH}::test_other_methods_on_the_probe_path_need_the_key")),
    Mutant("probe-chunked-body", LUA, "if ngx.var.http_content_length or ngx.var.http_transfer_encoding then",
           "if ngx.var.http_content_length then", "a chunked body on the probe path is refused before it is read",
           _k("test_probe.py", "test_memory.py::test_a_body_on_the_probe_path_is_never_read")),
    Mutant("decoded-path", LUA, 'return ngx.var.request_uri:match("^[^?]*")', "return ngx.var.uri",
           "the endpoint is decided on the raw path, before any decoding",
           _k(f"{AUTH}::test_a_path_trick_with_the_key_reaches_nothing", "test_allowlist.py")),
    Mutant("unknown-path-not-404", LUA, "    if not methods then\n        return refuse(\"not_found\")",
           "    if false then\n        return refuse(\"not_found\")", "a path outside the API is 404",
           _k("test_allowlist.py::test_anything_outside_the_api_is_404_and_never_reaches_llama_server")),
    Mutant("any-method-allowed", LUA, "if not methods[ngx.req.get_method()] then", "if not methods then",
           "another method on an API path is 405", _k("test_allowlist.py::test_another_method_on_an_api_path_is_405")),
    Mutant("preflight-any-origin", LUA, "if not origin or not methods or not methods[asked] then", "if not methods then",
           "a preflight from an origin not allowed is refused", _k("test_allowlist.py")),
    # -- limits and failures -------------------------------------------------------------------------
    Mutant("throttle-off-by-one", LUA, "if failures >= config.failed_auth_per_minute then",
           "if failures > config.failed_auth_per_minute then", "the failedAuthPerMinute-th failure is the last one looked at",
           _k("test_fairness.py::test_failed_authentication_is_throttled_per_client_address")),
    Mutant("failures-not-counted", LUA, "gemma_auth_failures:incr(client, 1, 0", "gemma_auth_failures:incr(client, 0, 0",
           "failed authentications are counted",
           _k("test_fairness.py::test_failed_authentication_is_throttled_per_client_address")),
    Mutant("client-leftmost-hop", LUA, "local chosen = list[math.max(1, #list - hops + 1)]", "local chosen = list[1]",
           "the client address is the one the trusted hop saw, not what the client wrote",
           _k("test_headers.py::test_the_client_address_is_what_the_trusted_hops_saw")),
    Mutant("per-client-limit-off", LUA, "ngx.var.gemma_limited_client = client", 'ngx.var.gemma_limited_client = ""',
           "one client address is limited whatever keys it uses",
           _k("test_fairness.py::test_one_client_address_is_limited_whatever_keys_it_uses")),
    Mutant("rate-by-key-uses-client", LUA, "        ngx.var.gemma_rate_key = id", "        ngx.var.gemma_rate_key = client",
           "rateLimit.by: key limits each key", _k("test_rate_limit.py")),
    Mutant("max-tokens-off-by-one", LUA, "if tokens > config.max_tokens then", "if tokens > config.max_tokens + 1 then",
           "a request that may generate one token over the ceiling is refused", _k("test_fairness.py")),
    Mutant("prompts-not-multiplied", LUA, "copies = copies * math.max(1, #prompt)", "copies = copies",
           "a prompt array counts once per prompt against the ceiling", _k("test_fairness.py")),
    Mutant("n-not-multiplied", LUA, "copies = math.max(copies, value)", "copies = copies",
           "n completions count n times against the ceiling", _k("test_fairness.py")),
    Mutant("token-fields-last-wins", LUA, "most = math.max(most or 0, value)", "most = value",
           "the largest of the token fields counts, not the last", _k("test_fairness.py")),
    Mutant("negative-max-tokens", LUA, "or value ~= floor(value) or value < 0", "or value ~= floor(value) or value < -1",
           "max_tokens -1 (llama-server: no limit) is refused", _k("test_fairness.py")),
    Mutant("max-tokens-not-required", LUA, "        if endpoint.required then", "        if false then",
           "/v1/messages must name max_tokens", _k("test_fairness.py::test_extra_generation_endpoints_get_the_same_check")),
    Mutant("json-array-body", LUA, 'if type(request) ~= "table" or request[1] ~= nil then', 'if type(request) ~= "table" then',
           "a generation body is a JSON object", _k("test_fairness.py", "test_errors.py")),
    # -- replies -------------------------------------------------------------------------------------
    Mutant("announced-body-read", LUA, 'if announced and ngx.get_phase() == "rewrite" then', "if false then",
           "a refused request that announced a body closes its connection unread", _k("test_probe.py", "test_memory.py")),
    Mutant("no-www-authenticate", LUA, 'ngx.header["WWW-Authenticate"] = "Bearer"', 'ngx.header["X-Unused"] = "Bearer"',
           "a 401 says `WWW-Authenticate: Bearer`", _k("test_errors.py", AUTH)),
    Mutant("refusal-cacheable", LUA, 'ngx.header["Cache-Control"] = "no-store"', 'ngx.header["X-Unused"] = "no-store"',
           "a refusal is never cached", _k("test_errors.py::test_a_refusal_of_auth_lua_is_json")),
    Mutant("response-headers-unfiltered", LUA, "if not RESPONSE_HEADERS[name:lower()] then", "if false then",
           "only allowed response headers of llama-server reach the client",
           _k("test_headers.py::test_only_allowed_response_headers_reach_the_client")),
    Mutant("accel-buffering-yes", LUA, 'ngx.header["X-Accel-Buffering"] = "no"', 'ngx.header["X-Accel-Buffering"] = "yes"',
           "a proxy in front is told not to buffer the stream",
           _k("test_forwarding.py::test_stream_headers_keep_it_a_stream")),
    # -- nginx.conf ----------------------------------------------------------------------------------
    Mutant("proxy-buffering-on", CONF, "proxy_buffering off;", "proxy_buffering on;",
           "a client that stops reading stops the stream (nothing buffered to disk)",
           _k("test_forwarding.py::test_a_stream_nobody_reads_stops_the_upstream_and_costs_no_disk")),
    Mutant("client-headers-forwarded", CONF, "non_idempotent;\n            proxy_pass_request_headers off;",
           "non_idempotent;\n            proxy_pass_request_headers on;",
           "llama-server gets no credentials, cookies or forwarding headers",
           _k(f"{AUTH}::test_credentials_are_not_forwarded_upstream", "test_headers.py")),
    Mutant("probe-headers-forwarded", CONF, "proxy_pass http://llama/health;\n            proxy_pass_request_headers off;",
           "proxy_pass http://llama/health;\n            proxy_pass_request_headers on;",
           "the probe forwards nothing of the client's",
           _k(f"{AUTH}::test_the_probe_path_needs_no_key_and_forwards_nothing_of_the_client")),
    Mutant("request-line-logged", CONF, "'\"$request_verb $request_path $server_protocol\" '", "'\"$request\" '",
           "the access log holds the path without its query string",
           _k("test_hardening.py::test_logs_never_hold_the_key_the_header_or_the_query", "test_logs.py")),
    Mutant("request-errors-logged", CONF, "        # reason).\n        error_log stderr alert;",
           "        # reason).\n        error_log stderr info;",
           "nothing below alert is logged for a request (its line and headers hold secrets)",
           _k("test_logs.py", "test_errors.py::test_a_malformed_request_gets_json_and_no_error_log_line")),
    Mutant("per-key-limit-off", CONF, "limit_conn gemma_per_key {{ limits.concurrent_per_key }};",
           "# limit_conn gemma_per_key {{ limits.concurrent_per_key }};",
           "a key cannot queue work ahead of the others",
           _k("test_fairness.py::test_a_key_cannot_queue_work_ahead_of_the_others")),
    Mutant("total-limit-off", CONF, "limit_conn gemma_all {{ limits.concurrent_requests }};",
           "# limit_conn gemma_all {{ limits.concurrent_requests }};",
           "every key together is limited", _k("test_fairness.py::test_every_key_together_is_limited_too")),
    Mutant("limit-status-503", CONF, "limit_conn_status 429;", "limit_conn_status 503;",
           "the in-flight limit answers 429", _k("test_errors.py::test_429_from_the_in_flight_limit_is_json_with_retry_after")),
    Mutant("retry-after-missing", CONF, "add_header Retry-After 1 always;", "add_header X-Unused 1 always;",
           "a 429 says when to retry", _k("test_errors.py::test_429_from_the_in_flight_limit_is_json_with_retry_after")),
    Mutant("upstream-keepalive-off", CONF, "keepalive {{ spec.proxy.upstream_keepalive }};",
           "# keepalive {{ spec.proxy.upstream_keepalive }};", "upstream connections are kept alive",
           _k("test_forwarding.py::test_upstream_connections_are_kept_alive")),
    Mutant("listen-loopback", CONF, "listen {{ spec.proxy.port }};", "listen 127.0.0.1:{{ spec.proxy.port }};",
           "the proxy listens where the network policy admits the gateway (the pod network)",
           _k("test_headers.py::test_the_proxy_listens_only_where_the_network_policy_admits_the_gateway")),
    Mutant("header-buffers-larger", CONF, "large_client_header_buffers 4 4k;", "large_client_header_buffers 4 8k;",
           "a header line over 4 KiB is 431 before authentication",
           _k("test_forwarding.py::test_a_header_over_the_limit_gets_431_json", "test_memory.py")),
    Mutant("error-pages-public", CONF, "            internal;\n            # The body limit",
           "            # The body limit",
           "the JSON error pages are reachable only as error pages",
           _k(f"{AUTH}::test_the_error_pages_are_not_locations_a_client_can_ask_for")),
    Mutant("upstream-steers-nginx", CONF, "proxy_ignore_headers X-Accel-Redirect X-Accel-Expires",
           "proxy_ignore_headers X-Accel-Expires", "llama-server's response cannot redirect nginx to another location",
           _k("test_headers.py::test_llama_server_cannot_redirect_nginx_to_another_location")),
    Mutant("gzip-on", CONF, "gzip off;", "gzip on;", "server-sent events are not held back by compression",
           _k("test_forwarding.py"),
           equivalent="gzip_types defaults to text/html: nothing llama-server sends (JSON, text/event-stream) is compressed"),
)
