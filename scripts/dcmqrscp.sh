#!/usr/bin/env bash
# DCMTK's dcmqrscp as the second PACS peer, on free loopback ports, for the tests.
#   dcmqrscp.sh start DIR   config, storage and log under DIR; forking mode (its single-process
#                           mode crashes after the first C-STORE association); waits until it
#                           answers C-ECHO; writes DIR/env (DCMQR_PID, DCMQR_AET, DCMQR_PORT,
#                           CLIENT_AET, CLIENT_PORT)
#   dcmqrscp.sh start DIR --tls PKI
#                           the same as a DICOM TLS peer: DCMTK 3.6.7's dcmqrscp has no TLS of its
#                           own, so scripts/tls_proxy.py accepts TLS on DCMQR_PORT (PKI/server.pem,
#                           our certificate required, PKI/ca.pem trusted) for a dcmqrscp on an
#                           internal port, and relays its C-MOVE sub-associations over TLS to
#                           CLIENT_PORT (env: DCMQR_TLS=1, TLS_PKI, PROXY_PIDS)
#   dcmqrscp.sh stop DIR    stops it by PID (and its children, and the relays) and waits for it to exit
#   dcmqrscp.sh restart DIR starts it again after stop: the same ports (and relays, with --tls),
#                           storage and DIR/dcmqrscp.cfg, as the caller may have edited it (e.g. a
#                           per-study quota in its AETable line); start writes a new one and empties
#                           the storage
# Like Orthanc here, it knows only our AE title: nothing IODeep-specific. It returns only what its
# index keeps (no SeriesDescription or BodyPartExamined at any level: the client finds the networks
# by the convention's StudyDescription and describes each candidate from the model cache, retrieved
# into it once) and answers only hierarchical queries. A missing dcmqrscp is an error (exit 1),
# never a skip.
set -euo pipefail
cmd=${1:?start|stop|restart} dir=${2:?directory}
tls_pki=
if [ "${3:-}" = --tls ]; then tls_pki=$(cd "${4:?--tls PKI}" && pwd); fi
PY=/usr/bin/python3
AET=IODEEPQR
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

stop() {
  [ -f "$dir/env" ] || { echo "dcmqrscp.sh: nothing to stop in $dir"; return 0; }
  # shellcheck disable=SC1091
  . "$dir/env"
  if kill -0 "$DCMQR_PID" 2>/dev/null; then
    # the forked children of a running association belong to the same process group
    kill -TERM -- "-$DCMQR_PID" 2>/dev/null || kill -TERM "$DCMQR_PID"
    for _ in $(seq 1 50); do kill -0 "$DCMQR_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$DCMQR_PID" 2>/dev/null && kill -KILL -- "-$DCMQR_PID" 2>/dev/null
  fi
  for p in ${PROXY_PIDS:-}; do kill -TERM "$p" 2>/dev/null || true; done
  rm -f "$dir/env"
  echo "dcmqrscp.sh: stopped dcmqrscp (pid $DCMQR_PID)"
}

# launch: dcmqrscp (and the TLS relays) with DIR/dcmqrscp.cfg and the ports in DIR/ports; writes
# DIR/env and waits until it answers C-ECHO
launch() {
  local port client internal relay tls_pki
  # shellcheck disable=SC1091
  . "$dir/ports"
  setsid dcmqrscp -c "$dir/dcmqrscp.cfg" >>"$dir/dcmqrscp.log" 2>&1 < /dev/null &
  local pid=$! proxies=
  if [ -n "$tls_pki" ]; then
    local mode listen to
    for mode in server client; do
      if [ $mode = server ]; then listen=$port to=$internal; else listen=$relay to=$client; fi
      rm -f "$dir/proxy-$mode.ready"
      setsid $PY "$here/tls_proxy.py" $mode "$listen" "$to" "$tls_pki/server.pem" "$tls_pki/server.key" \
        "$tls_pki/ca.pem" "$dir/proxy-$mode.ready" >"$dir/proxy-$mode.log" 2>&1 < /dev/null &
      proxies="$proxies $!"
    done
    for _ in $(seq 1 50); do [ -e "$dir/proxy-server.ready" ] && [ -e "$dir/proxy-client.ready" ] && break; sleep 0.1; done
  fi
  cat >"$dir/env" <<ENV
DCMQR_PID=$pid
DCMQR_AET=$AET
DCMQR_PORT=$port
CLIENT_AET=IODEEP
CLIENT_PORT=$client
DCMQR_TLS=$([ -n "$tls_pki" ] && echo 1 || echo 0)
TLS_PKI=$tls_pki
PROXY_PIDS="${proxies# }"
ENV
  for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "dcmqrscp.sh: dcmqrscp exited at start; log:" >&2; tail -20 "$dir/dcmqrscp.log" >&2; rm -f "$dir/env"; exit 1
    fi
    local tls=()
    [ -z "$tls_pki" ] || tls=(+tls "$tls_pki/client.key" "$tls_pki/client.pem" +cf "$tls_pki/ca.pem")
    if echoscu "${tls[@]}" -aet IODEEP -aec "$AET" 127.0.0.1 "$port" >/dev/null 2>&1; then
      echo "dcmqrscp.sh: dcmqrscp pid $pid, DICOM 127.0.0.1:$port (AE $AET)"
      return 0
    fi
    sleep 0.1
  done
  echo "dcmqrscp.sh: dcmqrscp did not answer C-ECHO within 10 s; log:" >&2; tail -20 "$dir/dcmqrscp.log" >&2
  stop; exit 1
}

start() {
  command -v dcmqrscp >/dev/null || { echo "dcmqrscp.sh: dcmqrscp is not installed (DCMTK)" >&2; exit 1; }
  [ -f "$dir/env" ] && stop
  rm -rf "$dir/db"
  mkdir -p "$dir/db"
  read -r port client internal relay < <($PY -c '
import socket
socks = []
for _ in range(4):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(*[s.getsockname()[1] for s in socks])')
  # with TLS, dcmqrscp listens on an internal port and moves to the relay
  local scp_port=$port move_port=$client
  [ -z "$tls_pki" ] || { scp_port=$internal; move_port=$relay; }
  cat >"$dir/dcmqrscp.cfg" <<CFG
NetworkTCPPort  = $scp_port
MaxPDUSize      = 131072
MaxAssociations = 16

HostTable BEGIN
iodeep = (IODEEP, 127.0.0.1, $move_port)
HostTable END

VendorTable BEGIN
VendorTable END

AETable BEGIN
$AET  $dir/db  RW  (1000, 2048mb)  ANY
AETable END
CFG
  cat >"$dir/ports" <<PORTS
port=$port client=$client internal=$internal relay=$relay tls_pki='$tls_pki'
PORTS
  : >"$dir/dcmqrscp.log"
  launch
}

restart() {
  if [ ! -f "$dir/ports" ] || [ ! -f "$dir/dcmqrscp.cfg" ]; then
    echo "dcmqrscp.sh: nothing to restart in $dir (start it first)" >&2; exit 1
  fi
  [ -f "$dir/env" ] && stop
  launch
}

case $cmd in
  start) start ;;
  stop) stop ;;
  restart) restart ;;
  *) echo "usage: dcmqrscp.sh start DIR [--tls PKI] | stop DIR | restart DIR" >&2; exit 2 ;;
esac
