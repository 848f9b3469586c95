#!/usr/bin/env python3
"""Round-trip time of snapshot and clone creation on the daemon's control socket.

    clone_bench_rtt.py SOCKET TAG VOLUME...

On one connection, for each operation (snapshot.create, then volume.clone) and each VOLUME:
sends a no-op store.info, then the operation (naming the new object VOLUME-TAG-snap or
VOLUME-TAG-clone), timing each from the request's send to the end of its answer. Prints one
line per operation: "OP VOLUME MS BASELINE_MS". This leaves out what the CLI wall time also
counts: starting clonectl and connecting.
"""
import json
import socket
import sys
import time


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    path, tag, volumes = sys.argv[1], sys.argv[2], sys.argv[3:]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    stream = sock.makefile("rb")

    def call(command, args=None):
        line = json.dumps({"command": command, "args": args or {}}).encode() + b"\n"
        t0 = time.perf_counter_ns()
        sock.sendall(line)
        answer = stream.readline()
        elapsed = (time.perf_counter_ns() - t0) / 1e6
        reply = json.loads(answer)
        if not reply.get("ok"):
            sys.exit(f"{command} {args}: {reply.get('error')}")
        return elapsed

    for op in ("snapshot", "clone"):
        for vol in volumes:
            base = call("store.info")
            if op == "snapshot":
                ms = call("snapshot.create", {"volume": vol, "name": f"{vol}-{tag}-snap"})
            else:
                ms = call("volume.clone", {"source": vol, "name": f"{vol}-{tag}-clone"})
            print(f"{op} {vol} {ms:.3f} {base:.3f}")
    sock.close()


if __name__ == "__main__":
    main()
