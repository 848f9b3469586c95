// Where a record lives in the segment log, and positions in the log. Plain values.
#pragma once

#include <compare>
#include <cstdint>

namespace clonefs::store {

// One record: its segment, the offset of its header in that segment, header + payload length.
struct RecordLocation {
  uint32_t segment = 0;
  uint32_t offset = 0;
  uint32_t length = 0;
  bool operator==(const RecordLocation&) const = default;
};

// A point in the log (segment, byte offset), ordered as the log is written.
struct LogPosition {
  uint32_t segment = 0;
  uint64_t offset = 0;
  auto operator<=>(const LogPosition&) const = default;
};

}  // namespace clonefs::store
