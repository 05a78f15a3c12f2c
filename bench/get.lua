-- wrk script: GET with HTTP Basic credentials (the URL names the order). Prints one JSON
-- summary line. Arguments (after --): base64 of "user:password".
function init(args)
    wrk.headers["Authorization"] = "Basic " .. args[1]
end

dofile(os.getenv("BENCH_DIR") .. "/summary.lua")
