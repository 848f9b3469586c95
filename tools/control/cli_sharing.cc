#include "tools/control/cli_sharing.h"

namespace clonefs::control {

void DefineSharingCommands(CLI::App& app, SharingCliOptions& o, const LeafMaker& leaf) {
  CLI::App* snapshot = app.get_subcommand("snapshot");
  CLI::App* attribute = snapshot->add_subcommand(
      "attribute", "Which other accounts may restore or copy a manual snapshot");
  attribute->require_subcommand(1);
  CLI::App* modify = leaf(attribute, "modify", "Add or remove accounts of an attribute",
                          "snapshot.attribute.modify");
  modify->add_option("SNAPSHOT", o.name, "Snapshot name or ARN")->required();
  modify->add_option("--attribute", o.attribute, "The attribute: restore")
      ->required()
      ->check(CLI::IsMember({"restore"}));
  modify->add_option("--add", o.add, "Account ids (or 'all': public) to allow")
      ->type_name("ACCOUNT")
      ->allow_extra_args(true);
  modify->add_option("--remove", o.remove, "Account ids (or 'all') to take away")
      ->type_name("ACCOUNT")
      ->allow_extra_args(true);
  leaf(attribute, "show", "Show a snapshot's attributes", "snapshot.attribute.show")
      ->add_option("SNAPSHOT", o.name, "Snapshot name or ARN")
      ->required();

  CLI::App* share = app.add_subcommand("share", "Share volumes with other accounts for cloning");
  share->require_subcommand(1);
  CLI::App* create = leaf(share, "create", "Invite accounts to clone a volume", "share.create");
  create->add_option("NAME", o.name, "The share's name")->required();
  create->add_option("--resource", o.resource, "The volume (name or ARN)")
      ->required()
      ->type_name("VOLUME");
  create->add_option("--principal", o.principals, "An account id to invite (repeatable)")
      ->required()
      ->type_name("ACCOUNT")
      ->allow_extra_args(true);
  leaf(share, "list", "List your resource shares", "share.list");
  leaf(share, "delete", "Delete a resource share", "share.delete")
      ->add_option("NAME", o.name, "The share's name")
      ->required();
  leaf(share, "principals", "Who a volume is shared with", "share.principals")
      ->add_option("--resource", o.resource, "The volume (name or ARN)")
      ->required()
      ->type_name("VOLUME");

  CLI::App* invitation =
      app.add_subcommand("invitation", "Invitations to resource shares of other accounts");
  invitation->require_subcommand(1);
  leaf(invitation, "list", "List the invitations sent to you", "invitation.list")
      ->add_option("--status", o.status, "Only those in this status")
      ->check(CLI::IsMember({"pending", "accepted", "rejected", "expired"}));
  leaf(invitation, "accept", "Accept an invitation", "invitation.accept")
      ->add_option("INVITATION", o.name, "Invitation id or ARN")
      ->required();
  leaf(invitation, "reject", "Reject an invitation", "invitation.reject")
      ->add_option("INVITATION", o.name, "Invitation id or ARN")
      ->required();
}

bool SharingArgs(const std::string& command, const SharingCliOptions& o, nlohmann::json* args) {
  const bool sharing = command.rfind("snapshot.attribute.", 0) == 0 ||
                       command.rfind("share.", 0) == 0 || command.rfind("invitation.", 0) == 0;
  if (!sharing) return false;
  if (command != "share.list" && command != "share.principals" && command != "invitation.list") {
    (*args)["name"] = o.name;
  }
  if (command == "snapshot.attribute.modify") {
    (*args)["attribute"] = o.attribute;
    if (!o.add.empty()) (*args)["add"] = o.add;
    if (!o.remove.empty()) (*args)["remove"] = o.remove;
  }
  if (command == "share.create" || command == "share.principals") {
    (*args)["resource"] = o.resource;
  }
  if (command == "share.create") (*args)["principals"] = o.principals;
  if (command == "invitation.list" && !o.status.empty()) (*args)["status"] = o.status;
  return true;
}

}  // namespace clonefs::control
