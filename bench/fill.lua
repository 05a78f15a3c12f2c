-- wrk script: fills a store through the API. Each thread POSTs messages numbered from its own
-- range, wrapping after COUNT per thread, so a run long enough stores exactly
-- threads x COUNT messages (a wrapped request is a duplicate delivery and changes nothing).
-- Arguments (after --): base64 of "user:password", mode ("orders": every message in its own
-- order; "order": all in one order), the order prefix, COUNT per thread.
local threads = {}

function setup(thread)
    thread:set("thread_number", #threads + 1)
    table.insert(threads, thread)
end

function init(args)
    headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Basic " .. args[1] }
    mode = args[2]
    prefix = args[3]
    count = tonumber(args[4])
    counter = 0
end

function request()
    local n = (thread_number - 1) * count + counter % count
    counter = counter + 1
    local order = prefix
    if mode == "orders" then order = string.format("%s-%07d", prefix, n) end
    local seconds = n % 86400
    local body = string.format(
        '{"order_id":"%s","message_id":"MSG-%05d","order_number":"ORD-%d","from_name":"John Smith",' ..
        '"text":"Closing documents are ready for review. Please sign by Friday.","created_date":"2025-10-28T10:30:00Z",' ..
        '"read":false,"message_type":"%s","timestamp":"2025-10-%02dT%02d:%02d:%02dZ"}',
        order, n, n, (n % 3 == 0) and "message.sent" or "message.received",
        1 + math.floor(n / 86400) % 28, math.floor(seconds / 3600), math.floor(seconds / 60) % 60, seconds % 60)
    return wrk.format("POST", "/webhook/messages", headers, body)
end

dofile(os.getenv("BENCH_DIR") .. "/summary.lua")
