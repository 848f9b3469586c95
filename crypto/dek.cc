#include "crypto/dek.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "crypto/hex.h"

namespace clonefs::crypto {
namespace {

using nlohmann::json;

constexpr int kWrappedDekFormat = 1;

template <size_t N>
bool DecodeInto(const json& doc, const char* field, std::array<uint8_t, N>* out) {
  auto it = doc.find(field);
  if (it == doc.end() || !it->is_string()) return false;
  auto bytes = HexDecode(it->get<std::string>());
  if (!bytes || bytes->size() != N) return false;
  std::memcpy(out->data(), bytes->data(), N);
  return true;
}

template <size_t N>
std::string Hex(const std::array<uint8_t, N>& a) {
  return HexEncode(std::string_view(reinterpret_cast<const char*>(a.data()), N));
}

bool ValidKeyId(const std::string& id) {
  if (id.size() != 20 || id.compare(0, 4, "key-") != 0) return false;
  for (size_t i = 4; i < id.size(); ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(id[i]))) return false;
  }
  return true;
}

}  // namespace

std::string DekIdToHex(uint64_t dek_id) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(dek_id));
  return buf;
}

Result<Dek> GenerateDek() {
  Dek dek;
  while (dek.id == 0) CLONEFS_RETURN_IF_ERROR(RandomBytes(&dek.id, sizeof(dek.id)));
  CLONEFS_ASSIGN_OR_RETURN(dek.key, SecretBytes::Random(kDekSize, SecretBytes::Memory::kLocked));
  return dek;
}

std::string WrappedDek::Serialize() const {
  json doc = {{"v", kWrappedDekFormat}, {"dek_id", DekIdToHex(dek_id)},
              {"key_id", key_id},       {"key_version", key_version},
              {"iv", Hex(iv)},          {"ct", Hex(ct)},
              {"tag", Hex(tag)}};
  return doc.dump();
}

Result<WrappedDek> WrappedDek::Parse(std::string_view text) {
  const Status bad = Status::Corruption("malformed wrapped DEK");
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || doc.size() != 7) return bad;
  WrappedDek w;
  auto v = doc.find("v");
  auto id = doc.find("dek_id");
  auto key = doc.find("key_id");
  auto version = doc.find("key_version");
  if (v == doc.end() || !v->is_number_unsigned() || v->get<uint64_t>() != kWrappedDekFormat) {
    return bad;
  }
  if (id == doc.end() || !id->is_string() || id->get<std::string>().size() != 16) return bad;
  auto id_bytes = HexDecode(id->get<std::string>());
  if (!id_bytes) return bad;
  for (unsigned char c : *id_bytes) w.dek_id = w.dek_id << 8 | c;
  if (key == doc.end() || !key->is_string() || !ValidKeyId(key->get<std::string>())) return bad;
  w.key_id = key->get<std::string>();
  if (version == doc.end() || !version->is_number_unsigned() || version->get<uint64_t>() == 0 ||
      version->get<uint64_t>() > UINT32_MAX) {
    return bad;
  }
  w.key_version = static_cast<uint32_t>(version->get<uint64_t>());
  if (w.dek_id == 0 || !DecodeInto(doc, "iv", &w.iv) || !DecodeInto(doc, "ct", &w.ct) ||
      !DecodeInto(doc, "tag", &w.tag)) {
    return bad;
  }
  return w;
}

}  // namespace clonefs::crypto
