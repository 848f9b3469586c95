// Sharing: which accounts may use another account's snapshots and volumes, and the
// cross-account clones made from them (docs/CLI.md, "Sharing").
//
// Two mechanisms, as in Aurora:
//   - a manual snapshot's restore attribute (ModifyDBClusterSnapshotAttribute): up to 20
//     account ids, or "all" for an unencrypted one; a listed account may restore or copy it.
//   - resource shares of volumes (AWS RAM): the owner names principals, each gets an
//     invitation; only once it accepts may it clone the volume (a cross-account clone, at most
//     15 per volume). An invitation not answered within 7 days expires.
//
// Resources are named by key: store name and catalog id (SharingKey), so that a snapshot or
// volume deleted and made again under the same name is not shared by the old entry (ids are
// never reused), and an entry of a deleted one is inert, whichever way it was deleted (callers
// that list shares leave out those of volumes gone); the owner of each is implied by its store
// name. The rules that need facts
// about a resource (is it manual, encrypted, under a default key,
// available) take them as arguments, so this class needs nothing but its document.
//
// State lives in the store document "sharing" (docs/FORMAT.md): every change is durable before
// it is applied or answered. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/env.h"
#include "base/result.h"
#include "store/store.h"

namespace clonefs::access {

inline constexpr size_t kMaxRestoreAccounts = 20;
inline constexpr size_t kMaxCrossAccountClones = 15;
inline constexpr uint64_t kInvitationLifetimeUs = 7ull * 24 * 3600 * 1000000;
inline constexpr std::string_view kPublic = "all";  // the restore value that makes it public

// What the restore-attribute rules need to know of a snapshot.
struct SnapshotFacts {
  bool manual = true;
  bool encrypted = false;
  bool default_key = false;  // encrypted under its owner's default key
};

// What the share rules need to know of a volume.
struct VolumeFacts {
  bool available = true;
  bool encrypted = false;
  bool default_key = false;
  bool cross_account_clone = false;
};

// The key of the snapshot or volume with store name `store_name` and catalog id `id`.
std::string SharingKey(const std::string& store_name, uint64_t id);
// The store name in a key.
std::string StoreNameOfKey(const std::string& key);

enum class InvitationStatus { kPending, kAccepted, kRejected, kExpired };
std::string_view InvitationStatusName(InvitationStatus s);  // "pending", ...
Result<InvitationStatus> ParseInvitationStatus(std::string_view name);
// How the owner sees a principal: "associating" (invited), "associated" (accepted),
// "disassociated" (rejected or expired).
std::string_view AssociationName(InvitationStatus s);

struct Principal {
  std::string account;
  std::string invitation_id;
  InvitationStatus status = InvitationStatus::kPending;
  uint64_t created_us = 0;
  uint64_t updated_us = 0;
};

struct Share {
  std::string id;
  std::string name;
  std::string owner;     // account id
  std::string resource;  // store name of the volume
  uint64_t created_us = 0;
  uint64_t updated_us = 0;
  std::vector<Principal> principals;
};

struct Invitation {
  std::string id;
  std::string share_id;
  std::string share_name;
  std::string resource;  // the shared volume's key
  std::string sender;
  std::string receiver;
  InvitationStatus status = InvitationStatus::kPending;
  uint64_t created_us = 0;
};

// A share's principal as ListPrincipals shows it.
struct PrincipalOfResource {
  Principal principal;
  std::string share_id;
  std::string share_name;
};

class Sharing {
 public:
  static constexpr std::string_view kDocument = "sharing";
  using AccountExists = std::function<bool(const std::string& account)>;

  // REQUIRES: `store` and `env` outlive this object.
  static Result<std::unique_ptr<Sharing>> Open(store::Store* store, Env* env = Env::Default());
  ~Sharing();

  // --- snapshot restore attribute ---
  // Adds and removes account ids (or "all") on snapshot `snapshot` of account `owner`, as one
  // change: nothing changes when any part is refused. Removing "all" leaves the ids added one
  // by one. Returns the values after the change, sorted ("all" last).
  Result<std::vector<std::string>> ModifyRestore(const std::string& owner,
                                                 const std::string& snapshot,
                                                 const std::vector<std::string>& add,
                                                 const std::vector<std::string>& remove,
                                                 const SnapshotFacts& facts,
                                                 const AccountExists& exists);
  std::vector<std::string> RestoreValues(const std::string& snapshot) const;
  // Whether `account` (not the owner) may restore or copy `snapshot`.
  bool MayRestore(const std::string& account, const std::string& snapshot) const;
  // The snapshots listed for `account` by id, and those public, by store name.
  std::vector<std::string> SharedSnapshots(const std::string& account) const;
  std::vector<std::string> PublicSnapshots() const;

  // --- resource shares of volumes, and their invitations ---
  Result<Share> CreateShare(const std::string& owner, const std::string& name,
                            const std::string& volume, const std::vector<std::string>& principals,
                            const VolumeFacts& facts, const AccountExists& exists);
  Status DeleteShare(const std::string& owner, const std::string& name);
  std::vector<Share> SharesOf(const std::string& owner) const;
  std::vector<PrincipalOfResource> PrincipalsOf(const std::string& volume) const;
  // `account`'s invitations, newest first; only those in `status` when given.
  std::vector<Invitation> InvitationsOf(const std::string& account,
                                        std::optional<InvitationStatus> status) const;
  Result<Invitation> Accept(const std::string& account, const std::string& invitation_id) {
    return Respond(account, invitation_id, /*accept=*/true);
  }
  Result<Invitation> Reject(const std::string& account, const std::string& invitation_id) {
    return Respond(account, invitation_id, /*accept=*/false);
  }
  // Whether `account` accepted a share of `volume` (it may then see and clone it).
  bool MayClone(const std::string& account, const std::string& volume) const;
  // The volumes shared with `account` and accepted, by store name.
  std::vector<std::string> SharedVolumes(const std::string& account) const;

  // --- cross-account clones ---
  // Refuses a new cross-account clone of `source` once it has kMaxCrossAccountClones that are
  // `alive` (a clone deleted by any path, the mount's unlink included, no longer counts).
  using Alive = std::function<bool(const std::string& clone)>;
  Status CheckCrossAccountClone(const std::string& source, const Alive& alive) const;
  Status RecordCrossAccountClone(const std::string& clone, const std::string& source);
  bool IsCrossAccountClone(const std::string& volume) const;

  // --- rename ---
  // Renames the volume of key `volume` to store name `new_name` (Store::RenameVolume), unless
  // a resource share names it (Aurora: a shared cluster cannot be renamed; InvalidVolumeState
  // naming the share), and moves its cross-account clone records (as a clone or as a source)
  // to its new key. Crash-safe: the records under the new key are saved before the rename and
  // those under the old one dropped after it (an entry of a name without that id is inert).
  Result<store::VolumeInfo> RenameVolume(const std::string& volume, const std::string& new_name);

  struct State;  // the document's contents (sharing.cc)

 private:
  Sharing(store::Store* store, Env* env, std::unique_ptr<State> state);
  // Saves `next` durably, then makes it the state. REQUIRES: mu_ held exclusively.
  Status CommitLocked(std::unique_ptr<State> next);
  Result<Invitation> Respond(const std::string& account, const std::string& id, bool accept);
  // Marks invitations past their lifetime expired (in `s`, not saved).
  void ExpireLocked(State* s) const;

  store::Store* const store_;
  Env* const env_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<State> state_;  // GUARDED_BY(mu_)
};

}  // namespace clonefs::access
