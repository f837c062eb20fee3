// GroupCommit: concurrent writers joined into one write. Commit(item)
// returns once a write that holds `item` is done, with that write's status.
// Writes run one at a time: items that arrive while one runs wait together,
// and the first of them to wake writes them all in one go (one WriteBatch,
// one write-ahead-log append and, for a synced write, one disk flush, where
// each item alone would have waited for its own).
//
// Thread safety: Commit may be called from any thread; `write` is called by
// one thread at a time, in the order the groups form, without the group's
// lock held.
#ifndef DECONFLICTION_STORAGE_GROUP_COMMIT_H_
#define DECONFLICTION_STORAGE_GROUP_COMMIT_H_

#include <functional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace deconfliction {

template <typename Item>
class GroupCommit {
 public:
  // Writes a group's items, in their order of arrival, as one write.
  using Write = std::function<absl::Status(const std::vector<Item*>& group)>;

  explicit GroupCommit(Write write) : write_(std::move(write)) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Writes `item` (which must live until this returns) with whatever else
  // is waiting; the status of the write that held it.
  absl::Status Commit(Item* item) {
    Waiting mine;
    mine.item = item;
    std::vector<Waiting*> group;
    {
      absl::MutexLock lock(&mu_);
      waiting_.push_back(&mine);
      auto written_or_free = [this, &mine]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                                 mu_) { return mine.written || !writing_; };
      mu_.Await(absl::Condition(&written_or_free));
      if (mine.written) return mine.status;
      writing_ = true;
      group.swap(waiting_);
    }
    std::vector<Item*> items;
    items.reserve(group.size());
    for (const Waiting* waiting : group) items.push_back(waiting->item);
    absl::Status status = write_(items);
    absl::MutexLock lock(&mu_);
    for (Waiting* waiting : group) {
      waiting->status = status;
      waiting->written = true;
    }
    writing_ = false;
    return status;
  }

 private:
  // An item in Commit, until a write has taken it.
  struct Waiting {
    Item* item = nullptr;
    bool written = false;
    absl::Status status;
  };

  const Write write_;
  absl::Mutex mu_;
  std::vector<Waiting*> waiting_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace deconfliction

#endif  // DECONFLICTION_STORAGE_GROUP_COMMIT_H_
