#include "tools/control/copy_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/env.h"
#include "base/error_names.h"
#include "tools/control/copy_run.h"
#include "tools/control/errors.h"
#include "tools/control/json_views.h"

namespace clonefs::control {

using nlohmann::json;

struct CopyService::Job {
  enum class State { kQueued, kCopying, kFailed };
  CopyPlan plan;
  uint64_t create_time_us = 0;
  State state = State::kQueued;
  std::string failure;                 // kFailed: why
  std::atomic<int> percent{-1};        // -1 until the copy started
  std::atomic<bool> cancelled{false};  // its target was deleted
  bool finished = false;               // the worker is done with it; GUARDED_BY mu_
  bool committed = false;              // ... and the snapshot exists; GUARDED_BY mu_
};

namespace {

std::string_view StateName(CopyService::Job::State s) {
  switch (s) {
    case CopyService::Job::State::kQueued:
      return "queued";
    case CopyService::Job::State::kCopying:
      return "copying";
    case CopyService::Job::State::kFailed:
      return "failed";
  }
  return "queued";
}

store::Tags TagsFrom(const json& j) {
  store::Tags tags;
  for (const json& t : j) tags.emplace_back(t.at("Key").get<std::string>(), t.at("Value"));
  return tags;
}

uint64_t CountManualSnapshots(store::Store* store) {
  uint64_t n = 0;
  for (const store::SnapshotInfo& s : store->ListSnapshots()) {
    n += s.type == store::SnapshotType::kManual;
  }
  return n;
}

}  // namespace

Result<std::unique_ptr<CopyService>> CopyService::Start(store::Store* store, CopyServiceOptions o) {
  std::unique_ptr<CopyService> service(new CopyService(store, o));
  CLONEFS_RETURN_IF_ERROR(service->LoadJobs());
  for (size_t i = 0; i < std::max<size_t>(1, o.max_in_flight); ++i) {
    service->workers_.emplace_back([s = service.get()] { s->WorkerLoop(); });
  }
  return service;
}

CopyService::~CopyService() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

json CopyService::ViewLocked(const Job& job) const {
  const CopyPlan& p = job.plan;
  // The target as it will be: the source's shape under the copy's name, key and tags.
  store::SnapshotInfo shown = p.source;
  shown.name = p.request.target;
  shown.type = store::SnapshotType::kManual;
  shown.create_time_us = job.create_time_us;
  shown.tags = p.tags;
  shown.kms_key_id = p.kms_key;
  shown.source_snapshot_arn = p.source_arn;
  json j = SnapshotToJson(*store_, shown);
  j["Status"] = job.state == Job::State::kFailed ? "failed" : "copying";
  const int percent = job.percent.load();
  if (job.state == Job::State::kFailed) {
    j["StatusMessage"] = job.failure;
    j.erase("PercentProgress");
  } else if (percent < 0) {
    j.erase("PercentProgress");  // queued: no progress is shown, as Aurora shows none
  } else {
    j["PercentProgress"] = std::min(percent, 99);
  }
  return j;
}

Status CopyService::PersistLocked() const {
  json jobs = json::array();
  for (const auto& job : jobs_) {
    const CopyRequest& r = job->plan.request;
    jobs.push_back({{"Target", r.target},
                    {"Source", r.source},
                    {"KmsKeyId", r.kms_key},
                    {"CopyTags", r.copy_tags},
                    {"Tags", TagListToJson(r.tags)},
                    {"CreateTimeMicros", job->create_time_us},
                    {"State", std::string(StateName(job->state))},
                    {"Failure", job->failure}});
  }
  json doc = {{"Version", 1}, {"Copies", std::move(jobs)}};
  return WriteFileAtomically(Env::Default(), store_->info().dir + "/" + kJobsFile,
                             JsonToString(doc, 2) + "\n");
}

Status CopyService::LoadJobs() {
  const std::string path = store_->info().dir + "/" + kJobsFile;
  auto text = ReadFileToString(Env::Default(), path);
  if (!text.ok()) return text.status().IsNotFound() ? Status::OK() : text.status();
  json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || doc.value("Version", 0) != 1 || !doc.contains("Copies")) {
    return Status::Corruption(path + " is not a copy job list this version reads");
  }
  std::lock_guard<std::mutex> l(mu_);
  try {
    for (const json& j : doc["Copies"]) {
      auto job = std::make_shared<Job>();
      CopyRequest& r = job->plan.request;
      r.target = j.at("Target").get<std::string>();
      r.source = j.at("Source").get<std::string>();
      r.kms_key = j.value("KmsKeyId", "");
      r.copy_tags = j.value("CopyTags", false);
      r.tags = TagsFrom(j.value("Tags", json::array()));
      job->create_time_us = j.value("CreateTimeMicros", uint64_t{0});
      job->plan.source_arn = r.source;
      job->plan.tags = r.tags;
      if (j.value("State", "") == "failed") {
        job->state = Job::State::kFailed;
        job->failure = j.value("Failure", "");
      } else {
        // Started again from the beginning: what it had written went with the restart.
        auto plan = PlanCopy(store_, r, [this](const std::string& name) {
          return std::any_of(jobs_.begin(), jobs_.end(),
                             [&](const auto& other) { return other->plan.request.target == name; });
        });
        if (plan.ok()) {
          job->plan = std::move(plan).value();
          queue_.push_back(job);
          spdlog::info("copy of {} to {} starts again after a restart", r.source, r.target);
        } else {
          job->state = Job::State::kFailed;
          job->failure = "the copy was interrupted by a restart and cannot start again: " +
                         plan.status().message();
          spdlog::warn("copy to {}: {}", r.target, job->failure);
        }
      }
      jobs_.push_back(job);
    }
  } catch (const std::exception& e) {
    return Status::Corruption(path + ": " + e.what());
  }
  return PersistLocked();
}

