#include "crypto/sha256.h"

#include "crypto/openssl_util.h"

namespace clonefs::crypto {

struct Sha256::Ctx {
  ~Ctx() { EVP_MD_CTX_free(md); }
  EVP_MD_CTX* md = nullptr;
};

Sha256::Sha256(std::unique_ptr<Ctx> ctx) : ctx_(std::move(ctx)) {}
Sha256::~Sha256() = default;

Result<std::unique_ptr<Sha256>> Sha256::Create() {
  const EVP_MD* md = internal::FetchedAlgorithms().sha256;
  if (md == nullptr) return Status::NotSupported("OpenSSL offers no SHA-256");
  auto ctx = std::make_unique<Ctx>();
  ctx->md = EVP_MD_CTX_new();
  if (ctx->md == nullptr || EVP_DigestInit_ex2(ctx->md, md, nullptr) != 1) {
    return internal::OpenSslFailure("SHA-256 init");
  }
  return std::unique_ptr<Sha256>(new Sha256(std::move(ctx)));
}

Status Sha256::Update(std::string_view data) {
  if (EVP_DigestUpdate(ctx_->md, data.data(), data.size()) != 1) {
    return internal::OpenSslFailure("SHA-256 update");
  }
  return Status::OK();
}

Result<Sha256Digest> Sha256::Finish() {
  Sha256Digest d;
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx_->md, d.data(), &n) != 1 || n != d.size()) {
    return internal::OpenSslFailure("SHA-256 final");
  }
  if (EVP_DigestInit_ex2(ctx_->md, nullptr, nullptr) != 1) {
    return internal::OpenSslFailure("SHA-256 reset");
  }
  return d;
}

Result<Sha256Digest> Sha256Of(std::string_view data) {
  CLONEFS_ASSIGN_OR_RETURN(auto h, Sha256::Create());
  CLONEFS_RETURN_IF_ERROR(h->Update(data));
  return h->Finish();
}

}  // namespace clonefs::crypto
