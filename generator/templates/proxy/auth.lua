-- The auth proxy's decisions: who gets in, to what, with how much.
--
-- gate() runs in the rewrite phase of every API location, before any
-- request body is read and before the in-flight limits count:
--   * a CORS preflight from an allowed origin is answered here (browsers
--     send no key with it); from any other origin it gets 403.
--   * exactly one `Authorization: Bearer <token>` header whose token is one
--     of the keys in the key file, else 401. The scheme is case-insensitive
--     (RFC 9110 section 11.1); one space, then a token68 (RFC 6750 section
--     2.1: letters, digits, - . _ ~ + /, then any `=`). A key in the query
--     string, a cookie or another header never works.
--   * no usable key (file missing, unreadable, empty, or only ignored
--     lines): every request gets 503. The proxy fails closed.
--   * a client address with failedAuthPerMinute failures in the current
--     minute gets 429 without its key being looked at.
--   * then the endpoint: the raw path (before any decoding) must be one of
--     the API's, with one of its methods: else 404 or 405.
-- check_body() runs in the access phase, after the limits count: the body
-- of a generation request is read and the tokens it may generate checked
-- against max_tokens.
-- Every refusal has one name in REFUSALS and leaves through refuse().
--
-- The key file: one entry a line, surrounding whitespace and blank lines
-- ignored, so keys can overlap in a rotation. An entry is a key (a token68
-- of at least MIN_KEY_LENGTH characters) or its salted hash
-- `sha256:<salt hex>:<SHA-256(salt || key) hex>` (`gemma-gitops hash-key`),
-- so a leaked Secret need not be a usable key. Other lines are ignored with
-- a warning naming the line, never its content. Each worker keeps what it
-- needs to compare and re-reads the file on a timer every `reload_seconds`,
-- so a rotated Secret takes effect without a restart; the file is opened by
-- path each time, which follows the kubelet's atomic swap of `..data`.
--
-- Comparison is constant-time: the token is compared with every entry,
-- every time, byte differences OR-ed together: as an HMAC-SHA1 under a
-- random per-process secret for a key, as SHA-256(salt || token) for a
-- hash. The time taken says nothing about where a wrong token differs
-- from any of them. Memory holds only digests, never a key.
-- A salted SHA-256, not a slow KDF: keys are random (openssl rand, 128
-- bits and more), so guessing one from its hash is hopeless at any speed,
-- while a slow hash would cost its full price on every request, wrong keys
-- included (a flood would be amplified).
--
-- A key's identity in logs and limits is the first 12 hex digits of
-- SHA-256("gemma-key-id:" || key): the same for a key and its hash, and
-- printed by `gemma-gitops hash-key`.
--
-- APIs: lua-nginx-module's own (ngx.*), LuaJIT's bit and ffi, lua-cjson,
-- and OpenSSL's EVP_Digest through the ffi (what OpenResty's resty.sha256
-- uses too): OpenResty (production) and Debian's nginx with
-- libnginx-mod-http-lua and lua-cjson (the tests) all have them.
local bit = require("bit")
local ffi = require("ffi")
local cjson = require("cjson.safe")

local band, bor, bxor, rshift = bit.band, bit.bor, bit.bxor, bit.rshift
local byte, char, format = string.byte, string.char, string.format
local floor = math.floor

local _M = {}

local MIN_KEY_LENGTH = 16
local MAX_KEY_FILE_BYTES = 65536
local MIN_SALT_BYTES = 16
local KEY_ID_DIGITS = 12
local TOKEN68 = "^[%w%-%._~%+/]+=*$"
local HASHED = "^sha256:(%x+):(%x+)$"
local REFUSING = "refusing every request with 503"
local FAILED_AUTH_WINDOW = 60 -- seconds
-- Fields llama-server (b11434, tools/server/server-schema.cpp) reads as the
-- number of tokens to generate: n_predict, then its aliases; the Responses
-- API's max_output_tokens becomes max_tokens (server-chat.cpp).
local TOKEN_FIELDS = { "n_predict", "max_completion_tokens", "max_tokens",
    "max_output_tokens" }
