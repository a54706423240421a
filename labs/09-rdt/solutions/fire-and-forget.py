#!/usr/bin/env python3
"""Sends every datagram once and hopes: no acknowledgements, no timers.

The receiver appends what arrives in the order it arrives and stops at END.
Right on a clean link; a lost, duplicated or late datagram corrupts the
file (or a lost END leaves the receiver waiting).
"""
import socket
import struct
import sys

DATA, END = 0, 1
HEADER = struct.Struct("!BI")
CHUNK = 1024


def send(host, port, path):
    with open(path, "rb") as f:
        data = f.read()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    n = 0
    for i in range(0, len(data), CHUNK):
        sock.sendto(HEADER.pack(DATA, n) + data[i:i + CHUNK], (host, port))
        n += 1
    sock.sendto(HEADER.pack(END, n), (host, port))
    return 0


def receive(port, path):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))
    with open(path, "wb") as f:
        while True:
            pkt, _ = sock.recvfrom(2048)
            kind, _ = HEADER.unpack_from(pkt)
            if kind == END:
                return 0
            f.write(pkt[HEADER.size:])


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "receive":
        sys.exit(receive(int(sys.argv[2]), sys.argv[3]))
    if len(sys.argv) == 5 and sys.argv[1] == "send":
        sys.exit(send(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    sys.exit("usage: rdt.py receive PORT FILE | send HOST PORT FILE")