Result<json> CopyService::Submit(const CopyRequest& request) {
  auto taken = [this](const std::string& name) { return Has(name); };
  CLONEFS_ASSIGN_OR_RETURN(CopyPlan plan, PlanCopy(store_, request, taken));
  std::lock_guard<std::mutex> l(mu_);
  // Checked again under the lock: two copies to one name may race through PlanCopy.
  for (const auto& job : jobs_) {
    if (job->plan.request.target == request.target) {
      return errors::SnapshotAlreadyExists(request.target);
    }
  }
  if (CountManualSnapshots(store_) + jobs_.size() >= options_.snapshot_quota) {
    return errors::Named(
        errors::kSnapshotQuotaExceeded,
        Status::QuotaExceeded("the store already holds " + std::to_string(options_.snapshot_quota) +
                              " manual snapshots (copies in progress count)"));
  }
  auto job = std::make_shared<Job>();
  job->plan = std::move(plan);
  job->create_time_us = Env::Default()->NowMicros();
  jobs_.push_back(job);
  Status s = PersistLocked();
  if (!s.ok()) {
    jobs_.pop_back();
    return s;
  }
  queue_.push_back(job);
  cv_.notify_all();
  spdlog::info("copy of {} to {} accepted ({} ahead of it)", job->plan.source_arn, request.target,
               queue_.size() - 1 + running_);
  return ViewLocked(*job);
}

std::optional<json> CopyService::Describe(const std::string& target) const {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& job : jobs_) {
    if (job->plan.request.target == target) return ViewLocked(*job);
  }
  return std::nullopt;
}

std::vector<json> CopyService::List() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<json> out;
  for (const auto& job : jobs_) out.push_back(ViewLocked(*job));
  return out;
}

bool CopyService::Has(const std::string& target) const {
  std::lock_guard<std::mutex> l(mu_);
  return std::any_of(jobs_.begin(), jobs_.end(),
                     [&](const auto& job) { return job->plan.request.target == target; });
}

Result<json> CopyService::Cancel(const std::string& target) {
  std::shared_ptr<Job> job;
  json view;
  {
    std::unique_lock<std::mutex> l(mu_);
    auto it = std::find_if(jobs_.begin(), jobs_.end(),
                           [&](const auto& j) { return j->plan.request.target == target; });
    if (it == jobs_.end()) return errors::SnapshotNotFound(target);
    job = *it;
    view = ViewLocked(*job);
    job->cancelled = true;
    jobs_.erase(it);
    queue_.erase(std::remove(queue_.begin(), queue_.end(), job), queue_.end());
    Status s = PersistLocked();
    if (!s.ok()) spdlog::warn("copy jobs could not be saved after a cancel: {}", s.ToString());
    // A running copy stops at its next chunk; wait, so that nothing of it is left on return.
    const bool running = job->state == Job::State::kCopying;
    cv_.wait(l, [&] { return !running || job->finished; });
  }
  if (job->committed) {
    // It finished just as it was cancelled: deleting the target means deleting it now.
    CLONEFS_RETURN_IF_ERROR(store_->DeleteSnapshot(target));
  }
  spdlog::info("copy to {} cancelled", target);
  view["Status"] = "deleted";
  return view;
}

void CopyService::WaitIdle() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return queue_.empty() && running_ == 0; });
}

void CopyService::WorkerLoop() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::shared_ptr<Job> job = queue_.front();
    queue_.pop_front();
    job->state = Job::State::kCopying;
    job->percent = 0;
    ++running_;
    l.unlock();
    Run(job);
    l.lock();
    --running_;
    job->finished = true;
    cv_.notify_all();
  }
}

void CopyService::Run(const std::shared_ptr<Job>& job) {
  auto progress = [job](uint64_t done, uint64_t total) {
    job->percent = total == 0 ? 100 : static_cast<int>(done * 100 / total);
  };
  auto cancelled = [this, job] {
    if (job->cancelled) return true;
    std::lock_guard<std::mutex> l(mu_);
    return stopping_;
  };
  Result<store::SnapshotInfo> copied = ExecuteCopy(store_, job->plan, progress, cancelled);
  std::lock_guard<std::mutex> l(mu_);
  if (job->cancelled) {
    job->committed = copied.ok();
    return;
  }
  if (stopping_ && !copied.ok()) return;  // stays queued in the file: it starts again next time
  auto it = std::find(jobs_.begin(), jobs_.end(), job);
  if (copied.ok()) {
    if (it != jobs_.end()) jobs_.erase(it);
  } else {
    job->state = Job::State::kFailed;
    job->failure = copied.status().message();
    job->plan.pin.reset();  // a failed copy keeps its name until deleted, not the source's pages
  }
  Status s = PersistLocked();
  if (!s.ok()) spdlog::warn("copy jobs could not be saved: {}", s.ToString());
}

Result<json> CopyNow(store::Store* store, const CopyRequest& request,
                     const std::function<void(uint64_t, uint64_t)>& progress,
                     const std::function<bool()>& cancelled) {
  CLONEFS_ASSIGN_OR_RETURN(CopyPlan plan, PlanCopy(store, request, nullptr));
  CLONEFS_ASSIGN_OR_RETURN(store::SnapshotInfo s, ExecuteCopy(store, plan, progress, cancelled));
  return SnapshotToJson(*store, s);
}

}  // namespace clonefs::control
