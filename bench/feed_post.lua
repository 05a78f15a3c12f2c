-- wrk script: POST a unique, valid webhook on every request, spread over a fixed set of
-- orders (the orders the feed benchmark's subscribers follow), with HTTP Basic credentials.
-- Request n of thread t goes to order (n * threads + t) mod orders, so each order gets the
-- same share. Prints one JSON summary line.
-- Arguments (after --): run id (the orders are QO-FEED-<run id>-<k>), base64 of
-- "user:password", how many orders, how many threads wrk runs (-t).
-- (wrk starts each thread as soon as its setup returns, so a thread's values may be set only
-- in its own setup: the thread count comes as an argument.)
local threads = 0

function setup(thread)
    thread:set("thread_number", threads)
    threads = threads + 1
end

function init(args)
    run_id = args[1]
    headers = {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Basic " .. args[2],
    }
    orders = tonumber(args[3])
    thread_count = tonumber(args[4])
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
