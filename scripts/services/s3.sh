#!/usr/bin/env bash
# An S3-compatible server for hbr's tests: s3proxy (org.gaul:s3proxy from Maven Central) with the
# jclouds filesystem backend, on 127.0.0.1 with fixed test credentials.
#
# Usage: scripts/services/s3.sh start|stop|kill|status|env|clean [INSTANCE]
#   start   fetch the jar once (mvn dependency:get into ~/.m2), start the server on a free port
#           (kept for restarts) unless already running, wait until it answers, print `env`
#   stop    stop it (SIGTERM); data stays      kill    SIGKILL; data stays
#   status  exit 0 and print "running PORT" if it answers, else print "stopped" and exit 1
#   env     print KEY='value' lines (source-able): endpoint, region and credentials
#   clean   stop it and remove its data
# S3PROXY_VERSION overrides the version (4.1.0 is built for Java 17 and runs on this JDK 17).
# State lives in $HBR_SERVICES_DIR (default: <repo>/.cache/services)/s3proxy-INSTANCE.
set -euo pipefail

NAME=s3.sh
SERVER=s3proxy
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
INSTANCE="${2:-default}"
[[ "$INSTANCE" =~ ^[A-Za-z0-9_-]+$ ]] || { echo "s3.sh: bad instance name '$INSTANCE'" >&2; exit 2; }
STATE="${HBR_SERVICES_DIR:-$ROOT/.cache/services}/s3proxy-$INSTANCE"
VERSION="${S3PROXY_VERSION:-4.1.0}"
M2="${HBR_M2_REPOSITORY:-$HOME/.m2/repository}"
JAR="$M2/org/gaul/s3proxy/$VERSION/s3proxy-$VERSION-jar-with-dependencies.jar"
# Test-only credentials; the server listens on loopback only.
IDENTITY=hbr-test
SECRET=hbr-test-secret-key
REGION=us-east-1

source "$ROOT/scripts/services/lib.sh"

answers() {
  local port
  port="$(cat "$STATE/port" 2>/dev/null)" || return 1
  # Any HTTP status (403 without credentials) means the server is up.
  curl -s -o /dev/null -m 2 "http://127.0.0.1:$port/"
}

print_env() {
  local port
  port="$(cat "$STATE/port")"
  cat <<EOF
S3PROXY_PORT='$port'
HBR_S3_ENDPOINT='http://127.0.0.1:$port'
AWS_ACCESS_KEY_ID='$IDENTITY'
AWS_SECRET_ACCESS_KEY='$SECRET'
AWS_REGION='$REGION'
EOF
}

fetch_jar() {
  [[ -s "$JAR" ]] && return 0
  command -v mvn >/dev/null || { echo "s3.sh: mvn not found (apt-get install maven)" >&2; exit 1; }
  # Maven waits 30 minutes on a stalled download by default; fail (and retry) after one.
  mvn -Dmaven.wagon.rto=60000 -q -B -Dstyle.color=never dependency:get "-Dartifact=org.gaul:s3proxy:$VERSION:jar:jar-with-dependencies" \
    -Dtransitive=false "-Dmaven.repo.local=$M2" >&2
  [[ -s "$JAR" ]] || { echo "s3.sh: $JAR missing after mvn dependency:get" >&2; exit 1; }
}

prepare() {
  command -v java >/dev/null || { echo "s3.sh: java not found (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
  fetch_jar
}

launch() {
  local port
  port="$(cat "$STATE/port")"
  mkdir -p "$STATE/data"
  cat >"$STATE/s3proxy.conf" <<EOF
s3proxy.endpoint=http://127.0.0.1:$port
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$IDENTITY
s3proxy.credential=$SECRET
jclouds.provider=filesystem
jclouds.filesystem.basedir=$STATE/data
EOF
  # Small heap and C1 only: a test server on a 2-core machine should start fast and stay small.
  setsid nohup java -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -jar "$JAR" \
    --properties "$STATE/s3proxy.conf" >"$STATE/log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE/pid"
}

service_main "$@"
