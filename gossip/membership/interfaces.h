// The seams that keep the membership state machine free of I/O: a clock with timers, a transport
// for packets and streams, and a delegate through which the layer above (Serf compatibility,
// replicated tables) plugs in. Real implementations live in gossip/net/, fakes in gossip/testing/.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "common/result.h"
#include "gossip/membership/types.h"

namespace shoal::gossip {

class Clock {
 public:
  using TimerId = uint64_t;
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // Runs `fn` once after `delay` on the same thread as every other callback.
  virtual TimerId schedule(Duration delay, std::function<void()> fn) = 0;
  virtual void cancel(TimerId id) = 0;
};

// Receives what a transport reads. Calls arrive on the state machine's thread.
class TransportHandler {
 public:
  virtual ~TransportHandler() = default;
  virtual void on_packet(const NodeAddress& from, ByteView packet) = 0;
  // One complete stream frame (see stream_frame_size); returns the reply to write, if any.
  virtual std::optional<Bytes> on_stream(const NodeAddress& from, ByteView frame) = 0;
};

class Transport {
 public:
  using StreamDone = std::function<void(Result<Bytes>)>;
  virtual ~Transport() = default;
  // Best effort, like UDP: may be lost, never blocks.
  virtual void send_packet(const NodeAddress& to, Bytes packet) = 0;
  // Opens a stream, writes `request`, and when `expect_reply` reads one frame back. `done` gets
  // the reply (empty when none was expected) or the error, within `timeout`.
  virtual void send_stream(const NodeAddress& to, Bytes request, bool expect_reply,
                           Duration timeout, StreamDone done) = 0;
};

// Hooks for the layer above, all optional (defaults do nothing).
class Delegate {
 public:
  virtual ~Delegate() = default;
  virtual void notify_user_message(ByteView /*payload*/) {}
  virtual Bytes local_state(bool /*join*/) { return {}; }
  virtual void merge_remote_state(ByteView /*state*/, bool /*join*/) {}
  // Membership events. Not called for the local node.
  virtual void on_join(const Member& /*member*/) {}
  virtual void on_leave(const Member& /*member*/) {}  // member.state says dead or left
  virtual void on_update(const Member& /*member*/) {}
};

}  // namespace shoal::gossip
