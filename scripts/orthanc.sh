#!/usr/bin/env bash
# A private Orthanc on free loopback ports, for the tests and the demo. Its configuration is what
# a hospital would do for any client: our AE titles are registered as DICOM modalities, nothing
# else. No private dictionary, nothing IODeep-specific: the product promises an unchanged PACS.
#   orthanc.sh start DIR [--tls PKI [--server-cert NAME] [--plain-modalities]] [--extra-config FILE]
#                          config, storage and log under DIR; waits until it answers C-ECHO;
#                          writes DIR/env (ORTHANC_PID, ORTHANC_AET, ORTHANC_DICOM_PORT,
#                          ORTHANC_HTTP_PORT, MOVE_AET, MOVE_PORT, CLIENT_AET, CLIENT_PORT,
#                          ORTHANC_TLS 0|1, TLS_PKI)
#                          --tls PKI: DICOM TLS only (a plain association is aborted), with the
#                          test PKI of tests/fixtures/make_pki.sh in PKI: its certificate
#                          PKI/NAME.pem and key (NAME: server, or rogue-server, whose CA nobody
#                          trusts), trusting PKI/ca.pem, requiring the peer's certificate; our
#                          modalities are reached over TLS too (UseDicomTls: C-MOVE to our SCP)
#                          unless --plain-modalities (a misconfigured PACS, for the tests)
#                          --extra-config FILE: a JSON object merged into the configuration
#                          written here: its "Plugins" are added to ours, its other keys set
#                          (scripts/cluster.sh: the PostgreSQL index plugin and its section)
#                          --dicomweb: Debian's DICOMweb plugin (orthanc-dicomweb) at
#                          http://127.0.0.1:HTTP/dicom-web (DICOMWEB_URL in DIR/env)
#                          --https PKI: DICOMweb over HTTPS (DICOMWEB_URL https://...), with
#                          PKI/server.pem and its key (tests/fixtures/make_pki.sh): a TLS relay
#                          (scripts/tls_proxy.py https) in front of Orthanc's HTTP port, since
#                          Debian 12's Orthanc 1.10.1 resets every HTTPS connection of its own
#                          --http-user USER:PASSWORD: HTTP Basic authentication required
#   orthanc.sh stop DIR    stops it by PID and waits for it to exit
#   orthanc.sh kill DIR    kills it (SIGKILL: a PACS that goes away), keeping its configuration,
#                          ports and storage for restart
#   orthanc.sh restart DIR starts it again after kill, same ports and storage
#   orthanc.sh ports N     prints N free loopback TCP ports on one line (the helper every peer
#                          script uses: scripts/cluster.sh too)
# A missing Orthanc is an error (exit 1), never a skip.
set -euo pipefail
PY=/usr/bin/python3

# N free loopback ports: bound together (so they differ), released, printed.
free_ports() {
  $PY -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(*[s.getsockname()[1] for s in socks])' "$1"
}
if [ "${1:-}" = ports ]; then free_ports "${2:?ports N}"; exit 0; fi

cmd=${1:?start|stop} dir=${2:?directory}
shift 2
tls_pki='' server_cert=server modality_tls=true extra_config='' dicomweb=false https_pki='' http_user=''
while [ $# -gt 0 ]; do
  case $1 in
    --tls) tls_pki=$(cd "${2:?--tls PKI}" && pwd); shift 2 ;;
    --server-cert) server_cert=${2:?--server-cert NAME}; shift 2 ;;
    --plain-modalities) modality_tls=false; shift ;;
    --extra-config) extra_config=$(realpath "${2:?--extra-config FILE}"); shift 2 ;;
    --dicomweb) dicomweb=true; shift ;;
    --https) https_pki=$(cd "${2:?--https PKI}" && pwd); shift 2 ;;
    --http-user) http_user=${2:?--http-user USER:PASSWORD}; shift 2 ;;
    *) echo "orthanc.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

