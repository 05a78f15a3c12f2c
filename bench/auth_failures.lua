-- wrk script: GET with a wrong password, each request from the next client address in
-- X-Forwarded-For (the server runs with CLIENT_ADDRESS_HEADER=X-Forwarded-For), so the
-- server counts failures for `rotation` distinct addresses. Prints one JSON summary line.
-- Arguments (after --): base64 of "user:wrong-password", how many addresses to rotate
-- through (0: every request a new one), the first address number.
local threads = {}

function setup(thread)
    thread:set("thread_number", #threads)
    table.insert(threads, thread)
    for _, t in ipairs(threads) do t:set("thread_count", #threads) end
end

function init(args)
    wrk.headers["Authorization"] = "Basic " .. args[1]
    rotation = tonumber(args[2])
    first = tonumber(args[3])
    counter = 0
end

function request()
    local n = first + counter * thread_count + thread_number
    counter = counter + 1
    if rotation > 0 then n = n % rotation end
    wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
        .. (n >= 16777216 and string.format("-%d", math.floor(n / 16777216)) or "")
    return wrk.format()
end

dofile(os.getenv("BENCH_DIR") .. "/summary.lua")
