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
#include "tools/control/identity.h"
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
  EXPECT_EQ(st.st_mode & 0777, 0666u);  // every user reaches the account checks

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

TEST(LineReader, AClientReadsResponsesPastTheRequestLimit) {
  // A list of 10,000 snapshots is several MiB: the daemon sends it in one line, and a client
  // must take it, while the daemon still refuses requests over kMaxMessageBytes.
  for (size_t limit : {kMaxMessageBytes, kMaxResponseBytes}) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    const std::string big(3 * kMaxMessageBytes, 'r');
    std::thread writer([&] {
      SendAll(fds[1], big + "\nnext\n", std::chrono::steady_clock::now() + kTimeout).IgnoreError();
      ::close(fds[1]);
    });
    LineReader reader(fds[0], limit);
    auto line = reader.ReadLine(std::chrono::steady_clock::now() + kTimeout);
    if (limit == kMaxMessageBytes) {
      EXPECT_EQ(line.status().code(), Status::Code::kInvalidArgument);
      ::close(fds[0]);  // lets the writer finish
    } else {
      ASSERT_TRUE(line.ok() && line->has_value()) << line.status().ToString();
      EXPECT_EQ(line->value(), big);
      auto next = reader.ReadLine(std::chrono::steady_clock::now() + kTimeout);
      ASSERT_TRUE(next.ok() && next->has_value());
      EXPECT_EQ(next->value(), "next");
      ::close(fds[0]);
    }
    writer.join();
  }
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

// A request that asks for progress gets {"progress":...} lines before its response; one that
// does not gets the response alone.
TEST_F(ControlServerTest, FullCopySendsProgressLinesWhenAsked) {
  ASSERT_TRUE(store_->CreateVolume("db1", {.size_bytes = 3 << 20}).ok());
  {
    auto h = store_->OpenVolume("db1");
    ASSERT_TRUE(h.ok());
    ASSERT_OK((*h)->Write(1 << 20, std::string(8192, 'x')));
  }
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  int fd = RawConnect(socket_);
  ASSERT_GE(fd, 0);
  LineReader reader(fd);
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  json request =
      MakeRequest("volume.clone", {{"source", "db1"}, {"name", "c1"}, {"full_copy", true}});
  request["progress"] = true;
  ASSERT_OK(SendAll(fd, request.dump() + "\n", deadline));
  std::vector<std::string> lines;
  for (;;) {
    auto line = reader.ReadLine(deadline);
    ASSERT_TRUE(line.ok() && line->has_value()) << line.status().ToString();
    lines.push_back(line->value());
    if (json::parse(lines.back()).contains("ok")) break;
  }
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(lines.front(), R"({"progress":{"done":0,"total":3145728}})");
  EXPECT_EQ(lines[lines.size() - 2], R"({"progress":{"done":3145728,"total":3145728}})");
  json response = json::parse(lines.back());
  EXPECT_EQ(response["ok"], true) << response;
  EXPECT_EQ(response["result"]["VolumeIdentifier"], "c1");

  // Without "progress": the response line comes first.
  request = MakeRequest("volume.clone", {{"source", "db1"}, {"name", "c2"}, {"full_copy", true}});
  ASSERT_OK(SendAll(fd, request.dump() + "\n", deadline));
  auto quiet = reader.ReadLine(deadline);
  ASSERT_TRUE(quiet.ok() && quiet->has_value());
  EXPECT_EQ(json::parse(quiet->value())["result"]["VolumeIdentifier"], "c2");
  ::close(fd);

  // The client hands the lines to its callback and returns the response.
  auto client = ControlClient::Connect(socket_);
  ASSERT_TRUE(client.ok());
  std::vector<std::pair<uint64_t, uint64_t>> seen;
  auto r = (*client)->Call(
      MakeRequest("volume.clone", {{"source", "db1"}, {"name", "c3"}, {"full_copy", true}}),
      kTimeout, [&](uint64_t done, uint64_t total) { seen.emplace_back(done, total); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["result"]["VolumeIdentifier"], "c3");
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen.front(), std::make_pair(uint64_t{0}, uint64_t{3} << 20));
  EXPECT_EQ(seen.back(), std::make_pair(uint64_t{3} << 20, uint64_t{3} << 20));
  std::string a(3 << 20, '\0'), b(3 << 20, '\0');
  ASSERT_OK((*store_->OpenVolume("db1"))->Read(0, a.size(), a.data()));
  ASSERT_OK((*store_->OpenVolume("c3"))->Read(0, b.size(), b.data()));
  EXPECT_TRUE(a == b);
}

