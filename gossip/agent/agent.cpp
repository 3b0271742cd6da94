#include "gossip/agent/agent.h"

namespace shoal::gossip {

Agent::Agent(boost::asio::io_context& io, AgentOptions options)
    : options_(std::move(options)), clock_(io) {}

Agent::~Agent() {
  if (list_)
    list_->shutdown();
  if (transport_)
    transport_->close();
}

Result<std::unique_ptr<Agent>> Agent::start(boost::asio::io_context& io, AgentOptions options,
                                            serf::SerfMember::Sink sink) {
  std::unique_ptr<Agent> agent(new Agent(io, std::move(options)));
  const AgentOptions& opts = agent->options_;
  Config config =
      opts.fast_timers ? Config::local(opts.name, opts.bind) : Config::lan(opts.name, opts.bind);
  config.versions = serf::SerfMember::versions();
  config.reconnect_interval = opts.fast_timers ? std::chrono::seconds(5) : std::chrono::seconds(30);
  if (!opts.encrypt_keys.empty()) {
    SHOAL_ASSIGN_OR_RETURN(Keyring ring, Keyring::create(opts.encrypt_keys));
    agent->keyring_ = std::move(ring);
    config.security.keyring = &*agent->keyring_;
  }
  SHOAL_ASSIGN_OR_RETURN(Bytes meta, serf::encode_tags(opts.tags));
  TransportLimits limits;
  limits.inbound_timeout = config.tcp_timeout;
  SHOAL_ASSIGN_OR_RETURN(agent->transport_,
                         AsioTransport::bind(io, opts.bind, config.security, limits));
  agent->serf_ = std::make_unique<serf::SerfMember>(agent->clock_, std::move(sink));
  SHOAL_ASSIGN_OR_RETURN(agent->list_, Memberlist::create(config, std::move(meta), agent->clock_,
                                                          *agent->transport_, agent->serf_.get()));
  agent->serf_->attach(agent->list_);
  agent->transport_->set_handler(agent->list_.get());
  agent->list_->start();
  return agent;
}

void Agent::join(Memberlist::JoinDone done) {
  list_->join(options_.join, std::move(done));
}

void Agent::leave(std::function<void()> done) {
  // Serf's defaults: 5 s for each broadcast to go out.
  serf_->leave(std::chrono::seconds(5), std::move(done));
}

}  // namespace shoal::gossip