-- llama-server's generation endpoints. prompts: a `prompt` array is one
-- task per element (tokenize_input_prompts); required: the Anthropic API
-- defaults a missing max_tokens to 4096 (server-chat.cpp), so it must be
-- sent.
local GENERATION = {
    ["/v1/chat/completions"] = {}, ["/chat/completions"] = {},
    ["/v1/completions"] = { prompts = true },
    ["/completions"] = { prompts = true },
    ["/completion"] = { prompts = true },
    ["/infill"] = {}, ["/v1/responses"] = {}, ["/responses"] = {},
    ["/v1/messages"] = { required = true },
}
-- Response headers of llama-server that reach the client; hop-by-hop ones
-- are nginx's own.
local RESPONSE_HEADERS = {
    ["content-type"] = true, ["content-length"] = true,
    ["cache-control"] = true, ["retry-after"] = true,
    ["x-request-id"] = true,
    ["connection"] = true, ["transfer-encoding"] = true,
}

-- Every refusal, by name: status, OpenAI error type, code, message. The
-- name is logged (reason=) and is where a counter per reason belongs.
local REFUSALS = {
    no_header = { 401, "invalid_request_error", "invalid_api_key",
        "missing API key: send the header `Authorization: Bearer <key>`" },
    malformed = { 401, "invalid_request_error", "invalid_api_key",
        "malformed credentials: send exactly one header "
            .. "`Authorization: Bearer <key>`" },
    wrong_key = { 401, "invalid_request_error", "invalid_api_key",
        "invalid API key" },
    no_key_configured = { 503, "server_error", "no_api_key_configured",
        "the proxy has no API key configured, so it refuses every"
            .. " request" },
    auth_throttled = { 429, "rate_limit_error", "too_many_failed_attempts",
        "too many failed authentications from this address, retry later" },
    probe_body = { 400, "invalid_request_error", "bad_request",
        "the health check takes no request body" },
    origin_not_allowed = { 403, "invalid_request_error",
        "origin_not_allowed",
        "cross-origin requests from this origin are not allowed" },
    not_found = { 404, "invalid_request_error", "not_found",
        "no such endpoint" },
    method_not_allowed = { 405, "invalid_request_error",
        "method_not_allowed", "method not allowed on this endpoint" },
    body_too_large = { 413, "invalid_request_error", "request_too_large",
        "request body too large" },
    invalid_body = { 400, "invalid_request_error", "invalid_request_body",
        "the request body must be a JSON object" },
    invalid_n = { 400, "invalid_request_error", "invalid_request_body",
        "n (n_cmpl) must be a positive integer" },
    invalid_max_tokens = { 400, "invalid_request_error",
        "invalid_max_tokens",
        "max_tokens must be an integer from 0 to %d" },
    missing_max_tokens = { 400, "invalid_request_error",
        "missing_max_tokens",
        "max_tokens is required on this endpoint (at most %d)" },
    too_many_tokens = { 400, "invalid_request_error", "max_tokens_exceeded",
        "this request may generate more than %d tokens "
            .. "(max_tokens x prompts x n); ask for fewer" },
}
local RETRY_AFTER = { [429] = FAILED_AUTH_WINDOW, [503] = 5 }

local config = {
    key_file = nil, reload_seconds = 30, rate_limit_by = nil,
    trusted_hops = 1, failed_auth_per_minute = 30, max_tokens = 0,
    endpoints = {}, cors_origins = {}, cors_max_age = 600,
}
local bodies = {} -- reason -> JSON body, built once by configure()
-- Random, drawn in the master: every worker computes the same digests.
local secret = nil

-- Per worker: the key file's entries, and what was last logged about them.
local entries, last_state = {}, nil
-- Told of every reload (metrics.lua counts it): how many usable keys it
-- found, and whether it succeeded (read the file and found one or more).
local on_reload = nil

-- SHA-256 from the OpenSSL nginx is linked with. A declaration another
-- module made already is fine.
for _, declaration in ipairs({
    "typedef struct evp_md_st EVP_MD;",
    "const EVP_MD *EVP_sha256(void);",
    "int EVP_Digest(const void *data, size_t count, unsigned char *md,"
        .. " unsigned int *size, const EVP_MD *type, void *impl);",
}) do
    pcall(ffi.cdef, declaration)
end
local sha256_out = ffi.new("unsigned char[32]")
local sha256_size = ffi.new("unsigned int[1]")

