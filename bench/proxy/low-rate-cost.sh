#!/usr/bin/env bash
# What one request costs each proxy at the latency run's rate (1000 rps over
# 16 keep-alive connections, h2load --h1), per thread: user and system CPU
# from /proc/<pid>/task/*/stat across 10 s, and for Node targets the event
# loop's active time (performance.eventLoopUtilization) — the numbers behind
# bench/RESULTS.md, "What a request costs at 1000 rps". At this rate Node's
# own --cpu-prof counts most of the loop's active time as idle; these don't.
#
#   bench/proxy/low-rate-cost.sh [weft|floor|haproxy ...]   (default: all three)
#
# Same placement as run.mjs: the proxy alone on CPU 0; h2load, wrk and the
# nginx upstream (1 KiB, keep-alive) on CPU 1. Needs nginx, haproxy, wrk,
# h2load, taskset and the built proxy (npx nx run proxy:build).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WEFT_BIN=${WEFT_BIN:-$ROOT/packages/proxy/dist/bundle/weft-proxy.mjs}
FLAGS=$(node -p 'require(process.argv[1]).weft.nodeFlags.join(" ")' "$ROOT/packages/proxy/package.json")
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$DIR"' EXIT
LISTEN=19960 UPSTREAM=19962 ADMIN=19961

BODY=$(head -c 1023 /dev/zero | tr '\0' x)
cat > "$DIR/up.conf" <<EOF
daemon off; master_process off; worker_processes 1; error_log stderr warn; pid $DIR/up.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 10000000; keepalive_timeout 300s;
  server { listen 127.0.0.1:$UPSTREAM; location / { default_type text/plain; return 200 "$BODY\n"; } } }
EOF
cat > "$DIR/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:$LISTEN
  default_backend be
backend be
  server up 127.0.0.1:$UPSTREAM
EOF
cat > "$DIR/weft.json" <<EOF
{"node":{"id":"bench","cluster":"bench"},"admin":{"address":{"socket_address":{"address":"127.0.0.1","port_value":$ADMIN}}},
 "static_resources":{"listeners":[{"name":"bench","address":{"socket_address":{"address":"127.0.0.1","port_value":$LISTEN}},
   "filter_chains":[{"filters":[{"name":"envoy.filters.network.http_connection_manager","typed_config":{
     "@type":"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager","stat_prefix":"bench",
     "route_config":{"name":"local","virtual_hosts":[{"name":"all","domains":["*"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"upstream"}}]}]},
     "http_filters":[{"name":"envoy.filters.http.router","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]}],
  "clusters":[{"name":"upstream","type":"STATIC","connect_timeout":"1s","load_assignment":{"cluster_name":"upstream",
    "endpoints":[{"lb_endpoints":[{"endpoint":{"address":{"socket_address":{"address":"127.0.0.1","port_value":$UPSTREAM}}}}]}]}}]}}
EOF
# Prints the event loop's active and idle milliseconds every 5 s (Node targets).
cat > "$DIR/elu.mjs" <<'EOF'
import { performance } from "node:perf_hooks";
let last = performance.eventLoopUtilization();
setInterval(() => {
  const d = performance.eventLoopUtilization(last);
  last = performance.eventLoopUtilization();
  process.stderr.write(`elu ${d.active.toFixed(0)} ${d.idle.toFixed(0)}\n`);
}, 5000).unref();
EOF

taskset -c 1 nginx -c "$DIR/up.conf" -p "$DIR" -e stderr &
threads() { for t in /proc/$1/task/*; do echo "$(basename "$t") $(awk '{print $14, $15}' "$t/stat")"; done | sort; }

measure() {
  local name=$1 pid
  case $name in
    weft) env -u NODE_EXTRA_CA_CERTS taskset -c 0 node $FLAGS --import "$DIR/elu.mjs" "$WEFT_BIN" -c "$DIR/weft.json" --concurrency 1 -l warning 2> "$DIR/$name.err" & pid=$! ;;
    floor) env -u NODE_EXTRA_CA_CERTS taskset -c 0 node $FLAGS --import "$DIR/elu.mjs" "$ROOT/bench/proxy/node-floor-proxy.mjs" $LISTEN $UPSTREAM 2> "$DIR/$name.err" & pid=$! ;;
    haproxy) taskset -c 0 haproxy -f "$DIR/haproxy.cfg" 2> "$DIR/$name.err" & pid=$! ;;
    *) echo "unknown target $name (weft, floor, haproxy)" >&2; exit 2 ;;
  esac
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$LISTEN/" && break; sleep 0.2; done
  echo "[low-rate] $name: warm-up 3 s (wrk -c64), then 10 s at 1000 rps" >&2
  taskset -c 1 wrk -t1 -c64 -d3s "http://127.0.0.1:$LISTEN/" > /dev/null
  taskset -c 1 h2load --h1 -c16 -t1 --rps 62.5 -D 2 "http://127.0.0.1:$LISTEN/" > /dev/null
  threads $pid > "$DIR/t0"
  local out n
  out=$(taskset -c 1 h2load --h1 -c16 -t1 --rps 62.5 -D 10 "http://127.0.0.1:$LISTEN/")
  threads $pid > "$DIR/t1"
  n=$(echo "$out" | awk '/^requests:/{print $8}')
  join "$DIR/t0" "$DIR/t1" | awk -v name="$name" -v n="$n" '{u=($4-$2)*10000/n; s=($5-$3)*10000/n; if (u+s>0) printf "%-8s thread %-8s user %5.1f us  sys %5.1f us per request\n", name, $1, u, s}'
  kill $pid; wait $pid 2>/dev/null || true
  [ "$name" = haproxy ] || awk -v name="$name" '/^elu/{a=$2; i=$3} END {if (a+i>0) printf "%-8s event loop active %.1f %% (the last 5 s)\n", name, 100*a/(a+i)}' "$DIR/$name.err"
}

for t in "${@:-weft floor haproxy}"; do for x in $t; do measure "$x"; done; done
