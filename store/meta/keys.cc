#include "store/meta/keys.h"

namespace clonefs::store::keys {

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xFF) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

Status ScanPrefix(MetaDb& db, std::string_view prefix, const KeyVisitor& fn) {
  auto it = db.NewIterator();
  for (it->Seek(prefix); it->Valid() && it->key().substr(0, prefix.size()) == prefix; it->Next()) {
    CLONEFS_RETURN_IF_ERROR(fn(it->key(), it->value()));
  }
  return it->status();
}

}  // namespace clonefs::store::keys
