-- The auth proxy's own Prometheus metrics, counted by every worker in the
-- shared dictionary `gemma_metrics` and served on the metrics port in the
-- text exposition format, version 0.0.4
-- (prometheus.io/docs/instrumenting/exposition_formats).
--
-- Every series exists from the start, at 0, so a rate() sees the first
-- increment, and no other series can appear: each label value comes from a
-- fixed set known when nginx starts (the endpoint groups below, five status
-- classes, the refusal names of auth.lua and of nginx.conf's error pages,
-- `stream` true or false). No label carries a key, an address, a path
-- beyond its group or anything else a client wrote; `serve` names every
-- series itself and never lists the dictionary.
--
-- Where each is counted:
--   log()          the log phase of every request on the API port, in
--                  the location it ended in (error pages included):
--                  requests by group and status class, refusals by the
--                  reason the access log names, upstream errors and
--                  timeouts, the latency histograms of proxied calls,
--                  llama-server's readiness as the probes' /health last
--                  saw it.
--   body_filter()  the first byte of a response body: the time to first
--                  byte (for a stream, its first event: the first token)
--                  and the streams open. Not in the GET endpoints'
--                  locations (WHOLE below): answered in one piece, their
--                  first byte is timed with their last, in log().
--   keys_read()    every reload of the key file (auth.lua calls it).
-- Everything here does nothing when the dictionary is not declared
-- (metrics.enabled false), so auth.lua can always call it.
--
-- A request's counts go to a table of its worker's, added to the
-- dictionary every SYNC_SECONDS and before a scrape this worker serves:
-- no lock on the request's path (the dictionary's is shared by every
-- worker), at the price of a scrape seeing another worker's counts up to
-- SYNC_SECONDS late (knyar/nginx-lua-prometheus counts the same way, for
-- the same reason). Gauges a request sets are written at once.
--
-- APIs: lua-nginx-module's ngx.shared.DICT (incr with an initial value,
-- add, get, set), ngx.timer.every and ngx.* of the phases named above.
local format = string.format
local floor, min, max, concat = math.floor, math.min, math.max, table.concat

local _M = {}

local PREFIX = "gemma_proxy_"
-- The API's paths, each its own group; /health is the probes'. A path
-- proxy.allowedEndpoints opens is "extra", anything else "other".
local GROUP_OF = {
    ["/v1/chat/completions"] = "chat", ["/v1/completions"] = "completions",
    ["/v1/embeddings"] = "embeddings", ["/v1/models"] = "models",
    ["/slots"] = "slots", ["/health"] = "health",
}
-- Groups whose locations in nginx.conf have no body filter (the GET
-- endpoints: one piece, never a stream): their first byte is timed in the
-- log phase, with their last, and ngx.ctx is never touched for them.
local WHOLE = { models = true, slots = true }
local GROUPS = { "chat", "completions", "embeddings", "models", "slots",
    "health", "extra", "other" }
local CLASSES = { "1xx", "2xx", "3xx", "4xx", "5xx" }
-- Upper bounds in seconds, for both histograms: a cached prompt's first
-- token in milliseconds, a long prompt on CPU in minutes.
local BUCKETS = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    30, 60, 120, 300, 600 }
local HISTOGRAMS = {
    { "request_duration_seconds", "d",
        "Time from a proxied API request's first byte to its last byte"
            .. " sent" },
    { "time_to_first_byte_seconds", "t",
        "Time from a proxied API request's first byte to the first byte"
            .. " of its response body (a stream's first event: its first"
            .. " token)" },
}

local SYNC_SECONDS = 0.2
local dict = nil -- ngx.shared.gemma_metrics, when metrics are on
local pending = {} -- per worker: dictionary key -> increment not yet added
local reasons = {} -- the sorted refusal names (label values)
local refusal_key = {} -- reason -> dictionary key
local upstream_kind = {} -- nginx's error-page reason -> upstream error kind
local UPSTREAM_KINDS = { "error", "timeout" }
local extra_paths = {} -- paths proxy.allowedEndpoints opens
local started = 0 -- when nginx started, for a key file never read
local first_reload = nil -- per worker: when it first read the key file

