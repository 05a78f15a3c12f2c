-- wrk script: POST a unique, valid webhook on every request, as bench/post.lua does (10
-- messages per order, each thread in its own orders), each carrying one attachment whose URL
-- is the one given, so that with ATTACHMENT_ALLOWED_HOSTS set every POST makes an archive job.
-- Prints one JSON summary line.
-- Arguments (after --): run id, base64 of "user:password", the attachment's URL.
local threads = {}

function setup(thread)
    thread:set("thread_number", #threads + 1)
    table.insert(threads, thread)
end

function init(args)
    run_id = args[1]
    headers = {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Basic " .. args[2],
    }
    url = args[3]
    counter = 0
end

function request()
    counter = counter + 1
    local order = string.format("QO-ATT-%s-%d-%d", run_id, thread_number, math.floor(counter / 10))
    local body = string.format(
        '{"order_id":"%s","message_id":"MSG-%d","order_number":"ORD-2025-%d",' ..
        '"from_name":"John Smith","text":"Closing documents are ready for review. Please sign by Friday.",' ..
        '"created_date":"2025-10-28T10:30:00Z","read":false,' ..
        '"attachments":[{"_id":"ATT-%d","name":"document.pdf","url":"%s","tag":"contract"}],' ..
        '"message_type":"message.received","timestamp":"2025-10-28T10:30:00Z"}',
        order, counter, counter, counter, url)
    return wrk.format("POST", "/webhook/messages", headers, body)
end

dofile(os.getenv("BENCH_DIR") .. "/summary.lua")
