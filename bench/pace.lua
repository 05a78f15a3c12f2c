-- Optional pacing for a wrk script: with BENCH_PACE_MS set, each connection waits that many
-- milliseconds before each request, so a run holds a chosen rate (connections / pace) instead
-- of the highest one. Used to compare CPU per request at the rate a slow upstream allows.
local pace = tonumber(os.getenv("BENCH_PACE_MS") or "")
if pace and pace > 0 then
    function delay()
        return pace
    end
end
