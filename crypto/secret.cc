#include "crypto/secret.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <ostream>
#include <utility>

namespace clonefs::crypto {
namespace {

size_t PageSize() {
  static const size_t page = [] {
    long p = ::sysconf(_SC_PAGESIZE);
    return p > 0 ? static_cast<size_t>(p) : size_t{4096};
  }();
  return page;
}

}  // namespace

SecretBytes::SecretBytes(size_t n, Memory memory) {
  if (n == 0) return;
  if (memory == Memory::kLocked) {
    // Whole pages of our own, so that munlock on destruction cannot unpin a neighbour's
    // secret that shares the page.
    const size_t page = PageSize();
    capacity_ = (n + page - 1) / page * page;
    data_ = static_cast<uint8_t*>(std::aligned_alloc(page, capacity_));
    if (data_ == nullptr) throw std::bad_alloc();
    aligned_ = true;
    locked_ = ::mlock(data_, capacity_) == 0;
    // Keep key pages out of core dumps; failure only means a crash report could include them.
    (void)::madvise(data_, capacity_, MADV_DONTDUMP);
  } else {
    capacity_ = n;
    data_ = new uint8_t[n];
  }
  std::memset(data_, 0, capacity_);
  size_ = n;
}

SecretBytes SecretBytes::CopyOf(std::string_view bytes, Memory memory) {
  SecretBytes s(bytes.size(), memory);
  if (!bytes.empty()) std::memcpy(s.data_, bytes.data(), bytes.size());
  return s;
}

Result<SecretBytes> SecretBytes::Random(size_t n, Memory memory) {
  SecretBytes s(n, memory);
  if (n > 0 && RAND_bytes(s.data_, static_cast<int>(n)) != 1) {
    return Status::IOError("the OpenSSL random generator failed");
  }
  return s;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      locked_(std::exchange(other.locked_, false)),
      aligned_(std::exchange(other.aligned_, false)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Clear();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    locked_ = std::exchange(other.locked_, false);
    aligned_ = std::exchange(other.aligned_, false);
  }
  return *this;
}

bool SecretBytes::Equals(const SecretBytes& other) const {
  if (size_ != other.size_) return false;
  return size_ == 0 || CRYPTO_memcmp(data_, other.data_, size_) == 0;
}

void SecretBytes::Clear() {
  if (data_ == nullptr) return;
  OPENSSL_cleanse(data_, capacity_);
  if (aligned_) {
    if (locked_) (void)::munlock(data_, capacity_);  // nothing useful to do if it fails
    (void)::madvise(data_, capacity_, MADV_DODUMP);  // the pages go back to the allocator
    std::free(data_);
  } else {
    delete[] data_;
  }
  data_ = nullptr;
  size_ = capacity_ = 0;
  locked_ = aligned_ = false;
}

void PrintTo(const SecretBytes& secret, std::ostream* os) {
  *os << "<secret: " << secret.size() << " bytes>";
}

}  // namespace clonefs::crypto
