-- wrk script: GET a page of the change feed after a random one of the cursors listed in a
-- file (one a line), with HTTP Basic credentials. Prints one JSON summary line.
-- Arguments (after --): base64 of "user:password", the cursors file, the page's limit.
function init(args)
    headers = { ["Authorization"] = "Basic " .. args[1] }
    cursors = {}
    for line in io.lines(args[2]) do
        if #line > 0 then table.insert(cursors, line) end
    end
    limit = args[3]
    math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

function request()
    local cursor = cursors[math.random(#cursors)]
    return wrk.format("GET", "/webhook/feed?after=" .. cursor .. "&limit=" .. limit, headers)
end

dofile(os.getenv("BENCH_DIR") .. "/summary.lua")
