#!/usr/bin/env python3
"""Data generation and verification for the integration tests in tests/.

Subcommands:
  json-get KEY            print the first value whose key matches KEY (case, '_' and '-'
                          ignored) anywhere in the JSON document read from stdin
  mkfiles DIR SEED MIB    write a deterministic tree of files (one big file of MIB MiB)
  records-write ...       write numbered 4 KiB records, fsync in batches, log each acknowledged one
  records-verify ...      check that every logged record is on the volume byte for byte
  fill ...                write checksummed chunks with fsync until ENOSPC, log the acknowledged ones
  verify-chunks ...       check every logged chunk against its checksum
Exit status 0 means success; anything else is a failure described on stderr.
"""

import argparse
import errno
import hashlib
import json
import mmap
import os
import random
import struct
import sys

RECORD = 4096


def norm(key):
    return key.lower().replace("_", "").replace("-", "")


def find_key(doc, want):
    if isinstance(doc, dict):
        for k, v in doc.items():
            if norm(k) == want:
                return True, v
        for v in doc.values():
            ok, found = find_key(v, want)
            if ok:
                return ok, found
    elif isinstance(doc, list):
        for v in doc:
            ok, found = find_key(v, want)
            if ok:
                return ok, found
    return False, None


def cmd_json_get(a):
    text = sys.stdin.read()
    try:
        doc = json.loads(text)
    except ValueError as e:
        sys.exit(f"json-get: not JSON ({e}): {text[:200]!r}")
    ok, v = find_key(doc, norm(a.key))
    if not ok:
        sys.exit(f"json-get: no key {a.key!r} in {text[:400]!r}")
    print(json.dumps(v) if isinstance(v, (dict, list)) else v)


