#include "gossip/agent/table_agent.h"

namespace shoal::gossip {

void TableAgent::Relay::on_join(const Member& m) {
  db_.on_join(m);
  if (sink_)
    sink_("member-join", m);
}

void TableAgent::Relay::on_leave(const Member& m) {
  db_.on_leave(m);
  if (sink_)
    sink_(m.state == MemberState::kLeft ? "member-leave" : "member-failed", m);
}

TableAgent::TableAgent(boost::asio::io_context& io, TableAgentOptions options)
    : options_(std::move(options)), clock_(io) {}

TableAgent::~TableAgent() {
  if (list_)
    list_->shutdown();
  if (db_)
    db_->stop();
  if (transport_)
    transport_->close();
}

Result<std::unique_ptr<TableAgent>> TableAgent::start(boost::asio::io_context& io,
                                                      TableAgentOptions options, MemberSink sink) {
  std::unique_ptr<TableAgent> agent(new TableAgent(io, std::move(options)));
  const TableAgentOptions& opts = agent->options_;
  Config config =
      opts.fast_timers ? Config::local(opts.name, opts.bind) : Config::lan(opts.name, opts.bind);
  config.reconnect_interval = std::chrono::seconds(1);  // networkdb retries a failed node every 1 s
  if (!opts.encrypt_keys.empty()) {
    SHOAL_ASSIGN_OR_RETURN(Keyring ring, Keyring::create(opts.encrypt_keys));
    agent->keyring_ = std::move(ring);
    config.security.keyring = &*agent->keyring_;
  }
  TransportLimits limits;
  limits.inbound_timeout = config.tcp_timeout;
  SHOAL_ASSIGN_OR_RETURN(agent->transport_,
                         AsioTransport::bind(io, opts.bind, config.security, limits));
  networkdb::NetworkDbConfig db_config;
  db_config.sync_interval = opts.sync_interval;
  agent->db_ = std::make_unique<networkdb::NetworkDb>(opts.name, agent->clock_, db_config);
  agent->relay_ = std::make_unique<Relay>(*agent->db_, std::move(sink));
  SHOAL_ASSIGN_OR_RETURN(agent->list_, Memberlist::create(config, {}, agent->clock_,
                                                          *agent->transport_, agent->relay_.get()));
  agent->transport_->set_handler(agent->list_.get());
  agent->db_->attach(agent->list_);
  agent->list_->start();
  return agent;
}

Status TableAgent::set_keys(std::vector<Bytes> keys) {
  if (!keyring_)
    return invalid_argument("gossip member " + options_.name, "was started without encryption");
  return keyring_->replace(std::move(keys));
}

void TableAgent::join(Memberlist::JoinDone done) {
  list_->join(options_.join, std::move(done));
}

void TableAgent::leave(std::function<void()> done) {
  db_->leave(std::chrono::seconds(5), std::move(done));
}

}  // namespace shoal::gossip
