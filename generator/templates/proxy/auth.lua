-- API-key check of the auth proxy, run in the rewrite phase of every
-- protected location.
--
-- A request passes only with exactly one `Authorization: Bearer <token>`
-- header whose token equals one of the keys in the key file:
--   * the scheme is case-insensitive (RFC 9110 section 11.1: `bearer`
--     works); exactly one space separates it from the token, which must
--     be a token68 (RFC 6750 section 2.1: letters, digits, - . _ ~ + /,
--     then any `=`). Anything else (another scheme, extra spaces, a key in
--     the query string, a cookie or another header) gets 401. A repeated
--     Authorization header gets 400 from nginx itself (401 here).
--   * the key file holds one key per line; surrounding whitespace and
--     blank lines are ignored, so two keys can overlap in a rotation. A
--     line that is not a token68 of at least MIN_KEY_LENGTH characters is
--     ignored, with a warning naming the line, never the key.
--   * no usable key (file missing, unreadable, empty, or only ignored
--     lines): every request gets 503. The proxy fails closed.
-- Each worker keeps the keys' digests and re-reads the file on a timer
-- every `reload_seconds`, so a rotated Secret takes effect without a
-- restart. The file is opened by path each time, which follows the
-- kubelet's atomic swap of the `..data` symlink.
--
-- Comparison is constant-time: the token and every key are compared as
-- HMAC-SHA1 digests under a random per-process secret, every key every
-- time, with byte differences OR-ed together. The time taken says
-- nothing about where a wrong token differs, which key matched or how
-- long the keys are. Memory holds only digests, never a key.
--
-- Only lua-nginx-module's own API (ngx.hmac_sha1, ngx.timer.every, ...)
-- and LuaJIT's `bit` are used: OpenResty (production) and Debian's
-- libnginx-mod-http-lua (the tests) both have them.
local bit = require("bit")

local band, bor, bxor, rshift = bit.band, bit.bor, bit.bxor, bit.rshift
local byte = string.byte

local _M = {}

local MIN_KEY_LENGTH = 16
local MAX_KEY_FILE_BYTES = 65536
local MAX_FORWARDED_ADDRESS = 64
local TOKEN68 = "^[%w%-%._~%+/]+=*$"
local REFUSING = "refusing every request with 503"

local function error_body(message, kind, code)
    return '{"error":{"message":"' .. message .. '","type":"' .. kind
        .. '","code":"' .. code .. '"}}\n'
end

local MISSING = error_body(
    "missing API key: send the header `Authorization: Bearer <key>`",
    "invalid_request_error", "invalid_api_key")
local MALFORMED = error_body(
    "malformed credentials: send exactly one header "
        .. "`Authorization: Bearer <key>`",
    "invalid_request_error", "invalid_api_key")
local INVALID = error_body(
    "invalid API key", "invalid_request_error", "invalid_api_key")
local NO_KEY = error_body(
    "the proxy has no API key configured, so it refuses every request",
    "server_error", "no_api_key_configured")

local config = { key_file = nil, reload_seconds = 30, rate_limit_by = nil }
-- Random, drawn in the master: every worker computes the same digests.
local secret = nil

-- Per worker: the keys' digests, and what was last logged about them.
local digests, last_state = {}, nil

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

-- Called once from init_by_lua (in the master, before workers fork).
function _M.configure(opts)
    config.key_file = assert(opts.key_file, "auth: key_file is required")
    config.reload_seconds = assert(tonumber(opts.reload_seconds),
        "auth: reload_seconds is required")
    config.rate_limit_by = opts.rate_limit_by
    secret = random_bytes(32)
end

local function digest(text)
    return ngx.hmac_sha1(secret, text)
end