stop() {
  [ -f "$dir/env" ] || { echo "orthanc.sh: nothing to stop in $dir"; return 0; }
  # shellcheck disable=SC1091
  . "$dir/env"
  if kill -0 "$ORTHANC_PID" 2>/dev/null; then
    kill -TERM "$ORTHANC_PID"
    for _ in $(seq 1 100); do kill -0 "$ORTHANC_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$ORTHANC_PID" 2>/dev/null && kill -KILL "$ORTHANC_PID"
  fi
  [ -z "${HTTPS_PROXY_PID:-}" ] || kill "$HTTPS_PROXY_PID" 2>/dev/null || true
  rm -f "$dir/env"
  echo "orthanc.sh: stopped Orthanc (pid $ORTHANC_PID)"
}

launch() {
  # setsid + redirection: the server must not hold the caller's (CTest's) pipes open.
  setsid "$1" "$dir/orthanc.json" >>"$dir/orthanc.log" 2>&1 < /dev/null &
  echo $!
}

wait_echo() {
  local pid=$1 dicom=$2 pki=${3:-} tls=()
  # over TLS, with our certificate; the probe only asks whether Orthanc answers, so it does not
  # verify Orthanc's certificate (which may be the rogue one)
  [ -z "$pki" ] || tls=(+tls "$pki/client.key" "$pki/client.pem" -ic)
  for _ in $(seq 1 150); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "orthanc.sh: Orthanc exited at start; log:" >&2; tail -20 "$dir/orthanc.log" >&2; rm -f "$dir/env"; exit 1
    fi
    if echoscu "${tls[@]}" -aet IODEEP -aec ORTHANC 127.0.0.1 "$dicom" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "orthanc.sh: Orthanc did not answer C-ECHO within 15 s; log:" >&2; tail -20 "$dir/orthanc.log" >&2
  stop; exit 1
}

# The DICOMweb plugin answers (any HTTP status but a connection failure: 401 without credentials)
wait_http() {
  for _ in $(seq 1 100); do
    if curl -k -s -o /dev/null "$1"; then return 0; fi
    sleep 0.1
  done
  echo "orthanc.sh: Orthanc's HTTP server did not answer within 10 s; log:" >&2; tail -20 "$dir/orthanc.log" >&2
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
  wait_echo "$pid" "$ORTHANC_DICOM_PORT" "${TLS_PKI:-}"
  if [ -n "${DICOMWEB_URL:-}" ]; then wait_http "$DICOMWEB_URL/studies?limit=1"; fi
  echo "orthanc.sh: Orthanc restarted, pid $pid"
}

start() {
  local orthanc
  orthanc=$(find_orthanc)
  [ -f "$dir/env" ] && stop
  rm -rf "$dir/storage" "$dir/index"
  mkdir -p "$dir/storage" "$dir/index"
  read -r dicom http move client < <(free_ports 4)
  # plain: modalities as [AET, host, port]; TLS: Orthanc's own associations to them use TLS too
  local movescu="[\"MOVESCU\", \"127.0.0.1\", $move]" iodeep="[\"IODEEP\", \"127.0.0.1\", $client]" tls_json=
  if [ -n "$tls_pki" ]; then
    for f in "$server_cert.pem" "$server_cert.key" ca.pem client.pem client.key; do
      [ -r "$tls_pki/$f" ] || { echo "orthanc.sh: no $tls_pki/$f (tests/fixtures/make_pki.sh)" >&2; exit 1; }
    done
    movescu="{\"AET\": \"MOVESCU\", \"Host\": \"127.0.0.1\", \"Port\": $move, \"UseDicomTls\": $modality_tls}"
    iodeep="{\"AET\": \"IODEEP\", \"Host\": \"127.0.0.1\", \"Port\": $client, \"UseDicomTls\": $modality_tls}"
    tls_json="
  \"DicomTlsEnabled\": true,
  \"DicomTlsCertificate\": \"$tls_pki/$server_cert.pem\",
  \"DicomTlsPrivateKey\": \"$tls_pki/$server_cert.key\",
  \"DicomTlsTrustedCertificates\": \"$tls_pki/ca.pem\",
  \"DicomTlsRemoteCertificateRequired\": true,"
  fi
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
  "DicomAlwaysAllowMove": false,$tls_json
  "DicomModalities": {
    "movescu": $movescu,
    "iodeep": $iodeep
  },

  "StorageAccessOnFind": "Always",
  "OverwriteInstances": false,
  "Plugins": [],
  "StableAge": 1
}
JSON
  if $dicomweb || [ -n "$http_user" ]; then
    $PY - "$dir" "$dicomweb" "$https_pki" "$http_user" <<'PY' || { echo "orthanc.sh: cannot write the HTTP settings" >&2; exit 1; }
