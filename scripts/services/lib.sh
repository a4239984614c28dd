# Shared by the HTTP test services (azurite.sh, s3.sh); sourced, not run. The sourcing script
# sets NAME (its file name, for messages), SERVER (what it runs) and STATE (its state folder),
# and defines:
#   answers    exit 0 when the server answers HTTP on port $(cat "$STATE/port")
#   print_env  print KEY='value' lines describing the running server
#   prepare    checks and downloads before a start
#   launch     start the server in the background on that port, its pid in "$STATE/pid"
# then calls `service_main "$@"`.

mkdir -p "$STATE"

# Alive and not a zombie: a killed server lingers as a zombie until init reaps it.
alive() { kill -0 "$1" 2>/dev/null && [[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]]; }
pid_alive() { [[ -f "$STATE/pid" ]] && alive "$(cat "$STATE/pid")"; }

free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

port_free() {
  node -e "const s=require('net').createServer();s.once('error',()=>process.exit(1));s.listen(+process.argv[1],'127.0.0.1',()=>s.close())" "$1"
}

stop_with() {
  local signal="$1"
  if pid_alive; then
    local pid
    pid="$(cat "$STATE/pid")"
    # The server runs in its own session: signal the whole group (wrapper and children).
    kill "-$signal" -- "-$pid" 2>/dev/null || kill "-$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
  fi
  rm -f "$STATE/pid"
}

start() {
  if pid_alive && answers; then print_env; return 0; fi
  stop_with TERM
  prepare
  # Keep the previous port so a restarted server is found by clients that already know it.
  if [[ ! -f "$STATE/port" ]] || ! port_free "$(cat "$STATE/port")"; then free_port >"$STATE/port"; fi
  launch
  for _ in $(seq 1 300); do
    if answers; then print_env; return 0; fi
    pid_alive || break
    sleep 0.1
  done
  echo "$NAME: $SERVER did not start on 127.0.0.1:$(cat "$STATE/port"); last log lines:" >&2
  tail -n 20 "$STATE/log" >&2 || true
  stop_with KILL
  exit 1
}

service_main() {
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
      if pid_alive && answers; then print_env; else echo "$NAME: not running" >&2; exit 1; fi ;;
    clean) stop_with TERM; rm -rf "$STATE/data" "$STATE/log" "$STATE/port" ;;
    *) echo "usage: $0 start|stop|kill|status|env|clean [INSTANCE]" >&2; exit 2 ;;
  esac
}
