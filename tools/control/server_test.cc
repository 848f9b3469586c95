#include "tools/control/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "tools/control/client.h"
#include "tools/control/socket_io.h"
#include "tools/control/test_util.h"

namespace clonefs::control {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr milliseconds kTimeout(10000);

class ControlServerTest : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    socket_ = ControlSocketPath(dir_);
  }
  std::unique_ptr<ControlServer> StartServer() {
    auto server = ControlServer::Start(store_.get(), socket_);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    return server.ok() ? std::move(server).value() : nullptr;
  }
  json Call(ControlClient& client, const std::string& command, json args = json::object()) {
    auto r = client.Call(MakeRequest(command, std::move(args)), kTimeout);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : json();
  }
  // Connects a raw socket to `path`; -1 on failure.
  static int RawConnect(const std::string& path) {
    sockaddr_un addr;
    if (!MakeSocketAddress(path, &addr).ok()) return -1;
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  std::string socket_;
};

TEST_F(ControlServerTest, RoundTripSeveralRequestsOnOneConnection) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(ControlSocketPath("/var/lib/clonefs/local"), "/var/lib/clonefs/local/control.sock");
  struct stat st;
  ASSERT_EQ(::lstat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto client = ControlClient::Connect(socket_);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  json created = Call(**client, "volume.create", {{"name", "db1"}, {"size", "1G"}});
  EXPECT_EQ(created["ok"], true);
  EXPECT_EQ(created["result"]["VolumeIdentifier"], "db1");
  json dup = Call(**client, "volume.create", {{"name", "db1"}, {"size", "1G"}});
  EXPECT_EQ(dup["error"]["Code"], "VolumeAlreadyExists");
  json list = Call(**client, "volume.list");
  EXPECT_EQ(list["result"]["Volumes"].size(), 1u);
}

TEST_F(ControlServerTest, MalformedRequestGetsAnErrorAndTheConnectionLives) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  int fd = RawConnect(socket_);
  ASSERT_GE(fd, 0);
  ASSERT_OK(SendAll(fd, "this is not json\n\n[]\n{\"command\":\"volume.list\"}\n", std::nullopt));
  LineReader reader(fd);
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  std::vector<json> responses;
  for (int i = 0; i < 3; ++i) {
    auto line = reader.ReadLine(deadline);
    ASSERT_TRUE(line.ok() && line->has_value()) << line.status().ToString();
    responses.push_back(json::parse(line->value()));
  }
  EXPECT_EQ(responses[0]["error"]["Code"], "MalformedRequest");
  EXPECT_EQ(responses[1]["error"]["Code"], "MalformedRequest");  // the blank line is skipped
  EXPECT_EQ(responses[2]["ok"], true);
  ::close(fd);
}

TEST_F(ControlServerTest, OversizedRequestIsRefused) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  int fd = RawConnect(socket_);
  ASSERT_GE(fd, 0);
  std::string huge(kMaxMessageBytes + 100, 'x');
  // The server may close before reading everything; the send result does not matter.
  SendAll(fd, huge, std::chrono::steady_clock::now() + kTimeout).IgnoreError();
  LineReader reader(fd);
  auto line = reader.ReadLine(std::chrono::steady_clock::now() + kTimeout);
  ASSERT_TRUE(line.ok() && line->has_value()) << line.status().ToString();
  EXPECT_EQ(json::parse(line->value())["error"]["Code"], "MalformedRequest");
  ::close(fd);
}

TEST_F(ControlServerTest, ConcurrentClients) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto client = ControlClient::Connect(socket_);
      if (!client.ok()) return;
      for (int i = 0; i < 5; ++i) {
        std::string name = "v";  // built step by step: GCC 12 misreports `"v" + to_string()`
        name += std::to_string(t);
        name += "-";
        name += std::to_string(i);
        auto r = (*client)->Call(MakeRequest("volume.create", {{"name", name}, {"size", 4096}}),
                                 kTimeout);
        if (r.ok() && (*r)["ok"] == true) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 40);
  EXPECT_EQ(store_->ListVolumes().size(), 40u);
}

