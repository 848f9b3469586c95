#include "store/rados/rados_cluster.h"

#include <cerrno>
#include <cstring>

namespace clonefs::store {

RadosCluster::RadosCluster(Options options)
    : options_(std::move(options)), description_("rados://" + options_.pool + "/" + options_.ns) {}

RadosCluster::~RadosCluster() {
  io_.close();        // before the client it belongs to goes
  rados_.shutdown();  // a no-op when init() never succeeded
}

Result<std::shared_ptr<RadosCluster>> RadosCluster::Connect(const Options& options) {
  std::shared_ptr<RadosCluster> c(new RadosCluster(options));
  const std::string where = "ceph cluster of " + options.conf_path;
  CLONEFS_RETURN_IF_ERROR(
      c->Check(c->rados_.init(options.client_id.c_str()), "init client." + options.client_id));
  CLONEFS_RETURN_IF_ERROR(
      c->Check(c->rados_.conf_read_file(options.conf_path.c_str()), "read " + options.conf_path));
  const std::string timeout = std::to_string(options.op_timeout_seconds);
  for (const char* key : {"rados_osd_op_timeout", "rados_mon_op_timeout"}) {
    CLONEFS_RETURN_IF_ERROR(
        c->Check(c->rados_.conf_set(key, timeout.c_str()), std::string("set ") + key));
  }
  // The monitor timeout also bounds connect(): a cluster that is down fails here, in time.
  CLONEFS_RETURN_IF_ERROR(c->Check(c->rados_.connect(), "connect to " + where));
  const int r = c->rados_.ioctx_create(options.pool.c_str(), c->io_);
  if (r == -ENOENT) {
    return Status::NotFound("pool '" + options.pool + "' does not exist in the " + where);
  }
  CLONEFS_RETURN_IF_ERROR(c->Check(r, "open pool"));
  c->io_.set_namespace(options.ns);
  return c;
}

Status RadosCluster::Check(int r, std::string_view what, std::string_view object) const {
  if (r >= 0) return Status::OK();
  std::string context = description_;
  if (!object.empty()) context.append("/").append(object);
  context.append(": ").append(what);
  const std::string msg = context + ": ";
  const int err = -r;
  switch (err) {
    case ESHUTDOWN:
      return Status::IOError(msg + "this client was blocklisted (fenced) by the cluster", err);
    case ETIMEDOUT:
      return Status::IOError(msg + "no answer from the cluster in " +
                                 std::to_string(options_.op_timeout_seconds) + " s",
                             err);
    case EEXIST:
      return Status::AlreadyExists(msg + std::strerror(err));
    case EBUSY:
      return Status::Busy(msg + std::strerror(err));
    default:
      // ENOENT -> NotFound, ENOSPC/EDQUOT -> NoSpace, anything else IOError with the errno.
      return Status::FromErrno(err, context);
  }
}

Result<std::string> RadosCluster::MonCommand(const std::string& json) {
  librados::bufferlist in, out;
  std::string outs;
  const int r = rados_.mon_command(json, in, &out, &outs);
  if (r < 0) return Check(r, "monitor command " + json + (outs.empty() ? "" : " (" + outs + ")"));
  return out.to_str();
}

}  // namespace clonefs::store
