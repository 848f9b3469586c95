// rados_probe CONF POOL: runs, against a live cluster, each librados call a RADOS store would
// rely on, and prints what each returned. Not part of the product: it settles the exact return
// codes (a stale compare-and-swap, a lock held by someone else, a write by a fenced client)
// before the backend is written against them.
//
// Start a cluster with tests/testing/ceph_cluster.sh; exits 0 only when every result is the
// one expected.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <map>
#include <rados/librados.hpp>
#include <set>
#include <string>

namespace {

int failures = 0;
const char* g_conf = nullptr;  // argv[1]
const char* g_pool = nullptr;  // argv[2]

std::string Describe(int r) {
  if (r >= 0) return std::to_string(r);
  return std::to_string(r) + " (-" + strerrorname_np(-r) + ": " + std::strerror(-r) + ")";
}

// Prints one result and whether it is the expected one.
void Check(const char* what, int got, int want) {
  const bool ok = got == want;
  if (!ok) ++failures;
  std::printf("%-4s %-72s -> %s", ok ? "ok" : "FAIL", what, Describe(got).c_str());
  if (!ok) std::printf("   [expected %s]", Describe(want).c_str());
  std::printf("\n");
}

void Note(const std::string& s) { std::printf("     %s\n", s.c_str()); }

librados::bufferlist Bl(const std::string& s) {
  librados::bufferlist bl;
  bl.append(s);
  return bl;
}

int WriteFull(librados::IoCtx& io, const std::string& oid, const std::string& data) {
  librados::bufferlist bl = Bl(data);
  return io.write_full(oid, bl);
}

// Connects a new client (one Rados instance: one address and nonce, one entity client.N).
bool Connect(librados::Rados& rados, librados::IoCtx& io, const char* conf, const char* pool,
             const char* name) {
  int r = rados.init2("client.admin", "ceph", 0);
  if (r == 0) r = rados.conf_read_file(conf);
  if (r == 0) r = rados.connect();
  if (r == 0) r = rados.ioctx_create(pool, io);
  Check((std::string("connect ") + name).c_str(), r, 0);
  if (r != 0) return false;
  Note(std::string(name) + " is client." + std::to_string(rados.get_instance_id()) + " at " +
       rados.get_addrs());
  return true;
}

std::string ReadAll(librados::IoCtx& io, const std::string& oid, int* r) {
  librados::bufferlist bl;
  *r = io.read(oid, bl, 0, 0);
  return bl.to_str();
}

void Basics(librados::IoCtx& io) {
  std::printf("\n== write, read, exclusive create\n");
  const std::string oid = "probe.basic";
  io.remove(oid);
  Check("write_full(probe.basic, \"hello\")", WriteFull(io, oid, "hello"), 0);
  int r;
  const std::string got = ReadAll(io, oid, &r);
  Check("read(probe.basic) returns the byte count", r, 5);
  Check("read back equals what was written", got == "hello" ? 0 : -EIO, 0);
  librados::ObjectWriteOperation create;
  create.create(true);
  Check("operate(create(exclusive)) on an existing object", io.operate(oid, &create), -EEXIST);
  Check("read(probe.missing)", ReadAll(io, "probe.missing", &r).empty() ? r : 0, -ENOENT);
}

void CompareAndSwap(librados::IoCtx& io) {
  std::printf("\n== compare-and-swap with assert_version\n");
  const std::string oid = "probe.cas";
  io.remove(oid);
  Check("write_full(probe.cas, \"v1\")", WriteFull(io, oid, "v1"), 0);
  const uint64_t v1 = io.get_last_version();
  Note("object version after it: " + std::to_string(v1));

  librados::ObjectWriteOperation swap;
  swap.assert_version(v1);
  swap.write_full(Bl("v2"));
  swap.omap_set({{"committed", Bl("v2")}});
  Check("operate(assert_version(v1) + write_full(v2) + omap_set)", io.operate(oid, &swap), 0);
  const uint64_t v2 = io.get_last_version();
  Note("object version after it: " + std::to_string(v2));

  librados::ObjectWriteOperation stale;
  stale.assert_version(v1);
  stale.write_full(Bl("v3"));
  stale.omap_set({{"stale", Bl("v3")}});
  Check("operate(assert_version(v1), stale: object is at v2)", io.operate(oid, &stale), -ERANGE);
  librados::ObjectWriteOperation ahead;
  ahead.assert_version(v2 + 5);
  ahead.write_full(Bl("v4"));
  Check("operate(assert_version(v2 + 5), newer than the object)", io.operate(oid, &ahead),
        -EOVERFLOW);

  int r;
  Check("after both refusals the data is still v2 (nothing applied)",
        ReadAll(io, oid, &r) == "v2" ? 0 : -EIO, 0);
  std::set<std::string> keys;
  Check("omap_get_keys2", io.omap_get_keys2(oid, "", 100, &keys, nullptr), 0);
  Check("the refused op's omap_set left no key", keys.count("stale") ? -EIO : 0, 0);
  Check("the applied op's omap_set is there", keys.count("committed") ? 0 : -ENOENT, 0);

  // A missing object is at version 0, so any version asserted is "newer": a CAS that must
  // also see the object exist needs assert_exists first.
  librados::ObjectWriteOperation missing;
  missing.assert_version(v2);
  missing.write_full(Bl("x"));
  Check("operate(assert_version) on a missing object", io.operate("probe.cas.missing", &missing),
        -EOVERFLOW);
  librados::ObjectWriteOperation missing_exists;
  missing_exists.assert_exists();
  missing_exists.assert_version(v2);
  missing_exists.write_full(Bl("x"));
  Check("operate(assert_exists + assert_version) on a missing object",
        io.operate("probe.cas.missing", &missing_exists), -ENOENT);
  Check("neither created it", ReadAll(io, "probe.cas.missing", &r).empty() ? r : 0, -ENOENT);

  librados::ObjectWriteOperation xattr_guard;
  xattr_guard.cmpxattr("gen", LIBRADOS_CMPXATTR_OP_EQ, Bl("7"));
  xattr_guard.write_full(Bl("v5"));
  Check("operate(cmpxattr(gen == 7)) when gen is unset", io.operate(oid, &xattr_guard), -ECANCELED);
}

void Omap(librados::IoCtx& io) {
  std::printf("\n== omap\n");
  const std::string oid = "probe.omap";
  io.remove(oid);
  std::map<std::string, librados::bufferlist> kv = {
      {"page.0001", Bl("a")}, {"page.0002", Bl("b")}, {"page.0003", Bl("c")}};
  Check("omap_set(3 keys) on a new object (creates it)", io.omap_set(oid, kv), 0);
  Check("omap_set_header", io.omap_set_header(oid, Bl("hdr")), 0);
  std::map<std::string, librados::bufferlist> out;
  bool more = true;
  Check("omap_get_vals2(start_after \"page.0001\", max 10)",
        io.omap_get_vals2(oid, "page.0001", 10, &out, &more), 0);
  Note("returned " + std::to_string(out.size()) + " keys, first " +
       (out.empty() ? "-" : out.begin()->first + "=" + out.begin()->second.to_str()) +
       ", more=" + (more ? "true" : "false"));
  Check("  2 keys after page.0001", static_cast<int>(out.size()), 2);
  Check("omap_rm_keys({page.0002})", io.omap_rm_keys(oid, {"page.0002"}), 0);

  std::map<std::string, std::pair<librados::bufferlist, int>> assertions = {
      {"page.0001", {Bl("z"), LIBRADOS_CMPXATTR_OP_EQ}}};
  int cmp_rval = 0;
  librados::ObjectWriteOperation guarded;
  guarded.omap_cmp(assertions, &cmp_rval);
  guarded.omap_set({{"page.0009", Bl("x")}});
  Check("operate(omap_cmp(page.0001 == \"z\") + omap_set), it is \"a\"", io.operate(oid, &guarded),
        -ECANCELED);
  std::set<std::string> keys;
  io.omap_get_keys2(oid, "", 100, &keys, nullptr);
  Check("keys left: page.0001, page.0003", static_cast<int>(keys.size()), 2);
}

void LocksAndFencing(librados::Rados& ra, librados::IoCtx& a, librados::Rados& rb,
                     librados::IoCtx& b) {
  std::printf("\n== exclusive lock\n");
  const std::string oid = "probe.lock";
  const std::string name = "clonefs.writer";
  a.remove(oid);
  Check("A write_full(probe.lock)", WriteFull(a, oid, "owned by A"), 0);
  const std::string desc = "held by " + ra.get_addrs();
  Check("A lock_exclusive(cookie A-1, no expiry)",
        a.lock_exclusive(oid, name, "A-1", desc, nullptr, 0), 0);
  Check("A lock_exclusive again, same cookie", a.lock_exclusive(oid, name, "A-1", desc, nullptr, 0),
        -EEXIST);
  Check("A lock_exclusive again, same cookie, LIBRADOS_LOCK_FLAG_MAY_RENEW",
        a.lock_exclusive(oid, name, "A-1", desc, nullptr, LIBRADOS_LOCK_FLAG_MAY_RENEW), 0);
  Check("A lock_exclusive, another cookie A-2",
        a.lock_exclusive(oid, name, "A-2", desc, nullptr, 0), -EBUSY);
  Check("B lock_exclusive(cookie B-1)", b.lock_exclusive(oid, name, "B-1", "", nullptr, 0), -EBUSY);
  Check("B unlock(A's cookie A-1): only the owner's entity may", b.unlock(oid, name, "A-1"),
        -ENOENT);
  Check("B write_full while A holds the lock (advisory: allowed)",
        WriteFull(b, "probe.lock.other", "b"), 0);

  int exclusive = 0;
  std::string tag;
  std::list<librados::locker_t> lockers;
  Check("B list_lockers", b.list_lockers(oid, name, &exclusive, &tag, &lockers), 1);
  std::string holder_client, holder_addr;
  for (const auto& l : lockers) {
    Note("locker client=" + l.client + " cookie=" + l.cookie + " address=" + l.address +
         " exclusive=" + std::to_string(exclusive));
    holder_client = l.client;
    holder_addr = l.address;
  }

  std::printf("\n== fencing: B blocklists A, breaks its lock, takes it\n");
  Check("B blocklist_add(A's address from list_lockers, 600 s)", rb.blocklist_add(holder_addr, 600),
        0);
  Check("B break_lock(A's client, cookie A-1)", b.break_lock(oid, name, holder_client, "A-1"), 0);
  Check("B lock_exclusive(cookie B-1)", b.lock_exclusive(oid, name, "B-1", "", nullptr, 0), 0);
  Check("B write_full(probe.lock)", WriteFull(b, oid, "owned by B"), 0);

  Check("A write_full(probe.lock) after being blocklisted", WriteFull(a, oid, "stale A"),
        -ESHUTDOWN);
  Check("A write_full(another object)", WriteFull(a, "probe.lock.a", "stale A"), -ESHUTDOWN);
  librados::bufferlist bl;
  Check("A read(probe.lock)", a.read(oid, bl, 0, 0), -ESHUTDOWN);
  Check("A lock_exclusive(cookie A-1)", a.lock_exclusive(oid, name, "A-1", desc, nullptr, 0),
        -ESHUTDOWN);
  int r;
  Check("the object still holds B's data", ReadAll(b, oid, &r) == "owned by B" ? 0 : -EIO, 0);

  // The blocklist names one client instance (address + nonce), not a host: the fenced
  // process recovers by connecting anew.
  librados::Rados ra2;
  librados::IoCtx a2;
  if (Connect(ra2, a2, g_conf, g_pool, "A again")) {
    Check("A's new connection lock_exclusive while B holds it",
          a2.lock_exclusive(oid, name, "A-3", "", nullptr, 0), -EBUSY);
    Check("A's new connection write_full(probe.lock.a)", WriteFull(a2, "probe.lock.a", "a2"), 0);
    a2.close();
    ra2.shutdown();
  }

  std::string cmd =
      R"({"prefix": "osd blocklist", "blocklistop": "rm", "addr": ")" + holder_addr + R"("})";
  librados::bufferlist in, outbl;
  std::string outs;
  Check("B mon_command(osd blocklist rm A)", rb.mon_command(cmd, in, &outbl, &outs), 0);
  Check("B unlock(cookie B-1)", b.unlock(oid, name, "B-1"), 0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CEPH_CONF POOL\n", argv[0]);
    return 2;
  }
  g_conf = argv[1];
  g_pool = argv[2];
  int major, minor, extra;
  librados::Rados::version(&major, &minor, &extra);
  std::printf("librados %d.%d.%d\n", major, minor, extra);

  librados::Rados ra, rb;
  librados::IoCtx a, b;
  if (!Connect(ra, a, g_conf, g_pool, "A") || !Connect(rb, b, g_conf, g_pool, "B")) return 1;
  Basics(a);
  CompareAndSwap(a);
  Omap(a);
  LocksAndFencing(ra, a, rb, b);
  a.close();
  b.close();
  ra.shutdown();
  rb.shutdown();
  std::printf("\n%s: %d unexpected result(s)\n", failures ? "FAILED" : "OK", failures);
  return failures ? 1 : 0;
}
