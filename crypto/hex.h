// Lower-case hexadecimal encoding of byte strings (for ids, nonces and ciphertexts in JSON).
// Pure functions; thread-safe. Never use them on key material that is not encrypted.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace clonefs::crypto {

std::string HexEncode(std::string_view bytes);
// nullopt when `hex` has odd length or a character outside [0-9a-fA-F].
std::optional<std::string> HexDecode(std::string_view hex);

}  // namespace clonefs::crypto
