#!/usr/bin/env bash
# DCMTK's dcmqrscp as the second PACS peer, on free loopback ports, for the tests.
#   dcmqrscp.sh start DIR   config, storage and log under DIR; forking mode (its single-process
#                           mode crashes after the first C-STORE association); waits until it
#                           answers C-ECHO; writes DIR/env (DCMQR_PID, DCMQR_AET, DCMQR_PORT,
#                           CLIENT_AET, CLIENT_PORT)
#   dcmqrscp.sh stop DIR    stops it by PID (and its children) and waits for it to exit
# Like Orthanc here, it knows only our AE title: nothing IODeep-specific. It does not return
# BodyPartExamined at SERIES level (the client falls back to IMAGE level) and answers only
# hierarchical queries. A missing dcmqrscp is an error (exit 1), never a skip.
set -euo pipefail
cmd=${1:?start|stop} dir=${2:?directory}
PY=/usr/bin/python3
AET=IODEEPQR

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
  rm -f "$dir/env"
  echo "dcmqrscp.sh: stopped dcmqrscp (pid $DCMQR_PID)"
}

start() {
  command -v dcmqrscp >/dev/null || { echo "dcmqrscp.sh: dcmqrscp is not installed (DCMTK)" >&2; exit 1; }
  [ -f "$dir/env" ] && stop
  rm -rf "$dir/db"
  mkdir -p "$dir/db"
  read -r port client < <($PY -c '
import socket
socks = []
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(*[s.getsockname()[1] for s in socks])')
  cat >"$dir/dcmqrscp.cfg" <<CFG
NetworkTCPPort  = $port
MaxPDUSize      = 131072
MaxAssociations = 16

HostTable BEGIN
iodeep = (IODEEP, 127.0.0.1, $client)
HostTable END

VendorTable BEGIN
VendorTable END

AETable BEGIN
$AET  $dir/db  RW  (1000, 2048mb)  ANY
AETable END
CFG
  setsid dcmqrscp -c "$dir/dcmqrscp.cfg" >"$dir/dcmqrscp.log" 2>&1 < /dev/null &
  local pid=$!
  cat >"$dir/env" <<ENV
DCMQR_PID=$pid
DCMQR_AET=$AET
DCMQR_PORT=$port
CLIENT_AET=IODEEP
CLIENT_PORT=$client
ENV
  for _ in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "dcmqrscp.sh: dcmqrscp exited at start; log:" >&2; tail -20 "$dir/dcmqrscp.log" >&2; rm -f "$dir/env"; exit 1
    fi
    if echoscu -aet IODEEP -aec "$AET" 127.0.0.1 "$port" >/dev/null 2>&1; then
      echo "dcmqrscp.sh: dcmqrscp pid $pid, DICOM 127.0.0.1:$port (AE $AET)"
      return 0
    fi
    sleep 0.1
  done
  echo "dcmqrscp.sh: dcmqrscp did not answer C-ECHO within 10 s; log:" >&2; tail -20 "$dir/dcmqrscp.log" >&2
  stop; exit 1
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) echo "usage: dcmqrscp.sh start|stop DIR" >&2; exit 2 ;;
esac
