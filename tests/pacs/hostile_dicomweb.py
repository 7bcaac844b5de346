#!/usr/bin/env python3
"""A DICOMweb peer that lies on demand, in front of a real one (tests/pacs/dicomweb_faults.sh).

It passes every request through to UPSTREAM (an Orthanc with the DICOMweb plugin) and answers as
FAULT says:
  none            as the upstream answered
  status:N        every request answered with HTTP status N (empty JSON body)
  stow-refuse     STOW-RS answered 409 with the instance in FailedSOPSequence (0xA700)
  truncate        WADO-RS: the multipart body cut inside its first part, the connection closed
  other-instance  WADO-RS: a well-formed multipart body carrying FILE instead of what was asked
  huge            WADO-RS: a multipart body that never ends (stopped at 1 GiB or when the client
                  hangs up)
  not-multipart   WADO-RS: answered text/html
  dribble         WADO-RS: a multipart body sent 10 bytes a second (stopped after 120 s)
  qido-flood      QIDO-RS /studies: 50,000 matches, whatever limit says
  many-parts      WADO-RS: 50 tiny parts for one instance
  hierarchical    QIDO-RS answered 400 unless it names its study (and, for instances, its series)
                  in the path and holds no UID list: a server that answers only hierarchical
                  queries, as dcmqrscp does
With --token T every request must carry "Authorization: Bearer T" (else 401).
Usage: hostile_dicomweb.py PORT_FILE UPSTREAM FAULT [--token T] [--file DCM]
The port it listens on (127.0.0.1, chosen by the system) is written to PORT_FILE.
"""
import argparse
import http.server
import socket
import time
import urllib.error
import urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("port_file")
parser.add_argument("upstream")
parser.add_argument("fault")
parser.add_argument("--token", default="")
parser.add_argument("--file", default="")
args = parser.parse_args()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_plain(self, status, body=b"", ctype="application/dicom+json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def upstream(self, body=None):
        req = urllib.request.Request(args.upstream + self.path, data=body, method=self.command)
        for h in ("Accept", "Content-Type"):
            if self.headers.get(h):
                req.add_header(h, self.headers[h])
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read()

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if args.token and self.headers.get("Authorization") != "Bearer " + args.token:
            self.send_plain(401, b"{}", extra=[("WWW-Authenticate", 'Bearer realm="dicomweb"')])
            return
        fault = args.fault
        if fault.startswith("status:"):
            self.send_plain(int(fault[7:]), b"{}")
            return
        wado = self.command == "GET" and self.headers.get("Accept", "").startswith("multipart/related")
        if fault == "hierarchical" and self.command == "GET" and not wado:
            path = self.path.split("?")[0].rstrip("/").split("/")
            query = self.path.partition("?")[2]
            level = path[-1]
            relational = ((level == "series" and "studies" not in path) or
                          (level == "instances" and "series" not in path) or "%2C" in query or "," in query)
            if relational:
                self.send_plain(400, b'{"error": "hierarchical queries only"}')
                return
        if fault == "stow-refuse" and self.command == "POST":
            # the SOP Instance UID of the posted instance is not parsed here: the failure names none,
            # and the client must not count the store as done
            self.send_plain(409, b'{"00081198": {"vr": "SQ", "Value": [{"00081197": {"vr": "US", "Value": [42752]}}]}}')
            return
        if fault == "qido-flood" and not wado and self.path.split("?")[0].endswith("/studies"):
            one = '{"0020000D": {"vr": "UI", "Value": ["2.25.%d"]}, "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Flood^%d"}]}}'
            self.send_plain(200, ("[" + ",".join(one % (i, i) for i in range(50000)) + "]").encode())
            return
        if not wado or fault in ("none", "stow-refuse", "hierarchical", "qido-flood"):
            status, ctype, data = self.upstream(body)
            self.send_plain(status, data, ctype or "application/octet-stream")
            return
        boundary = "hostile-boundary"
        ctype = 'multipart/related; type="application/dicom"; boundary=' + boundary
        if fault == "not-multipart":
            self.send_plain(200, b"<html>login</html>", "text/html")
        elif fault == "truncate":
            status, upstream_type, data = self.upstream()
            self.send_response(status)
            self.send_header("Content-Type", upstream_type)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif fault == "other-instance":
            data = open(args.file, "rb").read()
            payload = (b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + data +
                       b"\r\n--" + boundary.encode() + b"--\r\n")
            self.send_plain(200, payload, ctype)
        elif fault == "many-parts":
            part = b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\nx\r\n"
            self.send_plain(200, part * 50 + b"--" + boundary.encode() + b"--\r\n", ctype)
        elif fault == "dribble":
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            body = b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + b"\0" * 2000
            try:
                for i in range(0, min(len(body), 1200), 10):
                    self.wfile.write(body[i:i + 10])
                    self.wfile.flush()
                    time.sleep(1)
            except (BrokenPipeError, ConnectionResetError, socket.error):
                pass
        elif fault == "huge":
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            chunk = b"\0" * (1 << 20)
            try:
                self.wfile.write(b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n")
                for _ in range(1024):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError, socket.error):
                pass
        else:
            self.send_plain(500, b"unknown fault")

    do_GET = handle_any
    do_POST = handle_any


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os  # noqa: E402

os.rename(args.port_file + ".tmp", args.port_file)
server.serve_forever()
