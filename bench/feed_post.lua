-- wrk script: POST a unique, valid webhook on every request, spread over a fixed set of
-- orders (the orders the feed benchmark's subscribers follow), with HTTP Basic credentials.
-- Request n of thread t goes to order (n * threads + t) mod orders, so each order gets the
-- same share. Prints one JSON summary line.
-- Arguments (after --): run id (the orders are QO-FEED-<run id>-<k>), base64 of
-- "user:password", how many orders.
local threads = {}

function setup(thread)
    thread:set("thread_number", #threads)
    thread:set("thread_count", 0)
    table.insert(threads, thread)
    for _, t in ipairs(threads) do t:set("thread_count", #threads) end
end

function init(args)
    run_id = args[1]
    headers = {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Basic " .. args[2],
    }
    orders = tonumber(args[3])
    counter = 0
end

function request()
    counter = counter + 1
    local order = string.format("QO-FEED-%s-%d", run_id, (counter * thread_count + thread_number) % orders)
    local body = string.format(
        '{"order_id":"%s","message_id":"MSG-%d-%d","order_number":"ORD-2025-%d",' ..
        '"from_name":"John Smith","text":"Closing documents are ready for review. Please sign by Friday.",' ..
        '"created_date":"2025-10-28T10:30:00Z","read":false,' ..
        '"attachments":[{"_id":"ATT-%d","name":"document.pdf","url":"https://example.com/files/document.pdf","tag":"contract"}],' ..
        '"message_type":"message.received","timestamp":"2025-10-28T10:30:00Z"}',
        order, thread_number, counter, counter, counter)
    return wrk.format("POST", "/webhook/messages", headers, body)
end

dofile(os.getenv("BENCH_DIR") .. "/summary.lua")
