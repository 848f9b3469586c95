// fuse_null: a FUSE filesystem that does no work, to measure what the kernel's FUSE path itself
// allows on a machine.
//
//   fuse_null MOUNTPOINT SIZE_BYTES [-f] [--splice]
//
// Serves one regular file, /null, of SIZE_BYTES bytes: writes are received and dropped, reads
// return zeros. The session is set up exactly like the clonefs daemon's (fs/fuse_adapter.cc,
// VolumeFs::Init, tools/clonefs_main.cc): the same API level, mount options, connection
// parameters (1 MiB max_write, max_background 64, no writeback cache), open flags, worker pool
// and malloc tuning, and writes arrive through the same plain write handler. So a volume's
// shortfall against /null is the daemon's own cost, and /null's shortfall against a plain file
// is FUSE's: bench/fuse_ceiling.sh measures all three.
//
// -f stays in the foreground (otherwise it detaches once mounted). --splice asks for
// FUSE_CAP_SPLICE_READ, _WRITE and _MOVE: write data then stays in a pipe until the write_buf
// handler copies it into a buffer, and reads are answered from a file descriptor (a memfd of
// zeros), which libfuse splices to /dev/fuse; libfuse only splices replies whose data is
// fd-backed. libfuse splices a request or reply only if its per-thread pipe can hold all of it
// (1 MiB plus a header), which takes fs.pipe-max-size above 1 MiB (the default) or
// CAP_SYS_RESOURCE; otherwise it silently falls back to read(2) and writev(2), and fuse_null
// says so at startup. Unmount with `fusermount3 -u MOUNTPOINT`.
#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "fs/fuse_api.h"

namespace {

constexpr fuse_ino_t kFileIno = 2;
constexpr const char* kFileName = "null";
// No request carries more: the kernel's requests are at most max_pages (max_write) long.
constexpr size_t kMaxRequest = 1u << 20;

struct NullFs {
  uint64_t size = 0;
  bool splice = false;
  int zero_fd = -1;  // --splice: kMaxRequest bytes of zeros for fd-backed read replies
};

NullFs* Fs(fuse_req_t req) { return static_cast<NullFs*>(fuse_req_userdata(req)); }

struct stat Stat(const NullFs& fs, fuse_ino_t ino) {
  struct stat st {};
  st.st_ino = ino;
  st.st_uid = getuid();
  st.st_gid = getgid();
  if (ino == FUSE_ROOT_ID) {
    st.st_mode = S_IFDIR | 0755;
    st.st_nlink = 2;
  } else {
    st.st_mode = S_IFREG | 0600;
    st.st_nlink = 1;
    st.st_size = static_cast<off_t>(fs.size);
    st.st_blksize = 4096;
    st.st_blocks = static_cast<blkcnt_t>((fs.size + 511) / 512);
  }
  return st;
}

// The same connection parameters as VolumeFs::Init and VolumeFsOptions.
void Init(void* userdata, fuse_conn_info* conn) {
  const auto* fs = static_cast<NullFs*>(userdata);
  conn->max_write = 1u << 20;
  conn->max_background = 64;
  conn->congestion_threshold = 64 * 3 / 4;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  if (fs->splice) {
    conn->want |=
        conn->capable & (FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
  } else {
    conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
  }
  fprintf(stderr, "fuse_null: protocol %u.%u, max_write %u KiB, splice read/write/move %d/%d/%d\n",
          conn->proto_major, conn->proto_minor, conn->max_write >> 10,
          !!(conn->want & FUSE_CAP_SPLICE_READ), !!(conn->want & FUSE_CAP_SPLICE_WRITE),
          !!(conn->want & FUSE_CAP_SPLICE_MOVE));
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (parent != FUSE_ROOT_ID || std::strcmp(name, kFileName) != 0) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_entry_param e{};
  e.ino = kFileIno;
  e.attr = Stat(*Fs(req), kFileIno);
  e.attr_timeout = e.entry_timeout = 1.0;  // FuseOptions::entry_timeout_s
  fuse_reply_entry(req, &e);
}

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  struct stat st = Stat(*Fs(req), ino);
  fuse_reply_attr(req, &st, 1.0);
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino != kFileIno) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  fi->keep_cache = 0;  // as for a volume (VolumeFs::OpenInto)
  fi->direct_io = 0;
  fuse_reply_open(req, fi);
}

void Read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info*) {
  static const std::unique_ptr<char[]> zeros(new char[kMaxRequest]());
  const NullFs& fs = *Fs(req);
  uint64_t start = static_cast<uint64_t>(off);
  size_t n = start >= fs.size ? 0 : std::min<uint64_t>({size, fs.size - start, kMaxRequest});
  if (!fs.splice || n == 0) {
    fuse_reply_buf(req, zeros.get(), n);  // what VolumeFs::Read does with its bytes
    return;
  }
  fuse_bufvec bufv = FUSE_BUFVEC_INIT(n);
  bufv.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  bufv.buf[0].fd = fs.zero_fd;
  bufv.buf[0].pos = 0;
  fuse_reply_data(req, &bufv, FUSE_BUF_SPLICE_MOVE);
}

