// What the segment log's tests share, over any SegmentStore: runs of page records and a log
// small enough that a test rolls many segments.
#pragma once

#include <cstdint>
#include <string>

#include "store/log/record.h"
#include "store/log/segment_log.h"
#include "tests/testing/testing.h"

namespace clonefs::store::testing {

// `n` encoded page records with payloads of `payload` bytes, back to back.
inline std::string Records(uint64_t first_seq, int n, size_t payload) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    RecordHeader h;
    h.seq = first_seq + i;
    h.volume_id = 1;
    h.page_no = first_seq + i;
    h.plain_len = static_cast<uint32_t>(payload);
    h.payload_len = static_cast<uint32_t>(payload);
    EncodeRecord(h, clonefs::testing::Pattern(first_seq + i, payload), &out);
  }
  return out;
}

inline SegmentLog::Options SmallOptions() {
  SegmentLog::Options o;
  o.segment_bytes = 256 << 10;
  o.reserve_bytes = 0;
  o.flush_bytes = 64 << 10;
  o.max_pending_bytes = 512 << 10;
  return o;
}

}  // namespace clonefs::store::testing
