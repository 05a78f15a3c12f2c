-- wrk script: plain GET (for /health, the same run's ceiling). Prints one JSON summary line.
dofile(os.getenv("BENCH_DIR") .. "/pace.lua")
dofile(os.getenv("BENCH_DIR") .. "/summary.lua")