-- Dictionary keys, built once: a request's counting joins no strings.
local REQUEST_KEY = {} -- group -> status class index -> key
for _, group in ipairs(GROUPS) do
    REQUEST_KEY[group] = {}
    for i, class in ipairs(CLASSES) do
        REQUEST_KEY[group][i] = "r|" .. group .. "|" .. class
    end
end
local function histogram_keys(stream)
    local keys = {}
    for _, h in ipairs(HISTOGRAMS) do
        local bounds = { sum = h[2] .. "|" .. stream .. "|sum" }
        for i = 1, #BUCKETS + 1 do
            bounds[i] = h[2] .. "|" .. stream .. "|" .. i
        end
        keys[h[2]] = bounds
    end
    return keys
end
local PLAIN_KEYS, STREAM_KEYS = histogram_keys("0"), histogram_keys("1")

local function initialize(key)
    dict:add(key, 0)
end

local function count(key, n)
    pending[key] = (pending[key] or 0) + n
end

-- Add this worker's pending increments to the dictionary.
local function flush()
    for key, n in pairs(pending) do
        dict:incr(key, n, 0)
        pending[key] = nil
    end
end

-- Called from init_worker_by_lua in every worker: flush on a timer (and
-- once more when the worker exits: a premature run). Without the timer,
-- counts go to the dictionary at once.
function _M.start()
    if not dict then
        return
    end
    local ok, err = ngx.timer.every(SYNC_SECONDS, flush)
    if not ok then
        ngx.log(ngx.ERR, "metrics: cannot schedule flushes (", err,
            "): counting in the shared dictionary directly")
        count = function(key, n)
            dict:incr(key, n, 0)
        end
    end
end

