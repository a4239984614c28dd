#!/usr/bin/env bash
# Azurite (Microsoft's Azure Storage emulator, blob service only) for hbr's tests, from npm.
#
# Usage: scripts/services/azurite.sh start|stop|kill|status|env|clean [INSTANCE]
#   start   start it on 127.0.0.1 (a free port, kept for restarts) unless already running;
#           waits until it answers HTTP, then prints the same lines as `env`
#   stop    stop it (SIGTERM); data stays for the next start
#   kill    SIGKILL, to simulate a crashed store; data stays
#   status  exit 0 and print "running PORT" if it answers, else print "stopped" and exit 1
#   env     print KEY='value' lines (source-able) describing the running instance
#   clean   stop it and remove its data
# INSTANCE (default "default") names an independent server with its own port and data, so a
# test that kills its store does not disturb others.
# State lives in $HBR_SERVICES_DIR (default: <repo>/.cache/services)/azurite-INSTANCE.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
INSTANCE="${2:-default}"
[[ "$INSTANCE" =~ ^[A-Za-z0-9_-]+$ ]] || { echo "azurite.sh: bad instance name '$INSTANCE'" >&2; exit 2; }
STATE="${HBR_SERVICES_DIR:-$ROOT/.cache/services}/azurite-$INSTANCE"
BIN="$ROOT/node_modules/.bin/azurite-blob"
# The well-known development account every Azurite has (public, documented by Microsoft).
ACCOUNT=devstoreaccount1
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

mkdir -p "$STATE"

# Alive and not a zombie: a killed server lingers as a zombie until init reaps it.
alive() { kill -0 "$1" 2>/dev/null && [[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]]; }
pid_alive() { [[ -f "$STATE/pid" ]] && alive "$(cat "$STATE/pid")"; }

answers() {
  local port
  port="$(cat "$STATE/port" 2>/dev/null)" || return 1
  # Any HTTP status means the server is up; curl exits non-zero only without a response.
  curl -s -o /dev/null -m 2 "http://127.0.0.1:$port/$ACCOUNT?comp=list"
}

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

port_free() {
  node -e "const s=require('net').createServer();s.once('error',()=>process.exit(1));s.listen(+process.argv[1],'127.0.0.1',()=>s.close())" "$1"
}

print_env() {
  local port url
  port="$(cat "$STATE/port")"
  url="http://127.0.0.1:$port/$ACCOUNT"
  cat <<EOF
AZURITE_BLOB_PORT='$port'
AZURITE_BLOB_URL='$url'
AZURE_STORAGE_ACCOUNT='$ACCOUNT'
AZURE_STORAGE_KEY='$KEY'
AZURE_STORAGE_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$KEY;BlobEndpoint=$url;'
HBR_AZURE_ENDPOINT='$url'
EOF
}

stop_with() {
  local signal="$1"
  if pid_alive; then
    local pid
    pid="$(cat "$STATE/pid")"
    # The server runs in its own session: signal the whole group (node wrapper and children).
    kill "-$signal" -- "-$pid" 2>/dev/null || kill "-$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$STATE/pid"
}

start() {
  if pid_alive && answers; then print_env; return 0; fi
  stop_with TERM
  [[ -x "$BIN" ]] || { echo "azurite.sh: $BIN missing: run npm install" >&2; exit 1; }
  # Keep the previous port so a restarted server is found by clients that already know it.
  if [[ ! -f "$STATE/port" ]] || ! port_free "$(cat "$STATE/port")"; then free_port >"$STATE/port"; fi
  local port
  port="$(cat "$STATE/port")"
  mkdir -p "$STATE/data"
  # --skipApiVersionCheck: Azurite 3.35 (last for Node 20) predates the API version that
  # @azure/storage-blob 12.32 sends. --loose accepts headers Azurite does not implement.
  setsid nohup "$BIN" --skipApiVersionCheck --disableTelemetry --loose \
    --location "$STATE/data" --blobHost 127.0.0.1 --blobPort "$port" \
    >"$STATE/log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE/pid"
  for _ in $(seq 1 300); do
    if answers; then print_env; return 0; fi
    pid_alive || break
    sleep 0.1
  done
  echo "azurite.sh: Azurite did not start on 127.0.0.1:$port; last log lines:" >&2
  tail -n 20 "$STATE/log" >&2 || true
  stop_with KILL
  exit 1
}

# One start/stop at a time per instance: parallel test files may call start together.
exec 9>"$STATE/lock"
flock 9

case "${1:-}" in
  start) start ;;
  stop) stop_with TERM ;;
  kill) stop_with KILL ;;
  status)
    if pid_alive && answers; then echo "running $(cat "$STATE/port")"; else echo stopped; exit 1; fi ;;
  env)
    if pid_alive && answers; then print_env; else echo "azurite.sh: not running" >&2; exit 1; fi ;;
  clean) stop_with TERM; rm -rf "$STATE/data" "$STATE/log" "$STATE/port" ;;
  *) echo "usage: $0 start|stop|kill|status|env|clean [INSTANCE]" >&2; exit 2 ;;
esac
