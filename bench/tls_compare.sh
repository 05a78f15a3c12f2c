#!/usr/bin/env bash
# HTTPS beside plain HTTP (issue 16): GET /health and POST /webhook/messages with wrk on
# loopback, the same binary started once without and once with TLS_CERT_PATH/TLS_KEY_PATH
# (a P-256 certificate made here by openssl), rounds alternating http, https, http, https.
# wrk speaks HTTP/1.1 over TLS (it offers no ALPN), keep-alive, so after the handshakes this
# measures TLS record cost, not handshakes.
#   bench/tls_compare.sh BINARY [SECONDS=10] [CONNECTIONS=32]
set -euo pipefail
binary="$(realpath "$1")"; seconds="${2:-10}"; connections="${3:-32}"
cd "$(dirname "$0")"
export BENCH_DIR="$PWD"
work="$(mktemp -d)"; pid=""
# A failed round must not leave its server running.
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; rm -rf "$work"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
chmod 600 "$work/key.pem"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
credentials="$(printf 'bench:bench-pass' | base64)"
round() {  # mode, round number
    local mode=$1 scheme=http tls=()
    [ "$mode" = https ] && scheme=https && tls=(TLS_CERT_PATH="$work/cert.pem" TLS_KEY_PATH="$work/key.pem")
    rm -f "$work"/messages.sqlite*
    env -i PATH=/usr/bin:/bin HOST=127.0.0.1 PORT="$port" WEBHOOK_USERNAME=bench WEBHOOK_PASSWORD=bench-pass \
        SQLITE_PATH="$work/messages.sqlite" LOG_LEVEL=info "${tls[@]}" "$binary" serve >"$work/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 200); do curl -ksf "$scheme://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done
    for scenario in health post; do
        local line
        line=$(wrk -t2 -c"$connections" -d"${seconds}s" -s "$scenario.lua" "$scheme://127.0.0.1:$port/health" -- "r$2$mode" "$credentials" \
            | grep WRK_SUMMARY | sed 's/^WRK_SUMMARY //')
        python3 - "$mode" "$2" "$scenario" "$line" <<'PY'
import json, sys
mode, number, scenario, line = sys.argv[1:5]
s = json.loads(line)
errors = s["errors_connect"] + s["errors_read"] + s["errors_write"] + s["errors_timeout"]
print(f"{mode:5} round {number} {scenario:6} {s['requests'] * 1e6 / s['duration_us']:9.0f} req/s  "
      f"p50 {s['p50_us'] / 1000:.2f} ms  p99 {s['p99_us'] / 1000:.2f} ms  non-2xx {s['errors_status']}  errors {errors}")
PY
    done
    kill -TERM "$pid"; wait "$pid" || true
    pid=""
}
for n in 1 2; do round http "$n"; round https "$n"; done
