#!/usr/bin/env bash
# The service as a hospital would run it, on one machine, on free loopback ports, everything under
# DIR: PostgreSQL 15 as the index of an Orthanc (Debian's orthanc-postgresql plugin), K workers
# (`iodeep serve`) sharing one client configuration that points at that Orthanc, and HAProxy 2.6
# in front of them (least connections, /readyz health checks, predict by reference retried and
# redispatched when a worker fails, nothing else replayed). docs/service.md, "Running it behind
# HAProxy".
#   cluster.sh start DIR [--workers K] [--pacs-only] [--tokens FILE]
#       starts each part and waits until it is ready (PostgreSQL accepts connections, Orthanc
#       answers C-ECHO with its index in PostgreSQL, each worker's /readyz answers 200, HAProxy
#       sees every worker up); writes DIR/env (every port and PID, PACS=AET@host:port,
#       SERVICE_URL); K defaults to 2. --pacs-only: PostgreSQL and Orthanc only. --tokens FILE is
#       passed to each worker. The workers are $IODEEP (default build/client/cli/iodeep), run as
#       `$IODEEP serve --config DIR/client.json --listen 127.0.0.1:PORT --pacs AET@HOST:PORT
#       --work-dir DIR/workers/wN`, each with its own XDG directories (model cache, outbox,
#       audit log) under DIR/workers/wN; all of them share one idempotency directory,
#       DIR/idempotency (service.idempotency_dir), so that a POST /v1/structure-sets retried with
#       the same Idempotency-Key on another worker gets the first answer instead of a second set.
#   cluster.sh restart-worker DIR N
#       starts worker N again (after it died or was stopped): same port, same directories, its new
#       PID in DIR/env; waits for its /readyz and for HAProxy to see it up.
#   cluster.sh stop DIR
#       stops HAProxy, the workers (SIGTERM; they drain, at most WORKER_STOP_SECONDS, default 30,
#       then SIGKILL), Orthanc and PostgreSQL, by PID, and waits until each has exited.
# PostgreSQL refuses to run as root: its part of DIR (DIR/pg) belongs to the postgres system
# user, and DIR itself is made searchable by others (o+x, not readable) when it is not already.
# A missing program is an error (exit 1), never a skip; a part that does not get ready stops what
# was started and exits 1, with its log's tail.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$here/.."
cmd=${1:?start|stop} dir=${2:?directory}
shift 2
workers=2 pacs_only=0 tokens='' worker_n=''
if [ "$cmd" = restart-worker ]; then worker_n=${1:?restart-worker DIR N}; shift; fi
while [ $# -gt 0 ]; do
  case $1 in
    --workers) workers=${2:?--workers K}; shift 2 ;;
    --pacs-only) pacs_only=1; shift ;;
    --tokens) tokens=$(realpath "${2:?--tokens FILE}"); shift 2 ;;
    *) echo "cluster.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case $workers in ''|*[!0-9]*|0) echo "cluster.sh: --workers wants a positive number" >&2; exit 2 ;; esac
mkdir -p "$dir"
dir=$(realpath "$dir")
IODEEP=${IODEEP:-$root/build/client/cli/iodeep}
PG_BIN=/usr/lib/postgresql/15/bin
WORKER_READY_SECONDS=${WORKER_READY_SECONDS:-60}
WORKER_STOP_SECONDS=${WORKER_STOP_SECONDS:-30}

