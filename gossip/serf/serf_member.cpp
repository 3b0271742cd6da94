#include "gossip/serf/serf_member.h"

#include <spdlog/spdlog.h>

namespace shoal::gossip::serf {

const char* event_name(EventKind kind) {
  switch (kind) {
    case EventKind::kJoin:
      return "member-join";
    case EventKind::kLeave:
      return "member-leave";
    case EventKind::kFailed:
      return "member-failed";
    case EventKind::kUpdate:
      return "member-update";
  }
  return "unknown";
}

void SerfMember::notify_user_message(ByteView payload) {
  if (auto t = message_ltime(payload))
    witness(*t);
}

void SerfMember::merge_remote_state(ByteView state, bool /*join*/) {
  if (!state.empty() && state[0] == static_cast<uint8_t>(MessageType::kPushPull)) {
    if (auto t = message_ltime(state))
      witness(*t);
  }
}

void SerfMember::emit(EventKind kind, const Member& m) {
  auto tags = decode_tags(m.meta);
  if (!tags.ok()) {
    spdlog::warn("gossip: member {} has unreadable tags: {}", m.name, tags.error().message());
  }
  if (sink_)
    sink_(MemberEvent{kind, m, tags.ok() ? *tags : Tags{}});
}

void SerfMember::leave(Duration timeout, std::function<void()> done) {
  if (!list_) {
    done();
    return;
  }
  auto list = list_;
  auto started = std::make_shared<bool>(false);
  auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
  // Runs once: when the intent went out, or when waiting for it timed out.
  auto memberlist_leave = [list, timeout, started, shared_done] {
    if (*started)
      return;
    *started = true;
    list->leave(timeout, [shared_done] { (*shared_done)(); });
  };
  if (list->num_alive() <= 1) {
    memberlist_leave();
    return;
  }
  // The intent's Lamport time must beat the status time Serf holds for us.
  const uint64_t ltime = ++ltime_;
  list->queue_user_broadcast(encode_leave_intent(ltime, list->config().name), memberlist_leave);
  clock_.schedule(timeout, memberlist_leave);
}

}  // namespace shoal::gossip::serf
