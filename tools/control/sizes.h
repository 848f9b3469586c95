// Parsing and printing byte sizes for the control plane ("10G", "512MiB", "10 GiB").
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace clonefs::control {

// Parses a size: a whole number of bytes, optionally followed by a binary unit
// (B, K/KiB, M/MiB, G/GiB, T/TiB, P/PiB; case-insensitive; 1K = 1024). Rejects garbage, signs,
// fractions, decimal units such as "GB" (ambiguous), zero, overflow and values that are not a
// multiple of 512 bytes (a sector), each with InvalidArgument and a message naming `what`
// (e.g. "--size").
Result<uint64_t> ParseSize(std::string_view text, std::string_view what = "size");

// Human-readable binary size: "0 B", "512 B", "4 KiB", "10 GiB", "1.5 GiB".
std::string FormatSize(uint64_t bytes);

// Whole GiB, rounded up (the Aurora "AllocatedStorage" unit).
uint64_t GibRoundedUp(uint64_t bytes);

}  // namespace clonefs::control
