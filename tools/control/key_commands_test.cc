// key.* commands and the encryption arguments of volume.* commands, through the Dispatcher
// (the code the daemon's socket and clonectl's direct mode share), and clonectl's key file.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "crypto/hex.h"
#include "crypto/key_file.h"
#include "crypto/key_store.h"
#include "crypto/recipient.h"
#include "store/keys/key_service.h"
#include "tools/control/commands.h"
#include "tools/control/test_util.h"

namespace clonefs::control {
namespace {

using nlohmann::json;
using testing::TempDir;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A store whose key store is unlocked by a key file beside it.
class KeyCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() + "/store";
    key_file_ = dir_ + ".key";
    ASSERT_OK(store::Store::Create(dir_, "us-east-1", Env::Default()));
    ASSERT_OK(crypto::CreateKeyFile(key_file_));
    store::StoreOptions options;
    options.background_threads = false;
    options.cache_bytes = 32ull << 20;
    options.root_secret =
        std::make_shared<const crypto::RootSecret>(crypto::RootSecret::KeyFile(key_file_));
    auto opened = store::Store::Open(dir_, options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  json Exec(const std::string& command, json args = json::object()) {
    Dispatcher d(store_.get());
    json r = d.Handle(MakeRequest(command, std::move(args)), Caller{0, 1});
    responses_ += r.dump();
    return r;
  }
  json Ok(const std::string& command, json args = json::object()) {
    json r = Exec(command, std::move(args));
    EXPECT_TRUE(r.value("ok", false)) << command << ": " << r.dump();
    return r.value("result", json());
  }
  std::string Err(const std::string& command, json args = json::object()) {
    json r = Exec(command, std::move(args));
    EXPECT_FALSE(r.value("ok", true)) << r.dump();
    return r["error"].value("Code", "");
  }

  TempDir tmp_;
  std::string dir_;
  std::string key_file_;
  std::unique_ptr<store::Store> store_;
  std::string responses_;  // every response, to look for key material in
};

TEST_F(KeyCommands, KeyLifecycleWithAwsKmsFieldsAndNames) {
  json k = Ok("key.create", {{"alias", "db"}, {"description", "database volumes"}});
  const std::string id = k["KeyId"];
  EXPECT_EQ(id.rfind("key-", 0), 0u);
  EXPECT_EQ(k["Arn"], "arn:clonefs:us-east-1:" + store_->info().account_id + ":key:" + id);
  EXPECT_EQ(k["Aliases"], json::array({"alias/db"}));
  EXPECT_EQ(k["KeyState"], "Enabled");
  EXPECT_EQ(k["Enabled"], true);
  EXPECT_EQ(k["KeyManager"], "CUSTOMER");
  EXPECT_EQ(k["Description"], "database volumes");
  EXPECT_EQ(Err("key.create", {{"alias", "db"}}), "AlreadyExistsException");
  EXPECT_EQ(Err("key.create", {{"alias", "default"}}), "InvalidAliasNameException");

  EXPECT_EQ(Ok("key.show", {{"key", "alias/db"}})["KeyId"], id);
  EXPECT_EQ(Ok("key.show", {{"key", k["Arn"]}})["KeyId"], id);
  EXPECT_EQ(Err("key.show", {{"key", "nope"}}), "NotFoundException");
  EXPECT_EQ(Ok("key.list")["Keys"].size(), 1u);

  json policy = Ok("key.policy_get", {{"key", "db"}});
  EXPECT_EQ(policy["KeyId"], id);
  EXPECT_EQ(json::parse(policy["Policy"].get<std::string>()), json::parse(R"({"accounts":{}})"));
  json put = Ok("key.policy_put",
                {{"key", "db"}, {"policy", R"({"accounts":{"210987654321":["Decrypt"]}})"}});
  EXPECT_EQ(json::parse(put["Policy"].get<std::string>())["accounts"]["210987654321"],
            json::array({"Decrypt"}));
  EXPECT_EQ(Err("key.policy_put", {{"key", "db"}, {"policy", "{\"nope\": 1}"}}),
            "MalformedPolicyDocumentException");

  EXPECT_EQ(Ok("key.disable", {{"key", "db"}})["KeyState"], "Disabled");
  EXPECT_EQ(Ok("key.enable", {{"key", "db"}})["KeyState"], "Enabled");
  EXPECT_EQ(Err("key.schedule_deletion", {{"key", "db"}, {"days", 3}}), "InvalidParameterValue");
  json pending = Ok("key.schedule_deletion", {{"key", "db"}, {"days", 7}});
  EXPECT_EQ(pending["KeyState"], "PendingDeletion");
  EXPECT_TRUE(pending.contains("DeletionDate"));
  EXPECT_EQ(Ok("key.cancel_deletion", {{"key", "db"}})["KeyState"], "Disabled");
  EXPECT_EQ(Err("key.cancel_deletion", {{"key", "db"}}), "KMSInvalidStateException");
  Ok("key.enable", {{"key", "db"}});
  json rotated = Ok("key.rotate", {{"key", "db"}});
  EXPECT_EQ(rotated["PrimaryKeyVersion"], 2);
  EXPECT_EQ(rotated["KeyVersionCount"], 2);

  // The default key: made on first use, never disabled.
  json v = Ok("volume.create", {{"name", "enc"}, {"size", "1M"}, {"encrypted", true}});
  json keys = Ok("key.list")["Keys"];
  ASSERT_EQ(keys.size(), 2u);
  std::string default_id;
  for (const json& key : keys) {
    if (key["Aliases"] == json::array({"alias/default"})) default_id = key["KeyId"];
  }
  ASSERT_FALSE(default_id.empty());
  EXPECT_EQ(v["KmsKeyId"], Ok("key.show", {{"key", default_id}})["Arn"]);
  EXPECT_EQ(Err("key.disable", {{"key", "default"}}), "UnsupportedOperationException");

  // No response carries key material: the root key, hex or raw.
  const std::string root = Slurp(key_file_);
  ASSERT_EQ(root.size(), 32u);
  EXPECT_EQ(responses_.find(crypto::HexEncode(root)), std::string::npos);
  EXPECT_EQ(responses_.find(root), std::string::npos);
}

TEST_F(KeyCommands, VolumeEncryptionArguments) {
  const json k1 = Ok("key.create", {{"alias", "one"}});
  const json k2 = Ok("key.create", {{"alias", "two"}});
  json v = Ok("volume.create", {{"name", "db"}, {"size", "1M"}, {"kms_key", "one"}});
  EXPECT_EQ(v["StorageEncrypted"], true);  // a named key implies encryption
  EXPECT_EQ(v["KmsKeyId"], k1["Arn"]);
  json plain = Ok("volume.create", {{"name", "plain"}, {"size", "1M"}});
  EXPECT_EQ(plain["StorageEncrypted"], false);
  EXPECT_FALSE(plain.contains("KmsKeyId"));
  EXPECT_EQ(Err("volume.create", {{"name", "x"}, {"size", "1M"}, {"kms_key", "nope"}}),
            "NotFoundException");
  // Naming the default key creates it too, like leaving the key out.
  json d = Ok("volume.create", {{"name", "d"}, {"size", "1M"}, {"kms_key", "alias/default"}});
  EXPECT_EQ(d["KmsKeyId"], Ok("key.show", {{"key", "default"}})["Arn"]);

  json clone = Ok("volume.clone", {{"source", "db"}, {"name", "c"}, {"kms_key", "alias/two"}});
  EXPECT_EQ(clone["KmsKeyId"], k2["Arn"]);
  EXPECT_EQ(Ok("volume.clone", {{"source", "db"}, {"name", "c2"}})["KmsKeyId"], k1["Arn"]);
  EXPECT_EQ(Err("volume.clone", {{"source", "plain"}, {"name", "pc"}, {"kms_key", "one"}}),
            "InvalidParameterCombination");
  EXPECT_EQ(Err("volume.clone",
                {{"source", "plain"}, {"name", "pc"}, {"kms_key", "one"}, {"full_copy", true}}),
            "InvalidParameterCombination");
  json full = Ok("volume.clone", {{"source", "db"}, {"name", "full"}, {"full_copy", true}});
  EXPECT_EQ(full["StorageEncrypted"], true);
  EXPECT_EQ(full["KmsKeyId"], k1["Arn"]);

  Ok("snapshot.create", {{"volume", "db"}, {"name", "s"}});
  json snap = Ok("snapshot.show", {{"name", "s"}});
  EXPECT_EQ(snap["StorageEncrypted"], true);
  EXPECT_EQ(snap["KmsKeyId"], k1["Arn"]);
  json restored = Ok("volume.restore", {{"snapshot", "s"}, {"name", "r"}, {"kms_key", "two"}});
  EXPECT_EQ(restored["KmsKeyId"], k2["Arn"]);

  json rekeyed = Ok("volume.rekey", {{"name", "db"}, {"kms_key", "two"}});
  EXPECT_EQ(rekeyed["KmsKeyId"], k2["Arn"]);
  EXPECT_EQ(Ok("snapshot.show", {{"name", "s"}})["KmsKeyId"], k2["Arn"]);
  EXPECT_EQ(Err("volume.rekey", {{"name", "plain"}, {"kms_key", "two"}}), "InvalidVolumeState");
  EXPECT_EQ(Err("volume.rekey", {{"name", "db"}}), "InvalidParameterValue");

  json list = Ok("volume.list")["Volumes"];
  for (const json& vol : list) {
    EXPECT_EQ(vol["StorageEncrypted"], vol["VolumeIdentifier"] != "plain") << vol.dump();
  }
}

TEST_F(KeyCommands, RecipientKeysForExports) {
  json rsa = Ok("key.create", {{"alias", "exports"}, {"key_spec", "RSA_3072"}});
  EXPECT_EQ(rsa["KeySpec"], "RSA_3072");
  EXPECT_EQ(rsa["KeyUsage"], "ENCRYPT_DECRYPT");
  EXPECT_EQ(rsa["KeyVersionCount"], 1);
  EXPECT_EQ(Ok("key.show", {{"key", "exports"}})["KeySpec"], "RSA_3072");
  EXPECT_EQ(Ok("key.create", {{"key_spec", "X25519"}})["KeySpec"], "X25519");
  EXPECT_EQ(Ok("key.create", {{"key_spec", "ECC_X25519"}})["KeySpec"], "X25519");
  json data = Ok("key.create", {{"alias", "data"}, {"key_spec", "SYMMETRIC_DEFAULT"}});
  EXPECT_EQ(data["KeySpec"], "SYMMETRIC_DEFAULT");
  EXPECT_EQ(data["KeyUsage"], "ENCRYPT_DECRYPT");
  EXPECT_EQ(Ok("key.create")["KeySpec"], "SYMMETRIC_DEFAULT");
  json bad = Exec("key.create", {{"key_spec", "RSA_2048"}});
  EXPECT_EQ(bad["error"]["Code"], "InvalidParameterValue");
  const std::string message = bad["error"]["Message"];
  for (const char* spec : {"SYMMETRIC_DEFAULT", "RSA_3072", "X25519", "RSA_2048"}) {
    EXPECT_NE(message.find(spec), std::string::npos) << message;
  }
  EXPECT_EQ(Ok("key.list")["Keys"].size(), 5u);

  json pub = Ok("key.get_public_key", {{"key", "alias/exports"}});
  EXPECT_EQ(pub["KeyId"], rsa["KeyId"]);
  EXPECT_EQ(pub["KeySpec"], "RSA_3072");
  EXPECT_EQ(pub["KeyUsage"], "ENCRYPT_DECRYPT");
  const std::string pem = pub["PublicKey"];
  auto info = crypto::DescribePublicKey(pem);
  ASSERT_OK(info.status());
  EXPECT_EQ(info->kind, crypto::RecipientKind::kRsa3072);
  EXPECT_EQ(Err("key.get_public_key", {{"key", "data"}}), "InvalidKeyUsageException");
  EXPECT_EQ(Err("key.get_public_key", {{"key", "nope"}}), "NotFoundException");
  EXPECT_EQ(Err("key.get_public_key"), "InvalidParameterValue");
  EXPECT_EQ(Err("key.rotate", {{"key", "exports"}}), "UnsupportedOperationException");

  // What is sealed for the public key, the store opens (KeyService, as an import would).
  auto secret = crypto::SecretBytes::Random(32);
  ASSERT_OK(secret.status());
  auto envelope = crypto::SealForRecipient(pem, *secret, "stream context");
  ASSERT_OK(envelope.status());
  auto opened = store_->keys().OpenForRecipient(info->fingerprint, *envelope, "stream context");
  ASSERT_OK(opened.status());
  EXPECT_TRUE(opened->Equals(*secret));
  EXPECT_ERROR_NAME(store_->keys().OpenForRecipient(std::string(64, 'f'), *envelope, "x"),
                    "NotFoundException");

  // A recipient key is never a volume's key.
  EXPECT_EQ(Err("volume.create", {{"name", "v"}, {"size", "1M"}, {"kms_key", "exports"}}),
            "InvalidKeyUsageException");
  EXPECT_EQ(Err("volume.create",
                {{"name", "v"}, {"size", "1M"}, {"encrypted", true}, {"kms_key", "exports"}}),
            "InvalidKeyUsageException");
  EXPECT_EQ(Err("volume.show", {{"name", "v"}}), "VolumeNotFound");
  Ok("volume.create", {{"name", "enc"}, {"size", "1M"}, {"kms_key", "data"}});
  EXPECT_EQ(Err("volume.clone", {{"source", "enc"}, {"name", "c"}, {"kms_key", "exports"}}),
            "InvalidKeyUsageException");
  EXPECT_EQ(Err("volume.rekey", {{"name", "enc"}, {"kms_key", "exports"}}),
            "InvalidKeyUsageException");
  EXPECT_EQ(Ok("volume.show", {{"name", "enc"}})["KmsKeyId"], data["Arn"]);

  // Public keys are in the answers; private keys never.
  EXPECT_EQ(responses_.find("PRIVATE KEY"), std::string::npos);
}

// clonectl itself: init makes a 0600 key file beside the store; direct mode opens with it.
TEST(ClonectlKeyFile, InitCreatesTheKeyFileOutsideTheStore) {
  TempDir tmp;
  const std::string store = tmp.path() + "/s";
  auto run = [&](const std::string& args) {
    std::string cmd = "env -u CLONEFS_HOME -u CLONEFS_KEY_FILE " + std::string(CLONECTL_PATH) +
                      " --store " + store + " " + args + " >" + tmp.path() + "/out 2>" +
                      tmp.path() + "/err";
    int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  ASSERT_EQ(run("init --json"), 0) << Slurp(tmp.path() + "/err");
  json init = json::parse(Slurp(tmp.path() + "/out"));
  EXPECT_EQ(init["KeyFile"], store + ".key");
  EXPECT_EQ(init["KeyFileCreated"], true);
  struct stat st;
  ASSERT_EQ(::stat((store + ".key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(run("volume create v --size 1M --encrypted --json"), 0) << Slurp(tmp.path() + "/err");
  EXPECT_EQ(json::parse(Slurp(tmp.path() + "/out"))["StorageEncrypted"], true);
  // Without the key file the store still opens: plain volumes work, keys do not.
  ASSERT_EQ(run("--key-file " + tmp.path() + "/none.key volume list"), 0);
  EXPECT_EQ(run("--key-file " + tmp.path() + "/none.key key list"), 1);
  EXPECT_NE(Slurp(tmp.path() + "/err").find("KMSKeyNotAccessible"), std::string::npos);
  ASSERT_EQ(run("key list"), 0);
}

// A passphrase instead of a key file: init makes no key file, the right passphrase unlocks the
// keys, a wrong one leaves them locked, and a passphrase file others may read is refused.
TEST(ClonectlKeyFile, PassphraseFileInsteadOfAKeyFile) {
  TempDir tmp;
  const std::string store = tmp.path() + "/s";
  const std::string pass = tmp.path() + "/pass", wrong = tmp.path() + "/wrong";
  std::ofstream(pass) << "correct horse battery staple\n";
  std::ofstream(wrong) << "incorrect horse\n";
  ::chmod(pass.c_str(), 0600);
  ::chmod(wrong.c_str(), 0600);
  auto run = [&](const std::string& args) {
    std::string cmd = "env -u CLONEFS_HOME -u CLONEFS_KEY_FILE " + std::string(CLONECTL_PATH) +
                      " --store " + store + " " + args + " >" + tmp.path() + "/out 2>" +
                      tmp.path() + "/err";
    int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  ASSERT_EQ(run("--passphrase-file " + pass + " init --json"), 0) << Slurp(tmp.path() + "/err");
  EXPECT_EQ(json::parse(Slurp(tmp.path() + "/out"))["RootSecret"], "passphrase");
  struct stat st;
  EXPECT_NE(::stat((store + ".key").c_str(), &st), 0) << "no key file with a passphrase";
  ASSERT_EQ(run("--passphrase-file " + pass + " volume create v --size 1M --encrypted"), 0)
      << Slurp(tmp.path() + "/err");
  EXPECT_EQ(run("--passphrase-file " + wrong + " volume create w --size 1M --encrypted"), 1);
  EXPECT_NE(Slurp(tmp.path() + "/err").find("KMSKeyNotAccessible"), std::string::npos);
  ::chmod(pass.c_str(), 0644);
  EXPECT_EQ(run("--passphrase-file " + pass + " key list"), 1);
  EXPECT_NE(Slurp(tmp.path() + "/err").find("KeyFilePermissionsTooOpen"), std::string::npos);
}

}  // namespace
}  // namespace clonefs::control