say() { echo "cluster.sh: $*"; }
die() { echo "cluster.sh: $*" >&2; exit 1; }
env_add() { echo "$1" >>"$dir/env"; }
# alive PID: running (a zombie waiting for its reaper is not)
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^[^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
# stop_pid NAME PID SIGNAL SECONDS: signal, wait, then SIGKILL
stop_pid() {
  local name=$1 pid=$2 sig=$3 secs=$4
  [ -n "$pid" ] && alive "$pid" || return 0
  kill "-$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 1 $((secs * 10))); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then
    echo "cluster.sh: $name (pid $pid) still running after ${secs} s: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
  fi
  say "stopped $name (pid $pid)"
}
# as_postgres CMD...: as the postgres system user (PostgreSQL refuses root)
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

stop() {
  [ -f "$dir/env" ] || { say "nothing to stop in $dir"; return 0; }
  # shellcheck disable=SC1091
  . "$dir/env"
  stop_pid HAProxy "${HAPROXY_PID:-}" TERM 10
  local i pid
  # every worker drains at the same time, then each is waited for
  for i in $(seq 1 "${WORKERS:-0}"); do
    pid=$(sed -n "s/^WORKER_${i}_PID=//p" "$dir/env")
    [ -z "$pid" ] || ! alive "$pid" || kill -TERM "$pid" 2>/dev/null || true
  done
  for i in $(seq 1 "${WORKERS:-0}"); do
    pid=$(sed -n "s/^WORKER_${i}_PID=//p" "$dir/env")
    stop_pid "worker $i" "$pid" TERM "$WORKER_STOP_SECONDS"
  done
  [ ! -f "$dir/orthanc/env" ] || bash "$here/orthanc.sh" stop "$dir/orthanc"
  # SIGINT: PostgreSQL's fast shutdown (its backends end first, then the postmaster)
  stop_pid PostgreSQL "${PG_PID:-}" INT 30
  rm -f "$dir/env"
}

need() {  # PROGRAM [PACKAGE]: a path or a name on PATH
  [ -x "$1" ] || command -v "$1" >/dev/null ||
    die "$1 is not installed${2:+ (Debian package $2; run scripts/install-deps.sh)}"
}

find_pg_plugin() {
  local f
  for f in /usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so /usr/lib/orthanc/libOrthancPostgreSQLIndex.so*; do
    [ -f "$f" ] && { echo "$f"; return 0; }
  done
  die "Orthanc's PostgreSQL index plugin is not installed (Debian package orthanc-postgresql)"
}

start_postgres() {
  local port=$1 pg=$dir/pg
  mkdir -p "$pg/run"
  chown -R postgres:postgres "$pg"
  chmod 0700 "$pg"
  if ! as_postgres test -x "$pg"; then
    # the postgres user must be able to reach DIR/pg: search permission on DIR, nothing more
    chmod o+x "$dir"
    local up=$dir
    while ! as_postgres test -x "$pg"; do
      up=$(dirname "$up")
      as_postgres test -x "$up" ||
        die "the postgres user cannot reach $pg: $up is closed to it (chmod o+x it, or choose another DIR)"
      [ "$up" != / ] || die "the postgres user cannot reach $pg"
    done
  fi
  as_postgres "$PG_BIN/initdb" -D "$pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync \
    >"$pg/initdb.log" 2>&1 || { tail -20 "$pg/initdb.log" >&2; die "initdb failed"; }
  # loopback and its own socket directory only; trust: nothing but this machine can connect
  cat >>"$pg/data/postgresql.conf" <<CONF

# scripts/cluster.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$pg/run'
max_connections = 50
logging_collector = off
CONF
  : >"$pg/postgres.log"
  chown postgres:postgres "$pg/postgres.log"
  # setsid + redirection: the server must not hold the caller's (CTest's) pipes open; setpriv
  # execs, so $! is the postmaster
  setsid setpriv --reuid=postgres --regid=postgres --init-groups -- "$PG_BIN/postgres" -D "$pg/data" \
    >>"$pg/postgres.log" 2>&1 </dev/null &
  local pid=$!
  env_add "PG_PID=$pid"
  env_add "PG_PORT=$port"
  env_add "PG_HOST=127.0.0.1"
  env_add "PG_SOCKET_DIR=$pg/run"
  env_add "PG_DATA=$pg/data"
  env_add "PG_DATABASE=orthanc"
  env_add "PG_USER=orthanc"
  for _ in $(seq 1 300); do
    alive "$pid" || { tail -20 "$pg/postgres.log" >&2; die "PostgreSQL exited at start"; }
    "$PG_BIN/pg_isready" -q -h "$pg/run" -p "$port" && break
    sleep 0.1
  done
  "$PG_BIN/pg_isready" -q -h "$pg/run" -p "$port" || { tail -20 "$pg/postgres.log" >&2; die "PostgreSQL not ready within 30 s"; }
  createuser -h "$pg/run" -p "$port" -U postgres orthanc
  createdb -h "$pg/run" -p "$port" -U postgres -O orthanc orthanc
  say "PostgreSQL 15 pid $pid, 127.0.0.1:$port and $pg/run, database orthanc"
}

start_orthanc() {
  local pg_port=$1 plugin=$2 http
  # the private Orthanc of scripts/orthanc.sh (same AE titles and modalities), its index in
  # PostgreSQL, its files on disk under DIR/orthanc/storage
  cat >"$dir/orthanc-postgresql.json" <<JSON
{
  "Plugins": ["$plugin"],
  "PostgreSQL": {
    "EnableIndex": true,
    "EnableStorage": false,
    "Host": "127.0.0.1",
    "Port": $pg_port,
    "Database": "orthanc",
    "Username": "orthanc",
    "Password": "",
    "EnableSsl": false,
    "Lock": true,
    "MaximumConnectionRetries": 10,
    "ConnectionRetryInterval": 1,
    "IndexConnectionsCount": 4
  }
}
JSON
  bash "$here/orthanc.sh" start "$dir/orthanc" --extra-config "$dir/orthanc-postgresql.json" ||
    die "Orthanc did not start (log: $dir/orthanc/orthanc.log)"
  # shellcheck disable=SC1091
  . "$dir/orthanc/env"
  http=$ORTHANC_HTTP_PORT
  # its index must really be the plugin, not a silent fallback to SQLite
  curl -fsS -m 5 "http://127.0.0.1:$http/plugins" | grep -q postgresql-index ||
    die "Orthanc runs without the PostgreSQL index plugin (log: $dir/orthanc/orthanc.log)"
  grep -v '^#' "$dir/orthanc/env" >>"$dir/env"
  env_add "ORTHANC_PLUGIN=$plugin"
  env_add "PACS=$ORTHANC_AET@127.0.0.1:$ORTHANC_DICOM_PORT"
}

write_client_config() {
  local pacs=$1 anonymous=true
  # callers authenticate with a bearer token when --tokens is given (HAProxy passes the header
  # through); without, anonymous callers, which the service allows on loopback only (everything
  # here is: HAProxy binds 127.0.0.1 too)
  [ -z "$tokens" ] || anonymous=false
  # the workers' shared configuration (docs/pacs-workflow.md, "Configuration"; "service": the
  # keys of `iodeep serve`); C-GET, so that K workers need no C-MOVE port each
  cat >"$dir/client.json" <<JSON
{
  "comment": "written by scripts/cluster.sh: the workers' shared client configuration",
  "pacs": "$pacs",
  "aet": "IODEEP",
  "retrieve": "get",
  "service": {
    "idempotency_dir": "$dir/idempotency",
    "io_threads": 1,
    "inference_threads": 1,
    "queue_limit": 16,
    "deadline_ms": 30000,
    "allow_anonymous": $anonymous
  }
}
JSON
}

# launch_worker N PORT: worker N in the background, its PID into DIR/env (replacing an older one)
launch_worker() {
  local i=$1 port=$2 w=$dir/workers/w$1 pid
  mkdir -p "$w/xdg/cache" "$w/xdg/data" "$w/xdg/config"
  chmod 0700 "$w"
  setsid env XDG_CACHE_HOME="$w/xdg/cache" XDG_DATA_HOME="$w/xdg/data" XDG_CONFIG_HOME="$w/xdg/config" \
    "$IODEEP" serve --config "$dir/client.json" --listen "127.0.0.1:$port" --pacs "$PACS" --work-dir "$w" \
    ${tokens:+--tokens "$tokens"} >>"$dir/workers/w$i.log" 2>&1 </dev/null &
  pid=$!
  if grep -q "^WORKER_${i}_PID=" "$dir/env"; then
    sed -i "s/^WORKER_${i}_PID=.*/WORKER_${i}_PID=$pid/" "$dir/env"
  else
    env_add "WORKER_${i}_PID=$pid"
    env_add "WORKER_${i}_PORT=$port"
  fi
}

# wait_worker N PORT: ready is /readyz 200 (the PACS answers C-ECHO, the inference module is
# loaded, the queue not full)
wait_worker() {
  local i=$1 port=$2 pid
  pid=$(sed -n "s/^WORKER_${i}_PID=//p" "$dir/env")
  for _ in $(seq 1 $((WORKER_READY_SECONDS * 10))); do
    alive "$pid" || { tail -20 "$dir/workers/w$i.log" >&2; die "worker $i exited at start"; }
    curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
    sleep 0.1
  done
  curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null ||
    { tail -20 "$dir/workers/w$i.log" >&2; die "worker $i not ready within $WORKER_READY_SECONDS s"; }
  say "worker $i pid $pid, http://127.0.0.1:$port"
}

start_workers() {
  local i port
  env_add "WORKERS=$workers"
  env_add "WORKER_TOKENS=$tokens"
  env_add "CLIENT_CONFIG=$dir/client.json"
  # the workers' shared first answers of POST /v1/structure-sets (each worker would otherwise
  # keep its own under its work directory, and a retry on another worker would store again)
  mkdir -p "$dir/idempotency"
  chmod 0700 "$dir/idempotency"
  i=0
  for port in "$@"; do i=$((i + 1)); launch_worker "$i" "$port"; done
  i=0
  for port in "$@"; do i=$((i + 1)); wait_worker "$i" "$port"; done
}

write_haproxy_config() {
  local port=$1 stats=$2 i=0 p
  shift 2
  {
    cat <<CFG
# written by scripts/cluster.sh (docs/service.md, "Running it behind HAProxy")
global
    log stdout format raw local0 info
    maxconn 4096

defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 2s
    timeout client 60s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout queue 30s
    # a prediction's answer: beyond, a predict by reference is retried elsewhere (response-timeout)
    timeout server 60s
    timeout check 2s

frontend iodeep
    bind 127.0.0.1:$port
    # predict by reference: POST /v1/predict with a JSON body (by value is application/dicom)
    acl is_post method POST
    acl is_predict path /v1/predict
    acl dicom_body req.hdr(content-type) -m beg -i application/dicom
    # a request can only be replayed from HAProxy's buffer: wait for the whole (small) body
    http-request wait-for-body time 2s if is_post is_predict !dicom_body
    default_backend workers

backend workers
    balance leastconn
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host iodeep-health
    http-check expect status 200
    # fast checks: a worker down (or busy: /readyz 503 with a full queue) leaves within ~0.5 s
    default-server check inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2
    # Retries: any request whose connection failed (it never reached a worker) is retried, on
    # another worker each time (redispatch 1). A request a worker received and did not answer
    # (it crashed: empty response; it hung: timeout; it was full: 503) is replayed only when it
    # is a predict by reference, which has no effect but its answer; everything else (predict by
    # value: a large body HAProxy does not keep; structure sets; select) gets the error.
    retries 3
    retry-on conn-failure empty-response response-timeout 503
    option redispatch 1
    acl is_post method POST
    acl is_predict path /v1/predict
    acl dicom_body req.hdr(content-type) -m beg -i application/dicom
    http-request disable-l7-retry unless is_post is_predict !dicom_body
CFG
    for p in "$@"; do
      i=$((i + 1))
      echo "    server w$i 127.0.0.1:$p"
    done
    cat <<CFG

listen stats
    bind 127.0.0.1:$stats
    stats enable
    stats uri /stats
    stats refresh 2s
    monitor-uri /healthz
CFG
  } >"$dir/haproxy.cfg"
}

# haproxy_up: how many workers HAProxy sees UP (its stats as CSV: svname is field 2, status 18)
haproxy_up() {
  curl -fsS -m 2 "$STATS_URL;csv" 2>/dev/null | awk -F, '$1 == "workers" && $2 ~ /^w[0-9]+$/ && $18 == "UP"' | wc -l
}
# wait_haproxy_up K SECONDS: until HAProxy sees K workers UP (sets up)
wait_haproxy_up() {
  local want=$1 secs=$2
  up=0
  for _ in $(seq 1 $((secs * 10))); do
    alive "$HAPROXY_PID" || { tail -20 "$dir/haproxy.log" >&2; die "HAProxy exited"; }
    up=$(haproxy_up) || up=0
    [ "$up" -ge "$want" ] && return 0
    sleep 0.1
  done
  return 1
}

start_haproxy() {
  local port=$1 stats=$2 up
  haproxy -c -q -f "$dir/haproxy.cfg" >"$dir/haproxy-check.log" 2>&1 ||
    { cat "$dir/haproxy-check.log" >&2; die "HAProxy refuses $dir/haproxy.cfg"; }
  : >"$dir/haproxy.log"
  setsid haproxy -db -f "$dir/haproxy.cfg" >>"$dir/haproxy.log" 2>&1 </dev/null &
  HAPROXY_PID=$!
  STATS_URL=http://127.0.0.1:$stats/stats
  env_add "HAPROXY_PID=$HAPROXY_PID"
  env_add "HAPROXY_PORT=$port"
  env_add "HAPROXY_STATS_PORT=$stats"
  env_add "HAPROXY_CONFIG=$dir/haproxy.cfg"
  env_add "SERVICE_URL=http://127.0.0.1:$port"
  env_add "STATS_URL=http://127.0.0.1:$stats/stats"
  # ready: every worker UP in HAProxy's own view
  wait_haproxy_up "$workers" 15 || { tail -20 "$dir/haproxy.log" >&2; die "HAProxy sees $up of $workers workers up after 15 s"; }
  say "HAProxy pid $HAPROXY_PID, http://127.0.0.1:$port (stats http://127.0.0.1:$stats/stats), $workers workers up"
}

on_start_exit() {
  local rc=$?
  [ "$rc" -eq 0 ] && return 0
  echo "cluster.sh: start failed, stopping what was started" >&2
  stop >&2 || true
}

start() {
  local plugin pg_port hp_port st_port ports
  need "$PG_BIN/postgres" postgresql-15
  need "$PG_BIN/initdb" postgresql-15
  need "$PG_BIN/pg_isready" postgresql-15
  need createdb postgresql-client-15
  need createuser postgresql-client-15
  need setpriv util-linux
  need setsid util-linux
  need curl curl
  need echoscu dcmtk
  need /usr/sbin/Orthanc orthanc
  plugin=$(find_pg_plugin)
  id postgres >/dev/null 2>&1 || die "no postgres system user (Debian package postgresql-15 creates it)"
  if [ "$pacs_only" -eq 0 ]; then
    need haproxy haproxy
    [ -x "$IODEEP" ] || die "no worker program $IODEEP (build it, or set IODEEP)"
  fi
  [ -f "$dir/env" ] && stop
  rm -rf "$dir/pg" "$dir/orthanc" "$dir/workers" "$dir/env"
  : >"$dir/env"
  # from here a failure stops whatever was started
  trap on_start_exit EXIT
  read -r -a ports < <(bash "$here/orthanc.sh" ports $((3 + workers)))
  pg_port=${ports[0]} hp_port=${ports[1]} st_port=${ports[2]}
  start_postgres "$pg_port"
  start_orthanc "$pg_port" "$plugin"
  PACS=$(sed -n 's/^PACS=//p' "$dir/env")
  if [ "$pacs_only" -eq 1 ]; then
    env_add "WORKERS=0"
    say "PACS only: $PACS (index in PostgreSQL 127.0.0.1:$pg_port); $dir/env"
    trap - EXIT
    return 0
  fi
  write_client_config "$PACS"
  start_workers "${ports[@]:3}"
  write_haproxy_config "$hp_port" "$st_port" "${ports[@]:3}"
  start_haproxy "$hp_port" "$st_port"
  trap - EXIT
  say "ready: http://127.0.0.1:$hp_port -> $workers workers; PACS $PACS; $dir/env"
}

restart_worker() {
  local i=$1 pid port n
  [ -f "$dir/env" ] || die "no cluster in $dir"
  # shellcheck disable=SC1091
  . "$dir/env"
  n=${WORKERS:-0}
  case $i in ''|*[!0-9]*) die "restart-worker wants a worker number" ;; esac
  { [ "$i" -ge 1 ] && [ "$i" -le "$n" ]; } || die "no worker $i (the cluster has $n)"
  pid=$(sed -n "s/^WORKER_${i}_PID=//p" "$dir/env")
  port=$(sed -n "s/^WORKER_${i}_PORT=//p" "$dir/env")
  ! alive "$pid" || die "worker $i (pid $pid) is still running"
  # the same options as at start (--tokens is recorded in DIR/env)
  tokens=${WORKER_TOKENS:-}
  launch_worker "$i" "$port"
  wait_worker "$i" "$port"
  wait_haproxy_up "$n" 15 || die "HAProxy sees $up of $n workers up 15 s after worker $i's restart"
  say "worker $i restarted; HAProxy sees $n of $n up"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  restart-worker) restart_worker "${worker_n:-}" ;;
  *) echo "usage: cluster.sh start|stop DIR [--workers K] [--pacs-only] [--tokens FILE]" >&2
     echo "       cluster.sh restart-worker DIR N" >&2; exit 2 ;;
esac