// The data has already been received into libfuse's buffer; a null device drops it.
void Write(fuse_req_t req, fuse_ino_t, const char*, size_t size, off_t, fuse_file_info*) {
  fuse_reply_write(req, size);
}

// --splice only: the data is still in a pipe; receive it into a buffer, as a daemon that works
// on the bytes must, then drop it.
void WriteBuf(fuse_req_t req, fuse_ino_t, fuse_bufvec* in, off_t, fuse_file_info*) {
  thread_local std::unique_ptr<char[]> buf(new char[kMaxRequest]);
  size_t size = std::min(fuse_buf_size(in), kMaxRequest);
  fuse_bufvec dst = FUSE_BUFVEC_INIT(size);
  dst.buf[0].mem = buf.get();
  ssize_t got = fuse_buf_copy(&dst, in, static_cast<fuse_buf_copy_flags>(0));
  if (got < 0) {
    fuse_reply_err(req, static_cast<int>(-got));
    return;
  }
  fuse_reply_write(req, static_cast<size_t>(got));
}

void Ok(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }
void Fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) { fuse_reply_err(req, 0); }

void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  if (ino != FUSE_ROOT_ID) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  const char* names[] = {".", "..", kFileName};
  std::string out(size, '\0');
  size_t used = 0;
  for (off_t i = off; i < 3; ++i) {
    struct stat st {};
    st.st_ino = i == 2 ? kFileIno : FUSE_ROOT_ID;
    st.st_mode = i == 2 ? S_IFREG : S_IFDIR;
    size_t len = fuse_add_direntry(req, out.data() + used, size - used, names[i], &st, i + 1);
    if (len > size - used) break;
    used += len;
  }
  fuse_reply_buf(req, out.data(), used);
}

int Usage() {
  fprintf(stderr, "usage: fuse_null MOUNTPOINT SIZE_BYTES [-f] [--splice]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  mallopt(M_ARENA_MAX, 4);  // as the clonefs daemon (tools/clonefs_main.cc)
  mallopt(M_TRIM_THRESHOLD, 1 << 20);
  NullFs fs;
  const char* mountpoint = nullptr;
  const char* size_arg = nullptr;
  bool foreground = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-f") {
      foreground = true;
    } else if (a == "--splice") {
      fs.splice = true;
    } else if (a.empty() || a[0] == '-' || size_arg != nullptr) {
      return Usage();
    } else if (mountpoint == nullptr) {
      mountpoint = argv[i];
    } else {
      size_arg = argv[i];
    }
  }
  if (size_arg == nullptr) return Usage();
  char* end = nullptr;
  fs.size = std::strtoull(size_arg, &end, 10);
  if (*end != '\0' || fs.size == 0) return Usage();
  if (fs.splice) {
    fs.zero_fd = memfd_create("fuse_null-zeros", MFD_CLOEXEC);
    std::unique_ptr<char[]> zeros(new char[kMaxRequest]());
    if (fs.zero_fd < 0 || pwrite(fs.zero_fd, zeros.get(), kMaxRequest, 0) != ssize_t{kMaxRequest}) {
      perror("fuse_null: memfd");
      return 1;
    }
    int p[2];
    if (pipe(p) == 0) {
      if (fcntl(p[0], F_SETPIPE_SZ, kMaxRequest + 2 * 4096) < 0) {
        fprintf(stderr,
                "fuse_null: pipes cannot hold a 1 MiB request (fs.pipe-max-size): "
                "libfuse will not splice them\n");
      }
      close(p[0]);
      close(p[1]);
    }
  }

  fuse_lowlevel_ops ops{};
  ops.init = Init;
  ops.lookup = Lookup;
  ops.getattr = GetAttr;
  ops.open = Open;
  ops.read = Read;
  ops.write = Write;
  if (fs.splice) ops.write_buf = WriteBuf;
  ops.flush = Ok;
  ops.release = Ok;
  ops.fsync = Fsync;
  ops.readdir = ReadDir;

  // The options FuseServer::Mount adds to a default clonefs mount.
  const char* argv_fuse[] = {"fuse_null", "-o",
                             "default_permissions,fsname=fuse_null,subtype=fuse_null"};
  fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv_fuse));
  fuse_session* se = fuse_session_new(&args, &ops, sizeof(ops), &fs);
  if (se == nullptr) return 1;
  int rc = 1;
  if (fuse_set_signal_handlers(se) == 0) {
    if (fuse_session_mount(se, mountpoint) == 0) {
      if (fuse_daemonize(foreground) == 0) {
        // FuseServer::Serve's worker pool.
        fuse_loop_config* config = fuse_loop_cfg_create();
        fuse_loop_cfg_set_max_threads(config, 16);
        fuse_loop_cfg_set_idle_threads(config, 16);  // as the daemon: workers stay
        fuse_loop_cfg_set_clone_fd(config, 0);
        rc = fuse_session_loop_mt(se, config) < 0 ? 1 : 0;
        fuse_loop_cfg_destroy(config);
      }
      fuse_session_unmount(se);
    }
    fuse_remove_signal_handlers(se);
  }
  fuse_session_destroy(se);
  return rc;
}
