#!/usr/bin/env python3
"""Creates many volumes and snapshots on the daemon's control socket, for bench/scale_bench.sh.

    scale_populate.py SOCKET MOUNT FIRST LAST SNAPSHOTS_PER_VOLUME

Creates volumes vol-FIRST ... vol-LAST (1 GiB each) on one connection. Into each it writes
SNAPSHOTS_PER_VOLUME times a 4 KiB page of random data at a new offset, through the mounted
volume file, each write followed by a snapshot vol-N-sK, so that every snapshot holds a page
the one before it did not. One connection and no process per call: what is measured later is
how the store copes with the objects, not how long it took to make them.
"""
import json
import os
import socket
import sys


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    path, mount = sys.argv[1], sys.argv[2]
    first, last, per_volume = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    stream = sock.makefile("rb")

    def call(command, args):
        sock.sendall(json.dumps({"command": command, "args": args}).encode() + b"\n")
        reply = json.loads(stream.readline())
        if not reply.get("ok"):
            sys.exit(f"{command} {args}: {reply.get('error')}")

    for n in range(first, last + 1):
        name = f"vol-{n}"
        call("volume.create", {"name": name, "size": "1G"})
        fd = os.open(os.path.join(mount, "volumes", name), os.O_WRONLY)
        try:
            for k in range(per_volume):
                os.pwrite(fd, os.urandom(4096), (k * 7919 + n) % 262144 * 4096)
                call("snapshot.create", {"volume": name, "name": f"{name}-s{k}"})
        finally:
            os.close(fd)
    sock.close()


if __name__ == "__main__":
    main()