import json, os, sys
d, dicomweb, pki, user = sys.argv[1:5]
path = os.path.join(d, "orthanc.json")
config = json.load(open(path))
if dicomweb == "true":
    plugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
    if not os.path.exists(plugin):
        sys.exit("orthanc.sh: no " + plugin + " (Debian package orthanc-dicomweb: scripts/install-deps.sh)")
    config["Plugins"].append(plugin)
    config["DicomWeb"] = {"Enable": True, "Root": "/dicom-web/", "EnableWado": False, "Ssl": bool(pki)}
if user:
    name, _, password = user.partition(":")
    config["AuthenticationEnabled"] = True
    config["RegisteredUsers"] = {name: password}
with open(path, "w") as f:
    json.dump(config, f, indent=2)
PY
  fi
  if [ -n "$extra_config" ]; then
    $PY - "$dir/orthanc.json" "$extra_config" <<'PY' || { echo "orthanc.sh: cannot merge $extra_config" >&2; exit 1; }
import json, sys
path, extra_path = sys.argv[1:3]
config = json.load(open(path))
extra = json.load(open(extra_path))
config["Plugins"] += extra.pop("Plugins", [])
config.update(extra)
with open(path, "w") as f:
    json.dump(config, f, indent=2)
PY
  fi
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
ORTHANC_TLS=$([ -n "$tls_pki" ] && echo 1 || echo 0)
TLS_PKI=$tls_pki
DICOMWEB_URL=$($dicomweb && echo "http://127.0.0.1:$http/dicom-web" || true)
ENV
  wait_echo "$pid" "$dicom" "$tls_pki"
  if $dicomweb; then wait_http "http://127.0.0.1:$http/dicom-web/studies?limit=1"; fi
  if [ -n "$https_pki" ]; then
    local https proxy
    read -r https < <(free_ports 1)
    rm -f "$dir/https-ready"
    setsid $PY "$(dirname "${BASH_SOURCE[0]}")/tls_proxy.py" https "$https" "$http" "$https_pki/server.pem" \
      "$https_pki/server.key" "$https_pki/ca.pem" "$dir/https-ready" >>"$dir/https.log" 2>&1 </dev/null &
    proxy=$!
    for _ in $(seq 1 100); do [ -f "$dir/https-ready" ] && break; sleep 0.05; done
    [ -f "$dir/https-ready" ] || { echo "orthanc.sh: the HTTPS relay did not start: $(cat "$dir/https.log")" >&2; stop; exit 1; }
    sed -i "s|^DICOMWEB_URL=.*|DICOMWEB_URL=https://127.0.0.1:$https/dicom-web|" "$dir/env"
    echo "HTTPS_PROXY_PID=$proxy" >>"$dir/env"
  fi
  echo "orthanc.sh: Orthanc pid $pid, DICOM 127.0.0.1:$dicom (AE ORTHANC$([ -z "$tls_pki" ] || echo ", TLS only, $server_cert.pem")), HTTP 127.0.0.1:$http"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  kill) kill_hard ;;
  restart) restart ;;
  *) echo "usage: orthanc.sh start|stop|kill|restart DIR | orthanc.sh ports N" >&2; exit 2 ;;
esac
