// Catalog records: tags round-trip, and records written before volumes had tags still decode.
#include "store/meta/catalog_codec.h"

#include <gtest/gtest.h>

#include "tests/testing/testing.h"

namespace clonefs::store {
namespace {

TEST(CatalogCodec, VolumeTagsRoundTrip) {
  VolumeInfo v;
  v.id = 7;
  v.name = "db";
  v.size_bytes = 1 << 20;
  v.lineage_id = 7;
  v.tags = {{"env", "prod"}, {"empty", ""}, {"ключ", "значение"}};
  Result<VolumeInfo> back = DecodeVolume(EncodeVolume(v));
  ASSERT_OK(back.status());
  EXPECT_EQ(back->tags, v.tags);
  EXPECT_EQ(back->name, "db");
}

TEST(CatalogCodec, UntaggedVolumeRecordHasNoTagsMember) {
  VolumeInfo v;
  v.id = 1;
  v.name = "db";
  v.lineage_id = 1;
  EXPECT_EQ(EncodeVolume(v).find("tags"), std::string::npos);
}

TEST(CatalogCodec, VolumeRecordWithoutTagsDecodes) {
  // A record as earlier versions wrote it: no "tags" member.
  const std::string old =
      R"({"id":3,"name":"db1","size":1048576,"page_size":4096,"compression":"zstd",)"
      R"("create_time_us":1714566896789000,"epoch":4,"lineage":3,"parent_id":0,)"
      R"("parent_epoch":0,"source_snapshot":"","status":"available","encrypted":false})";
  Result<VolumeInfo> v = DecodeVolume(old);
  ASSERT_OK(v.status());
  EXPECT_EQ(v->id, 3u);
  EXPECT_EQ(v->compression, Compression::kZstd);
  EXPECT_TRUE(v->tags.empty());
}

TEST(CatalogCodec, BackupPolicyRoundTripsAndOldRecordsReadTheDefaults) {
  VolumeInfo v;
  v.id = 9;
  v.name = "db";
  v.lineage_id = 9;
  v.backup = BackupPolicy{7, BackupWindow{23 * 60 + 45, 15}};
  Result<VolumeInfo> back = DecodeVolume(EncodeVolume(v));
  ASSERT_OK(back.status());
  EXPECT_EQ(back->backup, v.backup);
  // Written before volumes had backups: retention 1, the window the id picks.
  const std::string old =
      R"({"id":3,"name":"db1","size":1048576,"page_size":4096,"compression":"none",)"
      R"("create_time_us":1,"epoch":4,"lineage":3})";
  Result<VolumeInfo> o = DecodeVolume(old);
  ASSERT_OK(o.status());
  EXPECT_EQ(o->backup.retention_days, 1u);
  EXPECT_EQ(o->backup.window, DefaultBackupWindow(3));
  const std::string bad = R"({"id":3,"name":"db1","size":0,"page_size":4096,"compression":"none",)"
                          R"("create_time_us":1,"epoch":4,"lineage":3,"backup_retention_days":0})";
  EXPECT_EQ(DecodeVolume(bad).status().code(), Status::Code::kCorruption);
}

TEST(CatalogCodec, AutomatedSnapshotKeepsItsRetention) {
  SnapshotInfo s;
  s.id = 4;
  s.name = "auto:db-2026-12-07-03-14";
  s.type = SnapshotType::kAutomated;
  s.backup_retention_days = 7;
  Result<SnapshotInfo> back = DecodeSnapshot(EncodeSnapshot(s));
  ASSERT_OK(back.status());
  EXPECT_EQ(back->type, SnapshotType::kAutomated);
  EXPECT_EQ(back->backup_retention_days, 7u);
}

TEST(CatalogCodec, MalformedTagsAreCorruption) {
  const std::string bad = R"({"id":3,"name":"db1","size":0,"page_size":4096,"compression":"none",)"
                          R"("create_time_us":1,"epoch":4,"lineage":3,"tags":[{"Key":"a"}]})";
  EXPECT_EQ(DecodeVolume(bad).status().code(), Status::Code::kCorruption);
}

TEST(CatalogCodec, SnapshotTagsRoundTrip) {
  SnapshotInfo s;
  s.id = 2;
  s.name = "s1";
  s.tags = {{"a", "1"}, {"b", "2"}};
  Result<SnapshotInfo> back = DecodeSnapshot(EncodeSnapshot(s));
  ASSERT_OK(back.status());
  EXPECT_EQ(back->tags, s.tags);
}

}  // namespace
}  // namespace clonefs::store
