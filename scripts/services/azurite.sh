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

NAME=azurite.sh
SERVER=Azurite
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
INSTANCE="${2:-default}"
[[ "$INSTANCE" =~ ^[A-Za-z0-9_-]+$ ]] || { echo "azurite.sh: bad instance name '$INSTANCE'" >&2; exit 2; }
STATE="${HBR_SERVICES_DIR:-$ROOT/.cache/services}/azurite-$INSTANCE"
BIN="$ROOT/node_modules/.bin/azurite-blob"
# The well-known development account every Azurite has (public, documented by Microsoft).
ACCOUNT=devstoreaccount1
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

source "$ROOT/scripts/services/lib.sh"

answers() {
  local port
  port="$(cat "$STATE/port" 2>/dev/null)" || return 1
  # Any HTTP status means the server is up; curl exits non-zero only without a response.
  curl -s -o /dev/null -m 2 "http://127.0.0.1:$port/$ACCOUNT?comp=list"
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

prepare() {
  [[ -x "$BIN" ]] || { echo "azurite.sh: $BIN missing: run npm install" >&2; exit 1; }
}

launch() {
  mkdir -p "$STATE/data"
  # --skipApiVersionCheck: Azurite 3.35 (last for Node 20) predates the API version that
  # @azure/storage-blob 12.32 sends. --loose accepts headers Azurite does not implement.
  setsid nohup "$BIN" --skipApiVersionCheck --disableTelemetry --loose \
    --location "$STATE/data" --blobHost 127.0.0.1 --blobPort "$(cat "$STATE/port")" \
    >"$STATE/log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE/pid"
}

service_main "$@"