// A client that goes away in the middle of a full copy cancels it, and the partial volume is
// deleted: nobody is left to learn whether it finished.
TEST_F(ControlServerTest, HangingUpCancelsAFullCopy) {
  constexpr uint64_t kSize = 64ull << 20;
  ASSERT_TRUE(store_->CreateVolume("db1", {.size_bytes = kSize}).ok());
  {
    auto h = store_->OpenVolume("db1");
    ASSERT_TRUE(h.ok());
    for (uint64_t off = 0; off < kSize; off += 1 << 20) {
      ASSERT_OK((*h)->Write(off, std::string(1 << 20, static_cast<char>('a' + off % 26))));
    }
  }
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  int fd = RawConnect(socket_);
  ASSERT_GE(fd, 0);
  json request =
      MakeRequest("volume.clone", {{"source", "db1"}, {"name", "c1"}, {"full_copy", true}});
  request["progress"] = true;
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  ASSERT_OK(SendAll(fd, request.dump() + "\n", deadline));
  LineReader reader(fd);
  auto first = reader.ReadLine(deadline);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ(first->value(), R"({"progress":{"done":0,"total":67108864}})");
  ::close(fd);  // the copy has only just started
  // The copy reads from a temporary snapshot for as long as it runs.
  while (!store_->ListSnapshots().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(store_->ListSnapshots().empty());
  EXPECT_FALSE(store_->GetVolume("c1").ok());
  EXPECT_EQ(store_->ListVolumes().size(), 1u);
}

// A progress line that the client did not ask for (or a daemon that sends one anyway) does not
// confuse it; a silent daemon still times out even while it had sent progress before.
TEST(ControlClient, SkipsProgressLinesAndTimesOutOnSilence) {
  testing::TempDir tmp;
  sockaddr_un addr;
  const std::string path = tmp.path() + "/fake.sock";
  ASSERT_OK(MakeSocketAddress(path, &addr));
  int listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  std::thread fake([listener] {
    int fd = ::accept(listener, nullptr, nullptr);
    LineReader reader(fd);
    (void)reader.ReadLine(std::nullopt);  // the first request: progress, then an answer
    SendAll(fd, "{\"progress\":{\"done\":1,\"total\":2}}\n{\"ok\":true,\"result\":{}}\n",
            std::nullopt)
        .IgnoreError();
    (void)reader.ReadLine(std::nullopt);  // the second: progress, then silence
    SendAll(fd, "{\"progress\":{\"done\":1,\"total\":2}}\n", std::nullopt).IgnoreError();
    (void)reader.ReadLine(std::nullopt);  // until the client hangs up
    ::close(fd);
  });
  {
    auto client = ControlClient::Connect(path);
    ASSERT_TRUE(client.ok());
    auto r = (*client)->Call(MakeRequest("volume.list", nullptr), kTimeout);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)["ok"], true);
    int calls = 0;
    auto silent = (*client)->Call(MakeRequest("volume.list", nullptr), milliseconds(300),
                                  [&](uint64_t, uint64_t) { ++calls; });
    ASSERT_FALSE(silent.ok());
    EXPECT_EQ(silent.status().ErrorName(), "DaemonUnavailable");
    EXPECT_EQ(calls, 1);
  }
  fake.join();
  ::close(listener);
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

// Sends `request` over `socket` as `uid` in a child process; returns the response, or
// {"child": what went wrong}.
json CallAsUser(const std::string& socket, uid_t uid, const json& request) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return {{"child", "pipe failed"}};
  pid_t pid = ::fork();
  if (pid < 0) return {{"child", "fork failed"}};
  if (pid == 0) {
    ::close(pipe_fds[0]);
    json out = {{"child", "setuid failed"}};
    if (::setgid(uid) == 0 && ::setuid(uid) == 0) {
      auto client = ControlClient::Connect(socket);
      out = {{"child", client.ok() ? "" : "connect failed: " + client.status().message()}};
      if (client.ok()) {
        auto r = (*client)->Call(request, kTimeout);
        out = r.ok() ? *r : json{{"child", r.status().ToString()}};
      }
    }
    const std::string text = out.dump();
    ssize_t n = ::write(pipe_fds[1], text.data(), text.size());
    ::_exit(n >= 0 ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof(buf))) > 0;) out.append(buf, n);
  ::close(pipe_fds[0]);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  return json::parse(out, nullptr, /*allow_exceptions=*/false);
}

