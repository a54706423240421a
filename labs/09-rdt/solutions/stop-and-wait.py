#!/usr/bin/env python3
"""Reliable transfer over UDP: stop-and-wait (right, but one datagram per round trip).

    rdt.py receive PORT FILE      receive a file on PORT, write it to FILE
    rdt.py send HOST PORT FILE    send FILE to HOST:PORT

A datagram is a 5-byte header, kind (DATA, END, ACK) and sequence number,
then up to 1024 bytes of the file. The sender keeps up to WINDOW datagrams
unacknowledged, each with its own timer, and retransmits only those whose
timer expired; the receiver acknowledges each datagram it gets, keeps the
ones that arrive out of order and drops duplicates. END carries the number
of datagrams; the receiver writes the file and acknowledges END once it
has them all, then lingers to answer an END sent again because its
acknowledgement was lost.
"""
import socket
import struct
import sys
import time

DATA, END, ACK = 0, 1, 2
HEADER = struct.Struct("!BI")
CHUNK = 1024
WINDOW = 1       # stop-and-wait: one datagram at a time
RTO = 0.2      # seconds: above the link's RTT with its jitter
LINGER = 1.0   # the receiver's wait for a repeated END


def send(host, port, path):
    with open(path, "rb") as f:
        data = f.read()
    chunks = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]
    n = len(chunks)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer = (host, port)
    acked = [False] * n
    sent_at = {}
    base = nxt = 0
    while base < n:
        while nxt < n and nxt < base + WINDOW:
            sock.sendto(HEADER.pack(DATA, nxt) + chunks[nxt], peer)
            sent_at[nxt] = time.monotonic()
            nxt += 1
        now = time.monotonic()
        expired = [s for s in range(base, nxt) if not acked[s] and now - sent_at[s] >= RTO]
        for s in expired:
            sock.sendto(HEADER.pack(DATA, s) + chunks[s], peer)
            sent_at[s] = now
        due = min(sent_at[s] for s in range(base, nxt) if not acked[s]) + RTO
        sock.settimeout(max(due - time.monotonic(), 0.001))
        try:
            pkt, _ = sock.recvfrom(2048)
        except socket.timeout:
            continue
        kind, seq = HEADER.unpack_from(pkt)
        if kind == ACK and seq < n:
            acked[seq] = True
            while base < n and acked[base]:
                base += 1
    # Every datagram is acknowledged: say how many there were.
    sock.settimeout(RTO)
    for _ in range(50):
        sock.sendto(HEADER.pack(END, n), peer)
        try:
            while True:
                pkt, _ = sock.recvfrom(2048)
                kind, seq = HEADER.unpack_from(pkt)
                if kind == ACK and seq == n:
                    return 0
        except socket.timeout:
            pass
    print("no acknowledgement of END", file=sys.stderr)
    return 1


def receive(port, path):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", port))
    got = {}
    done = False
    while True:
        try:
            pkt, peer = sock.recvfrom(2048)
        except socket.timeout:
            return 0  # done, and no END came again
        if len(pkt) < HEADER.size:
            continue
        kind, seq = HEADER.unpack_from(pkt)
        if kind == DATA:
            got.setdefault(seq, pkt[HEADER.size:])
            sock.sendto(HEADER.pack(ACK, seq), peer)
        elif kind == END and all(s in got for s in range(seq)):
            if not done:
                with open(path, "wb") as f:
                    for s in range(seq):
                        f.write(got[s])
                done = True
                sock.settimeout(LINGER)
            sock.sendto(HEADER.pack(ACK, seq), peer)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "receive":
        sys.exit(receive(int(sys.argv[2]), sys.argv[3]))
    if len(sys.argv) == 5 and sys.argv[1] == "send":
        sys.exit(send(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
    sys.exit("usage: rdt.py receive PORT FILE | send HOST PORT FILE")
