-- wrk script: GET a random one of the request paths listed in a file (one a line; search
-- queries, each already URL-encoded), with HTTP Basic credentials. Prints one JSON summary line.
-- Arguments (after --): base64 of "user:password", the paths file.
function init(args)
    headers = { ["Authorization"] = "Basic " .. args[1] }
    paths = {}
    for line in io.lines(args[2]) do
        if #line > 0 then table.insert(paths, line) end
    end
    math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

function request()
    return wrk.format("GET", paths[math.random(#paths)], headers)
end

dofile(os.getenv("BENCH_DIR") .. "/summary.lua")