TEST_F(ControlServerTest, StopUnlinksAndStaleSocketIsReplaced) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  // A second server on a live socket is refused.
  auto second = ControlServer::Start(store_.get(), socket_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kBusy);
  server.reset();
  EXPECT_NE(::access(socket_.c_str(), F_OK), 0);
  EXPECT_FALSE(ControlClient::Connect(socket_).ok());

  // A socket file left by a dead process (bound, never unlinked).
  sockaddr_un addr;
  ASSERT_OK(MakeSocketAddress(socket_, &addr));
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  auto replaced = ControlServer::Start(store_.get(), socket_);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  auto client = ControlClient::Connect(socket_);
  ASSERT_TRUE(client.ok());
  EXPECT_EQ(Call(**client, "store.info")["ok"], true);
}

TEST_F(ControlServerTest, RefusesAPathThatIsNotASocket) {
  ASSERT_OK(WriteFileAtomically(Env::Default(), socket_, "keep me"));
  auto server = ControlServer::Start(store_.get(), socket_);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(*ReadFileToString(Env::Default(), socket_), "keep me");
}

TEST_F(ControlServerTest, ServerClosingActiveConnections) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  auto client = ControlClient::Connect(socket_);
  ASSERT_TRUE(client.ok());
  server.reset();  // must not hang on the idle connection
  auto r = (*client)->Call(MakeRequest("volume.list", nullptr), milliseconds(2000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().ErrorName(), "DaemonUnavailable");
}

TEST(ControlClient, UnreachableAndSilentDaemons) {
  testing::TempDir tmp;
  auto missing = ControlClient::Connect(tmp.path() + "/control.sock");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().ErrorName(), "DaemonUnavailable");

  // Something listens but never answers: the call times out.
  sockaddr_un addr;
  const std::string path = tmp.path() + "/silent.sock";
  ASSERT_OK(MakeSocketAddress(path, &addr));
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  auto client = ControlClient::Connect(path);
  ASSERT_TRUE(client.ok());
  auto start = std::chrono::steady_clock::now();
  auto r = (*client)->Call(MakeRequest("volume.list", nullptr), milliseconds(200));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().ErrorName(), "DaemonUnavailable");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ::close(fd);
}

// Runs volume.list over `socket` as `uid` in a child process; returns the error Code, "ok", or
// what went wrong.
std::string ListAsUser(const std::string& socket, uid_t uid) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    ::close(pipe_fds[0]);
    std::string code = "setuid failed";
    if (::setgid(uid) == 0 && ::setuid(uid) == 0) {
      auto client = ControlClient::Connect(socket);
      code = client.ok() ? "" : "connect failed: " + client.status().message();
      if (client.ok()) {
        auto r = (*client)->Call(MakeRequest("volume.list", nullptr), kTimeout);
        if (!r.ok()) {
          code = r.status().ToString();
        } else {
          code = (*r)["ok"] == true ? std::string("ok") : (*r)["error"].value("Code", "?");
        }
      }
    }
    ssize_t n = ::write(pipe_fds[1], code.data(), code.size());
    ::_exit(n >= 0 ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof(buf))) > 0;) out.append(buf, n);
  ::close(pipe_fds[0]);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  return out;
}

// A caller that is neither root nor the store's owner is refused even if it can reach the
// socket (here: made world-writable on purpose). Needs root to switch users.
TEST_F(ControlServerTest, OtherUsersAreDenied) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as another uid";
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(::chmod(tmp_.path().c_str(), 0711), 0);
  ASSERT_EQ(::chmod(dir_.c_str(), 0711), 0);
  ASSERT_EQ(::chmod(socket_.c_str(), 0666), 0);
  EXPECT_EQ(ListAsUser(socket_, 65534), "AccessDenied");
}

// A daemon running as root hands the socket to the store's owner, who may then use it.
TEST_F(ControlServerTest, StoreOwnerMayConnectToARootDaemon) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as another uid";
  ASSERT_EQ(::chmod(tmp_.path().c_str(), 0711), 0);
  ASSERT_EQ(::chown(dir_.c_str(), 65534, 65534), 0);
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  struct stat st;
  ASSERT_EQ(::lstat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ListAsUser(socket_, 65534), "ok");
  EXPECT_NE(ListAsUser(socket_, 65533).rfind("connect failed", 0), std::string::npos);
}

TEST(ControlAccess, RootAndOwnerOnly) {
  EXPECT_TRUE(CallerMayControl(0, 1000));
  EXPECT_TRUE(CallerMayControl(1000, 1000));
  EXPECT_FALSE(CallerMayControl(1001, 1000));
  EXPECT_FALSE(CallerMayControl(static_cast<uint32_t>(-1), 1000));
}

}  // namespace
}  // namespace clonefs::control
