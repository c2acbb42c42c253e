#!/usr/bin/env bash
# Relay benchmarks on loopback, after scripts/demo-flow + scripts/demo-relay-part have made OUT:
#   bench/relay/run.sh OUT BUILD [SECONDS]
# 1. intake: distinct signed requests per second accepted with durability (202 after the fsync'd
#    commit), 1 and 16 concurrent connections (wrk);
# 2. HTTP serving of a 3.5 MB CRL (wrk), and nginx serving the same file in the same run;
# 3. OCSP responses per second (POST, one CertID, signed in the relay's SoftHSMv2 token).
set -euo pipefail
out=$(realpath "$1"); build=$(realpath "$2"); secs=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
rd=$out/relay work=$out/work b=$out/bench
rm -rf "$b"; mkdir -p "$b"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s/^listen = .*/listen = 127.0.0.1:$port/" -e 's/^batch_max_age = .*/batch_max_age = 100000/' \
    -e 's/^batch_max_items = .*/batch_max_items = 200000/' -e "s|^state_dir = .*|state_dir = $b/state|" "$rd/relay.conf" > "$rd/bench.conf"
printf 'rate_per_second = 1000000\nrate_burst = 1000000\nmax_queue = 10000000\n' >> "$rd/bench.conf"
"$build/relay/hanko-relay" ra-add --config "$rd/bench.conf" --name "RA operator 1" --key "$work/ra-operator-1.spki" >/dev/null
n=60000
python3 -c "
import os
for i in range(1, $n + 1): print('revoke\t%032X\tkeyCompromise' % (0x10000000 + i))" > "$b/manifest.tsv"
"$build/relay/hanko-ra" items --key "$work/ra-operator-1.key" --operator "RA operator 1" --manifest "$b/manifest.tsv" \
  --id-prefix bench --out-dir "$b/items" > /dev/null
SOFTHSM2_CONF=$rd/softhsm2.conf "$build/relay/hanko-relay" serve --config "$rd/bench.conf" > "$b/relay.log" 2>&1 &
pid=$!
# Cleanup only: the relay and nginx may already have stopped.
trap 'kill $pid 2>/dev/null || true; [ -n "${npid:-}" ] && kill $npid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
url=http://127.0.0.1:$port
echo "== intake (distinct signed items, durable 202), $secs s each"
wrk -t1 -c1 -d"${secs}s" -s "$here/intake.lua" "$url" -- "$b/items" "$n" 1 40000 | grep -E 'Requests/sec|Latency|Non-2xx'
# A measurement, not a test: show wrk's figures, and keep going to the next one if it printed none.
wrk -t2 -c16 -d"${secs}s" -s "$here/intake.lua" "$url" -- "$b/items" 40000 2 0 | grep -E 'Requests/sec|Latency|Non-2xx' || true
echo "queued in the database: $(sqlite3 "$b/state/relay.db" "select count(*) from requests where state='queued'")"
echo "== 3.5 MB CRL over HTTP"
head -c 3500000 /dev/urandom > "$b/big.bin"
docroot=$(sed -n 's/^doc_root = //p' "$rd/bench.conf"); case $docroot in /*) ;; *) docroot=$rd/$docroot ;; esac
cp "$b/big.bin" "$docroot/bench-big.crl"
wrk -t2 -c16 -d"${secs}s" "$url/bench-big.crl" | grep -E 'Requests/sec|Transfer/sec|Latency'
if command -v nginx >/dev/null; then
  nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$b/nginx"
  cat > "$b/nginx/nginx.conf" <<CONF
worker_processes 2; pid $b/nginx/nginx.pid; error_log $b/nginx/error.log; daemon off;
events { worker_connections 256; }
http { access_log off; types { application/pkix-crl crl; } sendfile on;
  client_body_temp_path $b/nginx; proxy_temp_path $b/nginx; fastcgi_temp_path $b/nginx; uwsgi_temp_path $b/nginx; scgi_temp_path $b/nginx;
  server { listen 127.0.0.1:$nport; root $docroot; } }
CONF
  nginx -c "$b/nginx/nginx.conf" -p "$b/nginx" & npid=$!
  sleep 0.5
  echo "-- nginx, same file, same run"
  wrk -t2 -c16 -d"${secs}s" "http://127.0.0.1:$nport/bench-big.crl" | grep -E 'Requests/sec|Transfer/sec|Latency'
  kill $npid; npid=
fi
echo "== OCSP (POST, one CertID)"
openssl ocsp -issuer "$out/relying-party/ca-g2.pem" -cert "$out/relying-party/suzuki.pem" -no_nonce -reqout "$b/ocsp.req" >/dev/null
cat > "$b/ocsp.lua" <<LUA
local f = io.open("$b/ocsp.req", "rb"); local body = f:read("*a"); f:close()
wrk.method = "POST"; wrk.body = body; wrk.headers["Content-Type"] = "application/ocsp-request"
LUA
wrk -t2 -c8 -d"${secs}s" -s "$b/ocsp.lua" "$url/ocsp" | grep -E 'Requests/sec|Latency'
