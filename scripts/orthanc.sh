#!/usr/bin/env bash
# A private Orthanc on free loopback ports, for the tests and the demo. Its configuration is what
# a hospital would do for any client: our AE titles are registered as DICOM modalities, nothing
# else. No private dictionary, nothing IODeep-specific: the product promises an unchanged PACS.
#   orthanc.sh start DIR   config, storage and log under DIR; waits until it answers C-ECHO;
#                          writes DIR/env (ORTHANC_PID, ORTHANC_AET, ORTHANC_DICOM_PORT,
#                          ORTHANC_HTTP_PORT, MOVE_AET, MOVE_PORT, CLIENT_AET)
#   orthanc.sh stop DIR    stops it by PID and waits for it to exit
#   orthanc.sh kill DIR    kills it (SIGKILL: a PACS that goes away), keeping its configuration,
#                          ports and storage for restart
#   orthanc.sh restart DIR starts it again after kill, same ports and storage
# A missing Orthanc is an error (exit 1), never a skip.
set -euo pipefail
cmd=${1:?start|stop} dir=${2:?directory}
PY=/usr/bin/python3

stop() {
  [ -f "$dir/env" ] || { echo "orthanc.sh: nothing to stop in $dir"; return 0; }
  # shellcheck disable=SC1091
  . "$dir/env"
  if kill -0 "$ORTHANC_PID" 2>/dev/null; then
    kill -TERM "$ORTHANC_PID"
    for _ in $(seq 1 100); do kill -0 "$ORTHANC_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$ORTHANC_PID" 2>/dev/null && kill -KILL "$ORTHANC_PID"
  fi
  rm -f "$dir/env"
  echo "orthanc.sh: stopped Orthanc (pid $ORTHANC_PID)"
}

launch() {
  # setsid + redirection: the server must not hold the caller's (CTest's) pipes open.
  setsid "$1" "$dir/orthanc.json" >>"$dir/orthanc.log" 2>&1 < /dev/null &
  echo $!
}

wait_echo() {
  local pid=$1 dicom=$2
  for _ in $(seq 1 150); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "orthanc.sh: Orthanc exited at start; log:" >&2; tail -20 "$dir/orthanc.log" >&2; rm -f "$dir/env"; exit 1
    fi
    if echoscu -aet IODEEP -aec ORTHANC 127.0.0.1 "$dicom" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "orthanc.sh: Orthanc did not answer C-ECHO within 15 s; log:" >&2; tail -20 "$dir/orthanc.log" >&2
  stop; exit 1
}

find_orthanc() {
  local orthanc
  orthanc=$(command -v Orthanc || true)
  [ -n "$orthanc" ] || [ ! -x /usr/sbin/Orthanc ] || orthanc=/usr/sbin/Orthanc
  if [ -z "$orthanc" ]; then
    echo "orthanc.sh: Orthanc is not installed (run scripts/install-deps.sh)" >&2; exit 1
  fi
  echo "$orthanc"
}

kill_hard() {
  # shellcheck disable=SC1091
  . "$dir/env"
  kill -KILL "$ORTHANC_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$ORTHANC_PID" 2>/dev/null || break; sleep 0.1; done
  echo "orthanc.sh: killed Orthanc (pid $ORTHANC_PID)"
}

restart() {
  # shellcheck disable=SC1091
  . "$dir/env"
  local pid
  pid=$(launch "$(find_orthanc)")
  sed -i "s/^ORTHANC_PID=.*/ORTHANC_PID=$pid/" "$dir/env"
  wait_echo "$pid" "$ORTHANC_DICOM_PORT"
  echo "orthanc.sh: Orthanc restarted, pid $pid"
}

start() {
  local orthanc
  orthanc=$(find_orthanc)
  [ -f "$dir/env" ] && stop
  rm -rf "$dir/storage" "$dir/index"
  mkdir -p "$dir/storage" "$dir/index"
  read -r dicom http move client < <($PY -c '
import socket
socks = []
for _ in range(4):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(*[s.getsockname()[1] for s in socks])')
  cat >"$dir/orthanc.json" <<JSON
{
  "Name": "iodeep-test-pacs",
  "StorageDirectory": "$dir/storage",
  "IndexDirectory": "$dir/index",
  "DicomAet": "ORTHANC",
  "DicomPort": $dicom,
  "HttpPort": $http,
  "HttpServerEnabled": true,
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false,
  "DicomCheckCalledAet": true,
  "DicomAlwaysAllowEcho": true,
  "DicomAlwaysAllowStore": true,
  "DicomAlwaysAllowFind": true,
  "DicomAlwaysAllowGet": false,
  "DicomAlwaysAllowMove": false,
  "DicomModalities": {
    "movescu": ["MOVESCU", "127.0.0.1", $move],
    "iodeep": ["IODEEP", "127.0.0.1", $client]
  },

  "StorageAccessOnFind": "Always",
  "OverwriteInstances": false,
  "Plugins": [],
  "StableAge": 1
}
JSON
  : >"$dir/orthanc.log"
  local pid
  pid=$(launch "$orthanc")
  cat >"$dir/env" <<ENV
ORTHANC_PID=$pid
ORTHANC_AET=ORTHANC
ORTHANC_DICOM_PORT=$dicom
ORTHANC_HTTP_PORT=$http
MOVE_AET=MOVESCU
MOVE_PORT=$move
CLIENT_AET=IODEEP
CLIENT_PORT=$client
ENV
  wait_echo "$pid" "$dicom"
  echo "orthanc.sh: Orthanc pid $pid, DICOM 127.0.0.1:$dicom (AE ORTHANC), HTTP 127.0.0.1:$http"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  kill) kill_hard ;;
  restart) restart ;;
  *) echo "usage: orthanc.sh start|stop|kill|restart DIR" >&2; exit 2 ;;
esac