// Runs volume.list over `socket` as `uid`; returns the error Code, "ok", or what went wrong.
std::string ListAsUser(const std::string& socket, uid_t uid) {
  json r = CallAsUser(socket, uid, MakeRequest("volume.list", nullptr));
  if (r.contains("child")) return r["child"].get<std::string>();
  return r.value("ok", false) ? std::string("ok") : r["error"].value("Code", "?");
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
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  EXPECT_EQ(ListAsUser(socket_, 65534), "ok");
  EXPECT_EQ(ListAsUser(socket_, 65533), "AccessDenied");  // reaches the socket; has no account
}

// A user with no account is told what to ask for; once the store owner has made it an
// account, it is served as that account.
TEST_F(ControlServerTest, AUserIsServedOnlyOnceItHasAnAccount) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as another uid";
  const std::string user = UserNameOf(65534);
  if (user.rfind("uid ", 0) == 0) GTEST_SKIP() << "no Unix user with uid 65534";
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(::chmod(tmp_.path().c_str(), 0711), 0);
  ASSERT_EQ(::chmod(dir_.c_str(), 0711), 0);
  json denied = CallAsUser(socket_, 65534, MakeRequest("volume.list", nullptr));
  EXPECT_EQ(denied["error"]["Code"], "AccessDenied") << denied.dump();
  EXPECT_EQ(denied["error"]["Message"],
            "Unix user '" + user + "' (uid 65534) has no clonefs account in the store " + dir_ +
                "; ask the store owner to run: clonectl account create ACCOUNT_ID --user " + user);
  auto client = ControlClient::Connect(socket_);
  ASSERT_TRUE(client.ok());
  json made = Call(**client, "account.create", {{"id", "012345678901"}, {"users", {user}}});
  ASSERT_EQ(made["ok"], true) << made.dump();
  json created =
      CallAsUser(socket_, 65534, MakeRequest("volume.create", {{"name", "db1"}, {"size", "1M"}}));
  ASSERT_EQ(created["ok"], true) << created.dump();
  EXPECT_EQ(created["result"]["VolumeArn"], "arn:clonefs:us-east-1:012345678901:volume:db1");
  // Not the owner's: root's own list does not show it.
  EXPECT_TRUE(Call(**client, "volume.list")["result"]["Volumes"].empty());
  json as_other =
      CallAsUser(socket_, 65534, {{"command", "volume.list"}, {"account", "012345678901"}});
  EXPECT_EQ(as_other["error"]["Code"], "AccessDenied") << as_other.dump();
}

// One uid at its connection limit is refused, naming the per-user limit, while other uids are
// still served.
TEST_F(ControlServerTest, AUidAtItsConnectionLimitDoesNotStarveOthers) {
  auto server = ControlServer::Start(store_.get(), socket_, {}, /*max_connections_per_uid=*/2);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::vector<std::unique_ptr<ControlClient>> held;
  for (int i = 0; i < 2; ++i) {
    auto c = ControlClient::Connect(socket_);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(Call(**c, "volume.list")["ok"], true);  // accepted and served
    held.push_back(std::move(c).value());
  }
  auto third = ControlClient::Connect(socket_);
  ASSERT_TRUE(third.ok());
  json busy = Call(**third, "volume.list");
  EXPECT_EQ(busy["error"]["Code"], "StoreBusy") << busy.dump();
  EXPECT_NE(busy["error"].value("Message", "").find("max_connections_per_uid=2"), std::string::npos)
      << busy.dump();
  if (::geteuid() == 0) {
    ASSERT_EQ(::chmod(tmp_.path().c_str(), 0711), 0);
    ASSERT_EQ(::chmod(dir_.c_str(), 0711), 0);
    // Another uid still gets an answer of its own (no account here: AccessDenied, not busy).
    EXPECT_EQ(ListAsUser(socket_, 65534), "AccessDenied");
  }
  held.pop_back();  // a freed place is free again
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto again = ControlClient::Connect(socket_);
    ASSERT_TRUE(again.ok());
    if (Call(**again, "volume.list")["ok"] == true) return;
    std::this_thread::sleep_for(milliseconds(20));  // the server reaps the closed one
  }
  ADD_FAILURE() << "the freed connection place was never given back";
}

TEST(ControlAccess, RootAndOwnerOnly) {
  EXPECT_TRUE(CallerMayControl(0, 1000));
  EXPECT_TRUE(CallerMayControl(1000, 1000));
  EXPECT_FALSE(CallerMayControl(1001, 1000));
  EXPECT_FALSE(CallerMayControl(static_cast<uint32_t>(-1), 1000));
}

}  // namespace
}  // namespace clonefs::control
