// A networkdb member on real sockets: memberlist configured as Docker's networkdb configures it
// (LAN timers, no delegate versions, empty meta, optional keyring, 1 s reconnect) with a NetworkDb
// as its delegate, on one io_context thread. Used by `shoal-gossip table-agent`, the namespace
// loss test and the gossip benchmark.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "gossip/memberlist/keyring.h"
#include "gossip/membership/memberlist.h"
#include "gossip/net/asio_clock.h"
#include "gossip/net/asio_transport.h"
#include "gossip/networkdb/network_db.h"

namespace shoal::gossip {

struct TableAgentOptions {
  std::string name;
  NodeAddress bind;
  std::vector<NodeAddress> join;
  std::vector<Bytes> encrypt_keys;                    // the first key encrypts
  bool fast_timers = false;                           // Config::local() instead of Config::lan()
  Duration sync_interval = std::chrono::seconds(30);  // networkdb's periodic bulk sync
};

class TableAgent {
 public:
  // Membership changes about other members: "member-join", "member-leave", "member-failed".
  using MemberSink = std::function<void(const std::string& event, const Member& m)>;

  static Result<std::unique_ptr<TableAgent>> start(boost::asio::io_context& io,
                                                   TableAgentOptions options, MemberSink sink);
  ~TableAgent();

  void join(Memberlist::JoinDone done);
  // NodeEvent LEAVE, then memberlist leave.
  void leave(std::function<void()> done);
  // Installs exactly these keys, the first sealing. Only for an agent started with keys: one
  // started in the clear stays so (memberlist decides at start whether it encrypts).
  Status set_keys(std::vector<Bytes> keys);
  Memberlist& memberlist() { return *list_; }
  networkdb::NetworkDb& db() { return *db_; }

 private:
  // Forwards every hook to the NetworkDb and reports membership changes to the sink.
  class Relay : public Delegate {
   public:
    Relay(networkdb::NetworkDb& db, MemberSink sink) : db_(db), sink_(std::move(sink)) {}
    void notify_user_message(ByteView payload) override { db_.notify_user_message(payload); }
    Bytes local_state(bool join) override { return db_.local_state(join); }
    void merge_remote_state(ByteView state, bool join) override {
      db_.merge_remote_state(state, join);
    }
    void on_join(const Member& m) override;
    void on_leave(const Member& m) override;

   private:
    networkdb::NetworkDb& db_;
    MemberSink sink_;
  };

  TableAgent(boost::asio::io_context& io, TableAgentOptions options);

  TableAgentOptions options_;
  std::optional<Keyring> keyring_;
  AsioClock clock_;
  std::unique_ptr<AsioTransport> transport_;
  std::unique_ptr<networkdb::NetworkDb> db_;
  std::unique_ptr<Relay> relay_;
  std::shared_ptr<Memberlist> list_;
};

}  // namespace shoal::gossip