local function sha256(text)
    if ffi.C.EVP_Digest(text, #text, sha256_out, sha256_size,
            ffi.C.EVP_sha256(), nil) ~= 1 then
        error("auth: EVP_Digest failed")
    end
    return ffi.string(sha256_out, 32)
end

local function to_hex(bytes)
    return (bytes:gsub(".", function(c) return format("%02x", byte(c)) end))
end

local function from_hex(hex)
    return (hex:gsub("..", function(h) return char(tonumber(h, 16)) end))
end

-- OpenAI's error shape, fields in its order (a table's would vary).
local function error_body(kind, code, message)
    return '{"error":{"message":' .. cjson.encode(message) .. ',"type":"'
        .. kind .. '","code":"' .. code .. '"}}\n'
end

local function random_bytes(n)
    local f, err = io.open("/dev/urandom", "rb")
    if not f then
        error("auth: cannot open /dev/urandom: " .. tostring(err))
    end
    local bytes = f:read(n)
    f:close()
    if not bytes or #bytes ~= n then
        error("auth: short read from /dev/urandom")
    end
    return bytes
end

local function set_of(list)
    local set = {}
    for _, item in ipairs(list) do
        set[item] = true
    end
    return set
end

-- Called once from init_by_lua (in the master, before workers fork).
function _M.configure(opts)
    for name, value in pairs(opts) do
        config[name] = value
    end
    assert(config.key_file, "auth: key_file is required")
    config.reload_seconds = assert(tonumber(config.reload_seconds))
    for path, methods in pairs(config.endpoints) do
        config.endpoints[path] = set_of(methods)
    end
    config.cors_origins = set_of(config.cors_origins)
    for reason, r in pairs(REFUSALS) do
        bodies[reason] = error_body(r[2], r[3],
            format(r[4], config.max_tokens))
    end
    -- Hostile input: no NaN, Infinity or hex numbers, bounded nesting.
    cjson.decode_invalid_numbers(false)
    cjson.decode_max_depth(64)
    secret = random_bytes(32)
end

local function digest(text)
    return ngx.hmac_sha1(secret, text)
end

-- 1 if the strings are equal, else 0, in a time that depends only on
-- their length (which is not secret: every digest of a kind has one).
function _M.equal(a, b)
    if #a ~= #b then
        return 0
    end
    local diff = 0
    for i = 1, #a do
        diff = bor(diff, bxor(byte(a, i), byte(b, i)))
    end
    -- 1 when diff == 0, else 0, without a branch: diff is 0..255, so
    -- diff - 1 has its sign bit set only when diff is 0.
    return band(rshift(diff - 1, 31), 1)
end

local equal = _M.equal

-- The key's identity in logs and limits (see the top of this file).
local function key_id(key)
    return to_hex(sha256("gemma-key-id:" .. key):sub(1, KEY_ID_DIGITS / 2))
end

-- The entry a key-file line holds, or nil and why it is ignored.
local function parse_line(line)
    local salt, hash = line:match(HASHED)
    if line:sub(1, 7) == "sha256:" then
        if not salt or #salt % 2 ~= 0 or #salt < 2 * MIN_SALT_BYTES
            or #hash ~= 64 then
            return nil, "is not a valid sha256:<salt hex>:<digest hex> hash"
                .. " (at least " .. MIN_SALT_BYTES .. " bytes of salt)"
        end
        return { salt = from_hex(salt), digest = from_hex(hash) }
    end
    if not line:match(TOKEN68) then
        return nil, "is not a valid bearer token (allowed: letters, digits,"
            .. " - . _ ~ + / and trailing =)"
    end
    if #line < MIN_KEY_LENGTH then
        return nil, "is shorter than " .. MIN_KEY_LENGTH .. " characters"
    end
    return { digest = digest(line), id = key_id(line) }
end

