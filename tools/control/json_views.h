// JSON renderings of store objects for the control plane. Field names follow the Aurora API
// where one exists (docs/CLI.md lists them). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "crypto/key_store.h"
#include "store/access/account_registry.h"
#include "store/store.h"

namespace clonefs::control {

// Serializes compactly (indent -1) or pretty-printed; invalid UTF-8 is replaced, never thrown.
std::string JsonToString(const nlohmann::json& j, int indent = -1);

// Objects are rendered as their owners know them: a store name ACCOUNT.NAME
// (store/access/store_names.h) shows as NAME, with ACCOUNT in its ARN.

// arn:clonefs:REGION:ACCOUNT:volume:NAME of the volume the store knows as `name`.
std::string VolumeArn(const store::StoreInfo& store, const std::string& name);

// arn:clonefs:REGION:ACCOUNT:key:KEY_ID of the key `key_id`, with its owner's ACCOUNT (the
// store owner's while the key store is locked, when no owner can be looked up).
std::string KeyArn(store::Store& store, const std::string& key_id);

// Microseconds since the Unix epoch as ISO 8601 UTC with milliseconds: 2024-05-01T12:34:56.789Z
std::string IsoTime(uint64_t micros);

// arn:clonefs:REGION:ACCOUNT:snapshot:NAME of the snapshot the store knows as `name`.
std::string SnapshotArn(const store::StoreInfo& store, const std::string& name);

// [{"Key": ..., "Value": ...}, ...]: Aurora's TagList, in the order of `tags`.
nlohmann::json TagListToJson(const store::Tags& tags);

// {"VolumeIdentifier","VolumeArn","VolumeId","Status","SizeBytes","AllocatedStorage",
//  "PageSize","Compression","VolumeCreateTime","Epoch","CloneGroupId","StorageEncrypted",
//  "TagList","BackupRetentionPeriod","PreferredBackupWindow"},
// "KmsKeyId" (the key's ARN) when encrypted and, for a clone or a
// restore, "SourceVolumeIdentifier" (when `source_volume` is not empty: the caller passes the
// parent's name while the parent still exists) and, for a restore, "SourceSnapshotIdentifier".
nlohmann::json VolumeToJson(store::Store& store, const store::VolumeInfo& volume,
                            const std::string& source_volume = {});

// {"SnapshotIdentifier","SnapshotArn","VolumeIdentifier","SnapshotType","Status",
//  "SnapshotCreateTime","AllocatedStorage","SizeBytes","PageSize","Compression",
//  "StorageEncrypted","PercentProgress","TagList":[{"Key","Value"}]} and "KmsKeyId" when
//  encrypted
nlohmann::json SnapshotToJson(store::Store& store, const store::SnapshotInfo& snapshot);

// {"VolumeIdentifier","LogicalBytes","MappedPages","MappedBytes","StoredBytes"}
nlohmann::json VolumeUsageToJson(const store::VolumeInfo& volume, const store::VolumeUsage& usage);

// {"StoreDirectory","Region","AccountId","FormatVersion"}
nlohmann::json StoreInfoToJson(const store::StoreInfo& info);

// A KMS key after AWS KMS's KeyMetadata: {"KeyId","Arn","AccountId","Aliases","Description",
//  "KeyState","Enabled","KeyManager","KeySpec" (SYMMETRIC_DEFAULT, RSA_3072, X25519),
//  "KeyUsage" (ENCRYPT_DECRYPT),"CreationDate","PrimaryKeyVersion","KeyVersionCount"} and
//  "DeletionDate" while pending deletion. Never key material.
nlohmann::json KeyToJson(const crypto::KeyMetadata& key);

// {"AccountId" (a string: leading zeros count),"Users":[{"UserName","Uid"}],"CreationTime"}
nlohmann::json AccountToJson(const access::Account& account);

// {"SegmentCount","SegmentBytes","LiveBytes","GarbageBytes"}
nlohmann::json StoreUsageToJson(const store::StoreUsage& usage);

}  // namespace clonefs::control
