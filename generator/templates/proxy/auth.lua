-- Bearer-key check for the auth proxy. Fails closed: no key configured means no access.
local _M = {}

local config = { key_file = nil, reload_seconds = 30 }
local keys, loaded_at = nil, 0

function _M.configure(opts)
    config.key_file = opts.key_file
    config.reload_seconds = opts.reload_seconds
end

local function read_keys()
    local f = io.open(config.key_file, "r")
    if not f then return {} end
    local out = {}
    for line in f:lines() do
        local key = line:match("^%s*(.-)%s*$")
        if key ~= "" then out[#out + 1] = key end
    end
    f:close()
    return out
end

local function current_keys()
    local now = ngx.now()
    if keys == nil or now - loaded_at >= config.reload_seconds then
        keys, loaded_at = read_keys(), now
    end
    return keys
end

local function reject(status, message, code)
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    if status == 401 then ngx.header["WWW-Authenticate"] = "Bearer" end
    ngx.say(string.format('{"error":{"message":"%s","type":"invalid_request_error","code":"%s"}}', message, code))
    return ngx.exit(status)
end

function _M.check()
    local known = current_keys()
    if #known == 0 then
        return reject(503, "the proxy has no API key configured", "no_api_key_configured")
    end
    local header = ngx.var.http_authorization or ""
    local token = header:match("^Bearer (.+)$")
    if token then
        for _, key in ipairs(known) do
            if token == key then return end
        end
    end
    return reject(401, "invalid or missing API key", "invalid_api_key")
end

return _M
