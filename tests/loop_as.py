#!/usr/bin/env python3
"""loop_as.py USER FILE: attaches FILE, opened as Unix user USER, to a free loop device (run as
root) and prints the device.

In a clonefs mount each account sees only its own images, so root cannot open another
account's image by name (and losetup would open it as root). Here a child drops to USER, opens
FILE read-write and hands the open file to root over a socket pair; root gives that very file
to the loop driver (LOOP_SET_FD), so the device reads and writes through USER's open.
"""
import array
import fcntl
import os
import pwd
import socket
import sys

LOOP_CTL_GET_FREE = 0x4C82
LOOP_SET_FD = 0x4C00


def main():
    user, path = sys.argv[1], sys.argv[2]
    pw = pwd.getpwnam(user)
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        parent.close()
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError as e:
            child.sendall(("ERR " + str(e)).encode())
            os._exit(1)
        child.sendmsg([b"OK"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
        os._exit(0)
    child.close()
    fds = array.array("i")
    msg, ancdata, _, _ = parent.recvmsg(256, socket.CMSG_LEN(fds.itemsize))
    os.waitpid(pid, 0)
    if not msg.startswith(b"OK"):
        sys.exit("loop_as: %s cannot open %s: %s" % (user, path, msg.decode()[4:]))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: fds.itemsize])
    ctl = os.open("/dev/loop-control", os.O_RDWR)
    n = fcntl.ioctl(ctl, LOOP_CTL_GET_FREE)
    os.close(ctl)
    dev = "/dev/loop%d" % n
    loop = os.open(dev, os.O_RDWR)
    fcntl.ioctl(loop, LOOP_SET_FD, fds[0])
    os.close(loop)
    os.close(fds[0])  # the loop device holds its own reference
    print(dev)


main()
