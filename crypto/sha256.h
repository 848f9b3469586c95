// SHA-256, all at once or fed in pieces (a digest of a whole image streamed past).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "base/result.h"

namespace clonefs::crypto {

inline constexpr size_t kSha256Size = 32;
using Sha256Digest = std::array<uint8_t, kSha256Size>;

// Not thread-safe: one digest per thread.
class Sha256 {
 public:
  // NotSupported when OpenSSL offers no SHA-256.
  static Result<std::unique_ptr<Sha256>> Create();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Status Update(std::string_view data);
  // The digest of everything fed in; the object then starts over, empty.
  Result<Sha256Digest> Finish();

 private:
  struct Ctx;
  explicit Sha256(std::unique_ptr<Ctx> ctx);
  std::unique_ptr<Ctx> ctx_;
};

// SHA-256 of `data`.
Result<Sha256Digest> Sha256Of(std::string_view data);

}  // namespace clonefs::crypto