-- Called once from init_by_lua, after auth.configure: the refusal names of
-- nginx.conf's error pages, which of them are upstream failures, and the
-- API's paths. Every series is created at 0 (`add` keeps a count across a
-- reload of the configuration).
function _M.configure(opts)
    dict = ngx.shared.gemma_metrics
    if not dict then
        return
    end
    local auth = require("auth")
    local names = {}
    for _, name in ipairs(auth.refusal_names()) do
        names[name] = true
    end
    for _, name in ipairs(opts.reasons) do
        names[name] = true
    end
    for name, kind in pairs(opts.upstream) do
        names[name] = nil
        upstream_kind[name] = "u|" .. kind
    end
    names.other = true -- a reason this list missed (a bug) is still counted
    for name in pairs(names) do
        reasons[#reasons + 1] = name
        refusal_key[name] = "f|" .. name
    end
    table.sort(reasons)
    for _, path in ipairs(opts.endpoints) do
        if not GROUP_OF[path] then
            extra_paths[path] = true
        end
    end
    started = ngx.now()
    for _, group in ipairs(GROUPS) do
        for _, class in ipairs(CLASSES) do
            initialize("r|" .. group .. "|" .. class)
        end
    end
    for _, name in ipairs(reasons) do
        initialize(refusal_key[name])
    end
    for _, kind in ipairs(UPSTREAM_KINDS) do
        initialize("u|" .. kind)
    end
    for _, h in ipairs(HISTOGRAMS) do
        for _, stream in ipairs({ "0", "1" }) do
            for i = 1, #BUCKETS + 1 do
                initialize(h[2] .. "|" .. stream .. "|" .. i)
            end
            initialize(h[2] .. "|" .. stream .. "|sum")
        end
    end
    for _, key in ipairs({ "streams", "ready", "key_failures" }) do
        initialize(key)
    end
    auth.watch_reloads(_M.keys_read)
end

-- A reload of the key file in this worker: how many usable keys it holds
-- now, and whether the read succeeded (a readable file with a usable key).
function _M.keys_read(keys, ok)
    if not dict then
        return
    end
    local worker, now = ngx.worker.id() or 0, ngx.now()
    first_reload = first_reload or now
    dict:set("keys|" .. worker, keys)
    dict:add("first|" .. worker, first_reload)
    if ok then
        dict:set("read|" .. worker, now)
    else
        count("key_failures", 1)
    end
end

local function bucket(seconds)
    for i = 1, #BUCKETS do
        if seconds <= BUCKETS[i] then
            return i
        end
    end
    return #BUCKETS + 1
end

local function observe(keys, seconds)
    count(keys[bucket(seconds)], 1)
    count(keys.sum, seconds)
end

-- The body filter of the API locations (not of the probe's or the error
-- pages'): the first non-empty piece of a successful proxied response's
-- body is its first byte; a text/event-stream response is an open stream
-- from then until its log phase. Only a 200 is llama-server's here (the
-- proxy refuses with 4xx, 5xx or a preflight's 204), so a refusal costs one
-- status check. This runs for every piece of every body (and a refusal's
-- end), so the cheap checks come first: the status, then whether this
-- request saw its first byte already, and only then ngx.arg[1], which
-- copies the piece into a Lua string.
function _M.body_filter()
    if ngx.status ~= 200 or not dict then
        return
    end
    local ctx = ngx.ctx
    if ctx.first_byte then
        return
    end
    local chunk = ngx.arg[1]
    if chunk == nil or chunk == "" then
        return
    end
    ctx.first_byte = ngx.now()
    local kind = ngx.var.upstream_http_content_type
    if kind and kind:sub(1, 17) == "text/event-stream" then
        ctx.stream = true
        count("streams", 1)
    end
end

-- The group of a raw path (its query string already cut off).
local function group_of(path)
    return GROUP_OF[path] or (extra_paths[path] and "extra") or "other"
end

-- The log phase of every request on the API port. The latency histograms
-- take llama-server's successful answers (200; not the probe's).
-- Every ngx.* read here is a call into nginx, paid on every request
-- (bench/, issue 15: the budget is 10% of a refusal's CPU), so each is
-- read once and only where needed: the path is nginx.conf's
-- $request_path, the one the access log writes anyway (a map, evaluated
-- once per request and cached), not $request_uri cut in Lua; ngx.ctx,
-- which creates a table on first use, only for a proxied 200.
function _M.log()
    if not dict then
        return
    end
    local status = ngx.status
    if status < 100 then
        status = tonumber(ngx.var.status) or 500
    end
    local group = group_of(ngx.var.request_path)
    count(REQUEST_KEY[group][min(max(floor(status / 100), 1), 5)], 1)
    -- A refusal or an upstream error is never a 200 (the proxy refuses
    -- with 4xx or 5xx, an error page keeps its status): a 200 skips
    -- $gemma_reason.
    if status ~= 200 then
        local reason = ngx.var.gemma_reason
        if reason ~= nil and reason ~= "" then
            local upstream = upstream_kind[reason]
            count(upstream or refusal_key[reason] or refusal_key.other, 1)
            if upstream and group == "health" then
                dict:set("ready", 0)
            end
        elseif group == "health" then
            dict:set("ready", 0)
        end
        return
    end
    if group == "health" then
        dict:set("ready", 1)
        return
    end
    local now, start = ngx.now(), ngx.req.start_time()
    if WHOLE[group] then
        observe(PLAIN_KEYS.d, now - start)
        observe(PLAIN_KEYS.t, now - start)
        return
    end
    local ctx = ngx.ctx
    local keys = PLAIN_KEYS
    if ctx.stream then
        keys = STREAM_KEYS
        count("streams", -1)
    end
    observe(keys.d, now - start)
    observe(keys.t, (ctx.first_byte or now) - start)
end

-- Exposition ------------------------------------------------------------

local function number(value)
    return format("%.14g", value or 0)
end

local function header(out, name, kind, help)
    out[#out + 1] = "# HELP " .. PREFIX .. name .. " " .. help .. "\n"
    out[#out + 1] = "# TYPE " .. PREFIX .. name .. " " .. kind .. "\n"
end

local function sample(out, name, labels, value)
    out[#out + 1] = PREFIX .. name .. labels .. " " .. number(value) .. "\n"
end

local function requests(out)
    header(out, "requests_total", "counter", "Requests on the API port, by"
        .. " endpoint group and status class (the probes' /health is"
        .. " group health)")
    for _, group in ipairs(GROUPS) do
        for _, class in ipairs(CLASSES) do
            sample(out, "requests_total", '{group="' .. group
                .. '",status="' .. class .. '"}',
                dict:get("r|" .. group .. "|" .. class))
        end
    end
    header(out, "refusals_total", "counter", "Requests the proxy answered"
        .. " itself, by the reason its access log names")
    for _, name in ipairs(reasons) do
        sample(out, "refusals_total", '{reason="' .. name .. '"}',
            dict:get(refusal_key[name]))
    end
    header(out, "upstream_errors_total", "counter", "Requests llama-server"
        .. " did not answer: error (502: refused, reset or malformed) or"
        .. " timeout (504)")
    for _, kind in ipairs(UPSTREAM_KINDS) do
        sample(out, "upstream_errors_total", '{kind="' .. kind .. '"}',
            dict:get("u|" .. kind))
    end
end

local function histograms(out)
    for _, h in ipairs(HISTOGRAMS) do
        local name, short = h[1], h[2]
        header(out, name, "histogram", h[3])
        for _, stream in ipairs({ "0", "1" }) do
            local key = short .. "|" .. stream .. "|"
            local label = stream == "1" and "true" or "false"
            local total = 0
            for i = 1, #BUCKETS + 1 do
                total = total + (dict:get(key .. i) or 0)
                local le = BUCKETS[i] and number(BUCKETS[i]) or "+Inf"
                sample(out, name .. "_bucket", '{stream="' .. label
                    .. '",le="' .. le .. '"}', total)
            end
            sample(out, name .. "_sum", '{stream="' .. label .. '"}',
                dict:get(key .. "sum"))
            sample(out, name .. "_count", '{stream="' .. label .. '"}',
                total)
        end
    end
end

local function key_file(out)
    local fewest, oldest, now = nil, nil, ngx.now()
    -- Only workers that read the file once: one still starting serves
    -- nothing yet, and would read as 0 keys for a moment after every start.
    for worker = 0, ngx.worker.count() - 1 do
        local keys = dict:get("keys|" .. worker)
        if keys then
            fewest = math.min(fewest or keys, keys)
            local read = dict:get("read|" .. worker)
                or dict:get("first|" .. worker)
            oldest = math.max(oldest or 0, now - read)
        end
    end
    fewest, oldest = fewest or 0, oldest or now - started
    header(out, "keys_loaded", "gauge", "Usable keys in the key file, in"
        .. " the worker holding the fewest (0: it refuses every request"
        .. " with 503)")
    sample(out, "keys_loaded", "", fewest)
    header(out, "key_file_seconds_since_success", "gauge", "Seconds since a"
        .. " worker last read the key file and found a usable key (the"
        .. " oldest of the workers; since start if never)")
    sample(out, "key_file_seconds_since_success", "", oldest)
    header(out, "key_reload_failures_total", "counter", "Reloads of the"
        .. " key file that found it missing, unreadable or without a usable"
        .. " key")
    sample(out, "key_reload_failures_total", "", dict:get("key_failures"))
end

-- The content of GET /metrics on the metrics port.
function _M.serve()
    flush()
    local out = {}
    requests(out)
    histograms(out)
    header(out, "active_streams", "gauge", "Streamed responses (server-sent"
        .. " events) being sent now")
    sample(out, "active_streams", "", dict:get("streams"))
    header(out, "upstream_ready", "gauge", "1 when the probes' last GET"
        .. " /health got 200 from llama-server, else 0")
    sample(out, "upstream_ready", "", dict:get("ready"))
    key_file(out)
    local body = concat(out)
    ngx.header["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    ngx.header["Content-Length"] = #body
    ngx.header["Cache-Control"] = "no-store"
    if ngx.req.get_method() ~= "HEAD" then
        ngx.print(body)
    end
end

-- The rewrite phase of the metrics port: GET or HEAD, without a body (one
-- announced gets 400; nginx discards it without keeping a byte).
function _M.gate()
    local method = ngx.req.get_method()
    if method ~= "GET" and method ~= "HEAD" then
        return ngx.exit(ngx.HTTP_NOT_ALLOWED)
    end
    if ngx.var.http_content_length or ngx.var.http_transfer_encoding then
        return ngx.exit(ngx.HTTP_BAD_REQUEST)
    end
end

return _M
