// A Delegate that makes a Memberlist look like a Serf agent to Serf peers (PROTOCOLS.md §B4):
// tags travel in Meta, the delegate versions fall inside Serf's 2..5 range, Serf's Lamport time
// is witnessed from its traffic, and leaving first gossips a Serf leave intent so that Serf
// records the member as "left" rather than "failed".
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "gossip/membership/memberlist.h"
#include "gossip/serf/serf_compat.h"

namespace shoal::gossip::serf {

enum class EventKind { kJoin, kLeave, kFailed, kUpdate };
const char* event_name(EventKind kind);  // "member-join", ...

struct MemberEvent {
  EventKind kind;
  Member member;
  Tags tags;
};

class SerfMember : public Delegate {
 public:
  using Sink = std::function<void(const MemberEvent&)>;

  SerfMember(Clock& clock, Sink sink) : clock_(clock), sink_(std::move(sink)) {}

  // memberlist versions Serf accepts: protocol 1..5 (current 2), delegate 2..5 (current 4).
  static Versions versions() {
    return Versions{1, 5, 2, kDelegateMin, kDelegateMax, kDelegateCurrent};
  }

  void attach(std::shared_ptr<Memberlist> list) { list_ = std::move(list); }
  // Gossips a leave intent, then leaves memberlist; `done` runs when both went out or timed out.
  void leave(Duration timeout, std::function<void()> done);
  uint64_t lamport_time() const { return ltime_; }

  void notify_user_message(ByteView payload) override;
  void merge_remote_state(ByteView state, bool join) override;
  void on_join(const Member& m) override { emit(EventKind::kJoin, m); }
  void on_leave(const Member& m) override {
    emit(m.state == MemberState::kLeft ? EventKind::kLeave : EventKind::kFailed, m);
  }
  void on_update(const Member& m) override { emit(EventKind::kUpdate, m); }

 private:
  void witness(uint64_t t) { ltime_ = std::max(ltime_, t + 1); }
  void emit(EventKind kind, const Member& m);

  Clock& clock_;
  Sink sink_;
  std::shared_ptr<Memberlist> list_;
  uint64_t ltime_ = 1;  // Serf's member Lamport clock, as far as we have seen it
};

}  // namespace shoal::gossip::serf