-- The digests of the usable keys in `text`, and a warning for each
-- ignored non-blank line.
local function parse_keys(text)
    local found, warnings, line_no = {}, {}, 0
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
        line_no = line_no + 1
        local key = line:match("^%s*(.-)%s*$")
        local problem = nil
        if key ~= "" and not key:match(TOKEN68) then
            problem = "is not a valid bearer token (allowed: letters,"
                .. " digits, - . _ ~ + / and trailing =)"
        elseif key ~= "" and #key < MIN_KEY_LENGTH then
            problem = "is shorter than " .. MIN_KEY_LENGTH .. " characters"
        elseif key ~= "" then
            found[#found + 1] = digest(key)
        end
        if problem then
            warnings[#warnings + 1] = "line " .. line_no .. " " .. problem
                .. ", ignored"
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
    local state = err or table.concat(found) .. table.concat(warnings)
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
    digests = found
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
        digests = {}
    end
end

-- 1 if `token_digest` equals one of `known`, else 0, in a time that does
-- not depend on their contents.
local function matches(token_digest, known)
    local matched = 0
    for i = 1, #known do
        local key_digest, diff = known[i], 0
        for j = 1, #key_digest do
            diff = bor(diff,
                bxor(byte(token_digest, j), byte(key_digest, j)))
        end
        -- 1 when diff == 0, else 0, without a branch: diff is 0..255, so
        -- diff - 1 has its sign bit set only when diff is 0.
        matched = bor(matched, band(rshift(diff - 1, 31), 1))
    end
    return matched
end

-- The token of the request's one `Authorization: Bearer <token>` header,
-- or nil and the reply to send.
local function bearer_token()
    -- 0: read every header, however many there are.
    local value = ngx.req.get_headers(0)["authorization"]
    if value == nil then
        return nil, MISSING
    end
    if type(value) ~= "string" then -- sent twice (nginx answers 400 first)
        return nil, MALFORMED
    end
    -- Spaces and tabs around a field value are not part of it (RFC 9110
    -- section 5.5).
    value = value:match("^[ \t]*(.-)[ \t]*$")
    local scheme, token = value:match("^([^ ]+) (.+)$")
    if not scheme or scheme:lower() ~= "bearer"
        or not token:match(TOKEN68) then
        return nil, MALFORMED
    end
    return token
end

-- The address Envoy saw the client at: the last X-Forwarded-For entry
-- (Envoy appends it, and only Envoy may reach this port), else the peer.
local function client_address()
    local forwarded = ngx.var.http_x_forwarded_for
    if forwarded then
        local last = forwarded:match("([^,]*)$"):match("^%s*(.-)%s*$")
        if last ~= "" then
            return last:sub(1, MAX_FORWARDED_ADDRESS)
        end
    end
    return ngx.var.remote_addr
end

local function refuse(status, body)
    ngx.req.discard_body()
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Content-Length"] = #body
    ngx.header["Cache-Control"] = "no-store"
    if status == 401 then
        ngx.header["WWW-Authenticate"] = "Bearer"
    end
    ngx.print(body)
    -- The reply is sent: end the request here, proxy nothing.
    return ngx.exit(ngx.HTTP_OK)
end

-- Let the request through, or answer it with 401 or 503 and end it.
function _M.check()
    local known = digests
    if #known == 0 then
        return refuse(503, NO_KEY)
    end
    local token, reply = bearer_token()
    if not token then
        return refuse(401, reply)
    end
    local token_digest = digest(token)
    if matches(token_digest, known) == 0 then
        return refuse(401, INVALID)
    end
    -- A digest: the key itself never reaches the rate-limit zone.
    if config.rate_limit_by == "key" then
        ngx.var.gemma_rate_key = token_digest
    elseif config.rate_limit_by == "client" then
        ngx.var.gemma_rate_key = client_address()
    end
end

-- The probes' `GET /health` (exactly that request line) passes; any
-- other request authenticates.
function _M.check_unless_probe()
    local method = ngx.req.get_method()
    if ngx.var.request_uri == "/health"
        and (method == "GET" or method == "HEAD") then
        return
    end
    return _M.check()
end

return _M