def cmd_mkfiles(a):
    rng = random.Random(a.seed)
    os.makedirs(a.dir, exist_ok=True)

    def write(path, data):
        with open(path, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())

    # One big incompressible file, written in 1 MiB pieces.
    with open(os.path.join(a.dir, "big.bin"), "wb") as f:
        for _ in range(a.mib):
            f.write(rng.randbytes(1 << 20))
        f.flush()
        os.fsync(f.fileno())
    sub = os.path.join(a.dir, "tree", "deeper")
    os.makedirs(sub, exist_ok=True)
    for i in range(40):
        size = rng.randint(1, 300 << 10)
        where = sub if i % 3 == 0 else os.path.join(a.dir, "tree")
        write(os.path.join(where, f"file{i:03d}.bin"), rng.randbytes(size))
    # Compressible and zero-filled content too (zero pages are stored differently).
    write(os.path.join(a.dir, "text.txt"), "".join(f"line {i} of clonefs test data\n" for i in range(50000)).encode())
    write(os.path.join(a.dir, "zeros.bin"), bytes(3 << 20))
    fd = os.open(a.dir, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def record_bytes(run, idx):
    head = struct.pack("<8sQQ", b"CLONEREC", run, idx)
    seed = hashlib.sha256(f"{run}:{idx}".encode()).digest()
    body = (seed * (RECORD // len(seed) + 1))[: RECORD - len(head)]
    return head + body


def record_offset(idx, pages):
    # pages is a power of two and the multiplier is odd: a bijection that scatters records.
    return ((idx * 40503) % pages) * RECORD


def cmd_records_write(a):
    flags = os.O_RDWR
    if a.mode == "direct":
        flags |= os.O_DIRECT
    fd = os.open(a.file, flags)
    buf = mmap.mmap(-1, RECORD * a.batch)  # page-aligned, as O_DIRECT needs
    logf = open(a.log, "a")
    sync = os.fdatasync if a.mode == "fdatasync" else os.fsync
    idx = a.start
    end = a.start + a.count
    while idx < end:
        n = min(a.batch, end - idx)
        for j in range(n):
            buf[j * RECORD:(j + 1) * RECORD] = record_bytes(a.run, idx + j)
        # Contiguous indexes are scattered: one pwrite per record.
        for j in range(n):
            os.pwrite(fd, memoryview(buf)[j * RECORD:(j + 1) * RECORD],
                      record_offset(idx + j, a.pages))
        sync(fd)
        logf.write("".join(f"{a.run} {idx + j}\n" for j in range(n)))
        logf.flush()
        os.fsync(logf.fileno())
        idx += n
    print(f"records-write: run {a.run} wrote all {a.count} records")


def cmd_records_verify(a):
    fd = os.open(a.file, os.O_RDONLY)
    bad = 0
    total = 0
    with open(a.log) as logf:
        for line in logf:
            run, idx = map(int, line.split())
            total += 1
            got = os.pread(fd, RECORD, record_offset(idx, a.pages))
            if got != record_bytes(run, idx):
                bad += 1
                if bad <= 10:
                    head = got[:24]
                    print(f"records-verify: record run={run} idx={idx} at offset "
                          f"{record_offset(idx, a.pages)} differs (head {head!r})", file=sys.stderr)
    if bad:
        sys.exit(f"records-verify: {bad} of {total} acknowledged records lost or wrong")
    if total < a.min:
        sys.exit(f"records-verify: only {total} acknowledged records (< {a.min}): test proves little")
    print(f"records-verify: all {total} acknowledged records intact")


def cmd_fill(a):
    chunk = a.chunk_mib << 20
    fd = os.open(a.file, os.O_RDWR)
    logf = open(a.log, "a")
    i = a.start
    while i < a.start + a.max:
        data = os.urandom(chunk)
        try:
            os.pwrite(fd, data, i * chunk)
            os.fsync(fd)
        except OSError as e:
            if e.errno == errno.ENOSPC and a.expect_space:
                sys.exit(f"fill: ENOSPC at chunk {i} although space was expected")
            if e.errno == errno.ENOSPC:
                print(f"fill: ENOSPC at chunk {i} after {i - a.start} acknowledged chunks")
                sys.exit(0)
            sys.exit(f"fill: chunk {i}: expected ENOSPC, got errno {e.errno} ({e.strerror})")
        logf.write(f"{i} {hashlib.sha256(data).hexdigest()}\n")
        logf.flush()
        os.fsync(logf.fileno())
        i += 1
    print(f"fill: wrote {a.max} chunks without ENOSPC")
    sys.exit(0 if a.expect_space else 3)


def cmd_verify_chunks(a):
    chunk = a.chunk_mib << 20
    fd = os.open(a.file, os.O_RDONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, chunk)
    n = 0
    with open(a.log) as logf:
        for line in logf:
            i, digest = line.split()
            i = int(i)
            got = os.preadv(fd, [buf], i * chunk)
            if got != chunk or hashlib.sha256(buf).hexdigest() != digest:
                sys.exit(f"verify-chunks: chunk {i} (offset {i * chunk}) lost or wrong")
            n += 1
    if n < a.min:
        sys.exit(f"verify-chunks: only {n} chunks logged (< {a.min})")
    print(f"verify-chunks: all {n} acknowledged chunks intact")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("json-get")
    s.add_argument("key")
    s.set_defaults(fn=cmd_json_get)

    s = sub.add_parser("mkfiles")
    s.add_argument("dir")
    s.add_argument("seed", type=int)
    s.add_argument("mib", type=int)
    s.set_defaults(fn=cmd_mkfiles)

    for name, fn in (("records-write", cmd_records_write), ("records-verify", cmd_records_verify)):
        s = sub.add_parser(name)
        s.add_argument("--file", required=True)
        s.add_argument("--log", required=True)
        s.add_argument("--pages", type=int, required=True, help="volume size in 4 KiB pages (power of 2)")
        if name == "records-write":
            s.add_argument("--run", type=int, required=True)
            s.add_argument("--start", type=int, required=True)
            s.add_argument("--count", type=int, required=True)
            s.add_argument("--batch", type=int, default=16)
            s.add_argument("--mode", choices=("fsync", "fdatasync", "direct"), default="fsync")
        else:
            s.add_argument("--min", type=int, default=1)
        s.set_defaults(fn=fn)

    for name, fn in (("fill", cmd_fill), ("verify-chunks", cmd_verify_chunks)):
        s = sub.add_parser(name)
        s.add_argument("--file", required=True)
        s.add_argument("--log", required=True)
        s.add_argument("--chunk-mib", type=int, default=1)
        if name == "fill":
            s.add_argument("--start", type=int, default=0)
            s.add_argument("--max", type=int, required=True)
            s.add_argument("--expect-space", action="store_true",
                           help="succeed when all chunks fit (no ENOSPC expected)")
        else:
            s.add_argument("--min", type=int, default=1)
        s.set_defaults(fn=fn)

    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