-- The entries in `text`, and a warning for each ignored non-blank line.
-- The last line counts whether or not a newline ends it.
local function parse_keys(text)
    local found, warnings, line_no = {}, {}, 0
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
        line_no = line_no + 1
        local trimmed = line:match("^%s*(.-)%s*$")
        if trimmed ~= "" then
            local entry, problem = parse_line(trimmed)
            if entry then
                found[#found + 1] = entry
            else
                warnings[#warnings + 1] = "line " .. line_no .. " "
                    .. problem .. ", ignored"
            end
        end
    end
    return found, warnings
end

-- The key file's text, or nil and why it could not be read.
local function read_key_file()
    local f, err = io.open(config.key_file, "rb")
    if not f then
        return nil, err
    end
    local text, read_err = f:read(MAX_KEY_FILE_BYTES + 1)
    f:close()
    if read_err then
        return nil, config.key_file .. ": " .. read_err
    end
    text = text or "" -- nil without an error: the file is empty
    if #text > MAX_KEY_FILE_BYTES then
        return nil, config.key_file .. ": over "
            .. MAX_KEY_FILE_BYTES .. " bytes"
    end
    return text
end

-- Log what changed about the keys: once per change, not every reload.
local function report(found, warnings, err)
    local state = err or (#found .. table.concat(warnings))
    for _, entry in ipairs(found) do
        state = state .. (entry.salt or "") .. entry.digest
    end
    if state == last_state then
        return
    end
    last_state = state
    local file = config.key_file
    for _, warning in ipairs(warnings) do
        ngx.log(ngx.WARN, "auth: ", file, ": ", warning)
    end
    if err then
        ngx.log(ngx.ERR, "auth: cannot read the key file (", err, "): ",
            REFUSING)
    elseif #found == 0 then
        ngx.log(ngx.ERR, "auth: ", file, " holds no usable key: ", REFUSING)
    else
        ngx.log(ngx.WARN, "auth: ", file, " holds ", #found,
            " usable key(s)")
    end
end

local function reload()
    local text, err = read_key_file()
    local found, warnings = {}, {}
    if text then
        found, warnings = parse_keys(text)
    end
    report(found, warnings, err)
    entries = found
    -- Protected: a failure in the metrics never stops the key reloads.
    if on_reload then
        local read = text ~= nil and #found > 0
        local ok, failure = pcall(on_reload, #found, read)
        if not ok then
            ngx.log(ngx.ERR, "auth: counting the reload failed: ", failure)
        end
    end
end

-- Register the function every reload calls with (usable keys, success).
-- Called in init_by_lua, before the workers fork and first read the keys.
function _M.watch_reloads(callback)
    on_reload = callback
end

-- The name of every refusal, sorted: what `reason` may be in the log.
function _M.refusal_names()
    local names = {}
    for name in pairs(REFUSALS) do
        names[#names + 1] = name
    end
    table.sort(names)
    return names
end

-- Called from init_worker_by_lua in every worker: read the keys now,
-- then every reload_seconds. A timer keeps file reads off the request
-- path, and its log lines carry no request (nginx would add the request
-- line, query string and all, to a line logged while serving one).
function _M.start()
    reload()
    local ok, err = ngx.timer.every(config.reload_seconds,
        function(premature)
            if not premature then
                reload()
            end
        end)
    if not ok then
        -- Without reloads a removed key would keep working: refuse all.
        ngx.log(ngx.ERR, "auth: cannot schedule key reloads (", err, "): ",
            REFUSING)
        entries = {}
    end
end

-- The entry `token` matches, or nil. Every entry is compared, whichever
-- matches: a wrong token takes the same path through all of them. (Only
-- a right one takes the branch, which tells its sender nothing new.)
local function match(token, known)
    local token_digest, found = digest(token), nil
    for i = 1, #known do
        local entry = known[i]
        local candidate = entry.salt and sha256(entry.salt .. token)
            or token_digest
        if equal(candidate, entry.digest) == 1 then
            found = entry
        end
    end
    return found
end

-- The token of the request's one `Authorization: Bearer <token>` header,
-- or nil and the refusal.
local function bearer_token()
    -- 0: read every header, however many there are.
    local value = ngx.req.get_headers(0)["authorization"]
    if value == nil then
        return nil, "no_header"
    end
    if type(value) ~= "string" then -- sent twice (nginx answers 400 first)
        return nil, "malformed"
    end
    -- Spaces and tabs around a field value are not part of it (RFC 9110
    -- section 5.5).
    value = value:match("^[ \t]*(.-)[ \t]*$")
    local scheme, token = value:match("^([^ ]+) (.+)$")
    if not scheme or scheme:lower() ~= "bearer"
        or not token:match(TOKEN68) then
        return nil, "malformed"
    end
    return token
end

local function is_address(text)
    return text:match("^%d+%.%d+%.%d+%.%d+$") ~= nil
        or (#text <= 45 and text:find(":", 1, true) ~= nil
            and text:match("^[%x:%.]+$") ~= nil)
end

-- The client's address: the X-Forwarded-For entry `trusted_hops` places
-- from the right (each trusted hop appends what it saw; what the client
-- wrote is further left), else the peer's address.
local function client_address()
    local hops = config.trusted_hops
    local forwarded = hops > 0 and ngx.var.http_x_forwarded_for
    if not forwarded then
        return ngx.var.remote_addr
    end
    local list = {}
    for item in forwarded:gmatch("[^,]+") do
        list[#list + 1] = item:match("^%s*(.-)%s*$")
    end
    local chosen = list[math.max(1, #list - hops + 1)]
    if chosen and is_address(chosen) then
        return chosen
    end
    return ngx.var.remote_addr
end

local function raw_path()
    return ngx.var.request_uri:match("^[^?]*")
end

local function allowed_origin()
    local origin = ngx.var.http_origin
    return origin and config.cors_origins[origin] and origin or nil
end

local function allow_list(methods)
    local list = {}
    for method in pairs(methods or {}) do
        list[#list + 1] = method
    end
    table.sort(list)
    return table.concat(list, ", ")
end

-- Send the refusal ngx.var.gemma_reason names and end the request.
function _M.send_refusal()
    local reason = ngx.var.gemma_reason
    local status, body = REFUSALS[reason][1], bodies[reason]
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Content-Length"] = #body
    ngx.header["Cache-Control"] = "no-store"
    ngx.header["Retry-After"] = RETRY_AFTER[status]
    if status == 401 then
        ngx.header["WWW-Authenticate"] = "Bearer"
    elseif status == 405 then
        ngx.header["Allow"] = allow_list(config.endpoints[raw_path()])
    end
    local origin = allowed_origin()
    if origin then
        ngx.header["Access-Control-Allow-Origin"] = origin
        ngx.header["Vary"] = "Origin"
    end
    ngx.print(body)
    return ngx.exit(ngx.HTTP_OK)
end

-- The one way out for a refused request. One that announced a body
-- (before it was read) ends its connection (a location with keepalive
-- off): the body is never read, only drained for lingering_time.
local function refuse(reason)
    ngx.var.gemma_reason = reason
    local announced = ngx.var.http_transfer_encoding
        or ngx.var.http_content_length
    if announced and ngx.get_phase() == "rewrite" then
        return ngx.exec("@refused_closing")
    end
    return _M.send_refusal()
end

-- An OPTIONS preflight (RFC 9110; Fetch standard, CORS protocol): answered
-- here, without a key (browsers send none), only for an allowed origin
-- asking for one of the endpoint's methods. Credentials are never allowed.
local function preflight(methods)
    local origin, asked = allowed_origin(),
        ngx.var.http_access_control_request_method
    if not origin or not methods or not methods[asked] then
        return refuse("origin_not_allowed")
    end
    ngx.status = 204
    ngx.header["Access-Control-Allow-Origin"] = origin
    ngx.header["Access-Control-Allow-Methods"] = allow_list(methods)
    ngx.header["Access-Control-Allow-Headers"] =
        "Authorization, Content-Type"
    ngx.header["Access-Control-Max-Age"] = config.cors_max_age
    ngx.header["Vary"] = "Origin"
    return ngx.exit(ngx.HTTP_NO_CONTENT)
end

local function count_failure(client, reason)
    ngx.shared.gemma_auth_failures:incr(client, 1, 0, FAILED_AUTH_WINDOW)
    return refuse(reason)
end

-- The rewrite phase of every API location: let the request through, with
-- its key's identity and client address set for the limits and the log,
-- or refuse it.
function _M.gate()
    local client = client_address()
    ngx.var.gemma_client = client
    local methods = config.endpoints[raw_path()]
    if ngx.req.get_method() == "OPTIONS" and ngx.var.http_origin
        and ngx.var.http_access_control_request_method then
        return preflight(methods)
    end
    local known = entries
    if #known == 0 then
        return refuse("no_key_configured")
    end
    local failures = ngx.shared.gemma_auth_failures:get(client) or 0
    if failures >= config.failed_auth_per_minute then
        return refuse("auth_throttled")
    end
    local token, reason = bearer_token()
    if not token then
        return count_failure(client, reason)
    end
    local entry = match(token, known)
    if not entry then
        return count_failure(client, "wrong_key")
    end
    -- A hash's identity needs the key: computed at its first match.
    entry.id = entry.id or key_id(token)
    local id = entry.id
    ngx.var.gemma_key = id
    if not methods then
        return refuse("not_found")
    end
    if not methods[ngx.req.get_method()] then
        return refuse("method_not_allowed")
    end
    -- From here the request counts against the in-flight limits.
    ngx.var.gemma_limited_client = client
    ngx.var.gemma_all = "all"
    if config.rate_limit_by == "key" then
        ngx.var.gemma_rate_key = id
    elseif config.rate_limit_by == "client" then
        ngx.var.gemma_rate_key = client
    end
end

-- The probes' `GET /health` (exactly that request line, no body) passes
-- without a key; anything else authenticates. A body is refused before a
-- byte of it is read, key or not.
function _M.probe()
    ngx.var.gemma_client = client_address()
    if ngx.var.http_content_length or ngx.var.http_transfer_encoding then
        return refuse("probe_body")
    end
    local method = ngx.req.get_method()
    if ngx.var.request_uri == "/health"
        and (method == "GET" or method == "HEAD") then
        return
    end
    return _M.gate()
end

-- How many tokens a generation request may produce, or nil and the
-- refusal: the largest of its token fields (llama-server's --n-predict,
-- which is max_tokens, when it names none), times its prompts and its
-- completions per prompt (n_cmpl, alias n).
local function requested_tokens(request, endpoint)
    local most = nil
    for _, field in ipairs(TOKEN_FIELDS) do
        local value = request[field]
        if value ~= nil and value ~= cjson.null then
            if type(value) ~= "number" or value ~= floor(value) or value < 0
                or value > config.max_tokens then
                return nil, "invalid_max_tokens"
            end
            most = math.max(most or 0, value)
        end
    end
    if most == nil then
        if endpoint.required then
            return nil, "missing_max_tokens"
        end
        most = config.max_tokens
    end
    local copies = 1
    for _, field in ipairs({ "n_cmpl", "n" }) do
        local value = request[field]
        if value ~= nil and value ~= cjson.null then
            if type(value) ~= "number" or value ~= floor(value)
                or value < 1 then
                return nil, "invalid_n"
            end
            copies = math.max(copies, value)
        end
    end
    local prompt = request.prompt
    if endpoint.prompts and type(prompt) == "table" then
        for _, item in ipairs(prompt) do
            if type(item) ~= "number" then -- not one prompt of token ids
                copies = copies * math.max(1, #prompt)
                break
            end
        end
    end
    return most * copies
end

-- The access phase: a generation request's JSON body is read (into
-- memory: the location's body buffer is as large as its body limit) and
-- refused if it may generate more than max_tokens.
function _M.check_body()
    local endpoint = GENERATION[raw_path()]
    if not endpoint or ngx.req.get_method() ~= "POST" then
        return
    end
    ngx.req.read_body()
    local body = ngx.req.get_body_data()
    if not body then
        if ngx.req.get_body_file() then
            return refuse("body_too_large")
        end
        body = ""
    end
    local request = cjson.decode(body)
    if type(request) ~= "table" or request[1] ~= nil then
        return refuse("invalid_body")
    end
    local tokens, reason = requested_tokens(request, endpoint)
    if not tokens then
        return refuse(reason)
    end
    if tokens > config.max_tokens then
        return refuse("too_many_tokens")
    end
end

-- The header filter of proxied responses: only RESPONSE_HEADERS of
-- llama-server's reach the client (no Set-Cookie, no Access-Control-*
-- reflecting any origin, no Location, Upgrade, Proxy-Authenticate, ...);
-- then our own streaming and CORS headers.
function _M.filter_headers()
    if not ngx.var.upstream_status then
        return -- our own reply (a refusal): its headers are ours
    end
    for name in pairs(ngx.resp.get_headers(0, true)) do
        if not RESPONSE_HEADERS[name:lower()] then
            ngx.header[name] = nil
        end
    end
    ngx.header["X-Accel-Buffering"] = "no"
    local origin = allowed_origin()
    if origin then
        ngx.header["Access-Control-Allow-Origin"] = origin
        ngx.header["Vary"] = "Origin"
    end
end

return _M
