-- wrk script: PATCH the read status of random messages of one order (MSG-00000 to
-- MSG-{COUNT-1}), alternating true and false, so every request is a real, durable change.
-- Arguments (after --): base64 of "user:password", the order id, COUNT.
function init(args)
    headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Basic " .. args[1] }
    order = args[2]
    count = tonumber(args[3])
    counter = 0
end

function request()
    counter = counter + 1
    local n = math.random(0, count - 1)
    local kind = (n % 3 == 0) and "message.sent" or "message.received"
    local body = (counter % 2 == 0) and '{"read":true}' or '{"read":false}'
    return wrk.format("PATCH", string.format("/webhook/messages/%s/%s/MSG-%05d", order, kind, n), headers, body)
end

dofile(os.getenv("BENCH_DIR") .. "/summary.lua")
