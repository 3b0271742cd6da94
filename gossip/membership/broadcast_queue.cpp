#include "gossip/membership/broadcast_queue.h"

#include <algorithm>
#include <cmath>

namespace shoal::gossip {

int BroadcastQueue::retransmit_limit(int retransmit_mult, size_t num_nodes) {
  const double scale = std::ceil(std::log10(static_cast<double>(num_nodes) + 1.0));
  return retransmit_mult * static_cast<int>(scale);
}

void BroadcastQueue::finish(std::list<Entry>::iterator it) {
  Finished done = std::move(it->on_finished);
  entries_.erase(it);
  if (done)
    done();
}

void BroadcastQueue::queue(std::string key, Bytes message, Finished on_finished) {
  if (!key.empty()) {
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const Entry& e) { return e.key == key; });
    if (it != entries_.end())
      finish(it);
  }
  if (entries_.size() >= max_entries_) {
    auto oldest =
        std::max_element(entries_.begin(), entries_.end(),
                         [](const Entry& a, const Entry& b) { return a.transmits < b.transmits; });
    finish(oldest);
  }
  entries_.push_back(
      Entry{std::move(key), std::move(message), 0, next_id_++, std::move(on_finished)});
}

std::vector<Bytes> BroadcastQueue::take(size_t overhead, size_t limit, int retransmit_limit) {
  std::vector<std::list<Entry>::iterator> order;
  for (auto it = entries_.begin(); it != entries_.end(); ++it)
    order.push_back(it);
  std::sort(order.begin(), order.end(), [](auto a, auto b) {
    return a->transmits != b->transmits ? a->transmits < b->transmits : a->id > b->id;
  });
  std::vector<Bytes> out;
  size_t used = 0;
  for (auto it : order) {
    const size_t cost = overhead + it->message.size();
    if (used + cost > limit)
      continue;
    used += cost;
    out.push_back(it->message);
    if (++it->transmits >= retransmit_limit)
      finish(it);
  }
  return out;
}

void BroadcastQueue::clear() {
  while (!entries_.empty())
    finish(entries_.begin());
}

}  // namespace shoal::gossip
