#!/usr/bin/env python3
"""Cluster DNS for the test kubelet node, in place of CoreDNS.

Answers A queries for headless Services from the API server's
EndpointSlices, read at query time (so a pod's record exists as soon as the
EndpointSlice controller has written it):

    HOST.SERVICE.NS.svc.DOMAIN  -> the endpoint whose hostname is HOST
    SERVICE.NS.svc.DOMAIN       -> every endpoint address of SERVICE

Not-ready endpoints are answered too (trainctl's Services set
publishNotReadyAddresses). Any other name is NXDOMAIN; nothing is
forwarded. UDP only, one thread.

usage: dns.py ADDR PORT SERVER CA CERT KEY [DOMAIN]
"""
import json
import socket
import ssl
import struct
import sys
import urllib.parse
import urllib.request


def parse_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        if n == 0:
            return labels, off + 1
        if n & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(msg[off + 1:off + 1 + n].decode("ascii").lower())
        off += 1 + n


class Resolver:
    def __init__(self, server, ca, cert, key, domain):
        self.server = server.rstrip("/")
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.load_cert_chain(cert, key)
        self.suffix = ["svc"] + domain.lower().split(".")

    def endpoints(self, ns, svc):
        q = urllib.parse.urlencode({"labelSelector": "kubernetes.io/service-name=" + svc})
        url = "%s/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?%s" % (
            self.server, urllib.parse.quote(ns), q)
        with urllib.request.urlopen(url, context=self.ctx, timeout=5) as r:
            body = json.load(r)
        for sl in body.get("items", []):
            if sl.get("addressType") != "IPv4":
                continue
            for ep in sl.get("endpoints") or []:
                for a in ep.get("addresses") or []:
                    yield ep.get("hostname"), a

    def lookup(self, labels):
        """list of IPv4 addresses, or None for a name that does not exist"""
        k = len(self.suffix)
        if len(labels) <= k or labels[-k:] != self.suffix:
            return None
        head = labels[:-k]
        if len(head) == 2:
            svc, ns = head
            addrs = [a for _, a in self.endpoints(ns, svc)]
        elif len(head) == 3:
            host, svc, ns = head
            addrs = [a for h, a in self.endpoints(ns, svc) if h == host]
        else:
            return None
        return addrs or None


def answer(res, msg):
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    if qd != 1:
        return struct.pack("!HHHHHH", qid, 0x8000 | (flags & 0x0100) | 4, 0, 0, 0, 0)
    labels, end = parse_name(msg, 12)
    qtype, qclass = struct.unpack("!HH", msg[end:end + 4])
    question = msg[12:end + 4]
    rcode, records = 0, []
    try:
        addrs = res.lookup(labels)
    except Exception as e:  # the API server unreachable: SERVFAIL
        print("dns: %s: %s" % (".".join(labels), e), file=sys.stderr, flush=True)
        addrs, rcode = None, 2
    if addrs is None and rcode == 0:
        rcode = 3
    elif addrs and qtype in (1, 255) and qclass == 1:
        for a in addrs:
            records.append(b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + socket.inet_aton(a))
    hdr = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | rcode, 1,
                      len(records), 0, 0)
    return hdr + question + b"".join(records)


def main():
    if len(sys.argv) not in (7, 8):
        print(__doc__, file=sys.stderr)
        return 2
    addr, port, server, ca, cert, key = sys.argv[1:7]
    domain = sys.argv[7] if len(sys.argv) == 8 else "cluster.local"
    res = Resolver(server, ca, cert, key, domain)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    print("dns: serving on %s:%s" % (addr, port), file=sys.stderr, flush=True)
    while True:
        msg, peer = s.recvfrom(512)
        try:
            out = answer(res, msg)
        except (ValueError, IndexError, struct.error):
            continue  # not a query we can parse: drop it
        s.sendto(out, peer)


if __name__ == "__main__":
    sys.exit(main())
