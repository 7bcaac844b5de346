#!/usr/bin/python3
"""A TLS relay for the tests, so that DCMTK's dcmqrscp (3.6.7: no DICOM TLS of its own) can be a
DICOM TLS peer (scripts/dcmqrscp.sh start DIR --tls PKI).

  tls_proxy.py server PORT TARGET CERT KEY CA READY
      accepts DICOM TLS on 127.0.0.1:PORT (certificate CERT/KEY, the peer's certificate required
      and verified against CA) and relays each connection in clear to 127.0.0.1:TARGET
  tls_proxy.py client PORT TARGET CERT KEY CA READY
      accepts clear connections on 127.0.0.1:PORT and relays each over TLS to 127.0.0.1:TARGET
      (presenting CERT/KEY, verifying the peer's chain against CA): dcmqrscp's C-MOVE
      sub-associations to our storage SCP
  tls_proxy.py https PORT TARGET CERT KEY CA READY
      as server, but a client certificate is optional (verified against CA when presented): HTTPS
      in front of Orthanc's plain HTTP server (scripts/orthanc.sh --https), because Debian 12's
      Orthanc 1.10.1 resets every HTTPS connection of its own (CivetWeb with OpenSSL 3)
READY is created once the port listens. TLS 1.2 or newer; Python's default cipher suites.
"""
import socket
import ssl
import sys
import threading

mode, port, target, cert, key, ca, ready = sys.argv[1:8]


def context():
    if mode in ("server", "https"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.verify_mode = ssl.CERT_REQUIRED if mode == "server" else ssl.CERT_OPTIONAL
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False  # as DICOM peers do: the chain is verified, not the name
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    return ctx


def pipe(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    for s in (source, sink):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def relay(accepted, ctx):
    try:
        outgoing = socket.create_connection(("127.0.0.1", int(target)))
        if mode in ("server", "https"):
            incoming = ctx.wrap_socket(accepted, server_side=True)
        else:
            incoming = accepted
            outgoing = ctx.wrap_socket(outgoing, server_hostname="127.0.0.1")
    except (OSError, ssl.SSLError) as e:
        print(f"tls_proxy.py {mode}: {e}", file=sys.stderr, flush=True)
        accepted.close()
        return
    threading.Thread(target=pipe, args=(incoming, outgoing), daemon=True).start()
    pipe(outgoing, incoming)
    incoming.close()
    outgoing.close()


def main():
    ctx = context()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(port)))
    listener.listen(16)
    open(ready, "w").close()
    while True:
        accepted, _ = listener.accept()
        threading.Thread(target=relay, args=(accepted, ctx), daemon=True).start()


main()
