#include "control/etcd/client.h"

#include <openssl/rand.h>

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <thread>

#include "common/hex.h"
#include "etcd_api.grpc.pb.h"

namespace shoal::etcd {

namespace pb = etcdserverpb;

struct Client::Stubs {
  explicit Stubs(const std::shared_ptr<grpc::Channel>& channel)
      : kv(pb::KV::NewStub(channel)),
        lease(pb::Lease::NewStub(channel)),
        cluster(pb::Cluster::NewStub(channel)),
        maintenance(pb::Maintenance::NewStub(channel)),
        auth(pb::Auth::NewStub(channel)) {}
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Lease::Stub> lease;
  std::unique_ptr<pb::Cluster::Stub> cluster;
  std::unique_ptr<pb::Maintenance::Stub> maintenance;
  std::unique_ptr<pb::Auth::Stub> auth;
};

namespace {

// etcd answers "no leader" or "request timed out" when it cannot reach a quorum, or nothing at
// all within the deadline; all three mean the same to a caller.
bool means_no_quorum(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return true;
  }
  const auto& text = status.error_message();
  return text.find("no leader") != std::string::npos ||
         text.find("request timed out") != std::string::npos ||
         text.find("leader changed") != std::string::npos;
}

Error call_error(const std::string& op, const std::string& endpoint, const grpc::Status& status) {
  std::string detail = means_no_quorum(status)
                           ? std::string(kNoQuorum) + " (etcd: " + status.error_message() + ")"
                           : status.error_message();
  return Error{.op = op, .object = "etcd member " + endpoint, .errnum = 0, .detail = detail};
}

KeyValue from_pb(const pb::KeyValue& kv) {
  return KeyValue{.key = kv.key(),
                  .value = kv.value(),
                  .create_revision = kv.create_revision(),
                  .mod_revision = kv.mod_revision(),
                  .lease = kv.lease()};
}

MemberInfo from_pb(const pb::Member& member) {
  MemberInfo info{.id = member.id(), .name = member.name()};
  info.peer_urls.assign(member.peerurls().begin(), member.peerurls().end());
  info.client_urls.assign(member.clienturls().begin(), member.clienturls().end());
  return info;
}

void fill_op(const Txn::Op& op, pb::RequestOp& out) {
  switch (op.kind) {
    case Txn::Op::kPut: {
      auto* put = out.mutable_request_put();
      put->set_key(op.key);
      put->set_value(op.value);
      put->set_lease(op.lease);
      break;
    }
    case Txn::Op::kErase:
      out.mutable_request_delete_range()->set_key(op.key);
      break;
    case Txn::Op::kGet:
      out.mutable_request_range()->set_key(op.key);
      break;
  }
}

pb::TxnRequest to_pb(const Txn& txn) {
  pb::TxnRequest request;
  for (const auto& condition : txn.conditions()) {
    auto* compare = request.add_compare();
    compare->set_key(condition.key);
    compare->set_result(pb::Compare::EQUAL);
    if (condition.kind == Txn::Condition::kValue) {
      compare->set_target(pb::Compare::VALUE);
      compare->set_value(condition.value);
    } else {
      compare->set_target(pb::Compare::CREATE);
      compare->set_create_revision(condition.revision);
    }
  }
  for (const auto& op : txn.then()) {
    fill_op(op, *request.add_success());
  }
  for (const auto& op : txn.otherwise()) {
    fill_op(op, *request.add_failure());
  }
  return request;
}

}  // namespace

bool is_no_quorum(const Error& error) {
  return error.detail.starts_with(kNoQuorum);
}

std::string prefix_end(std::string prefix) {
  // The smallest key above every key with this prefix: the last byte that can grow, grown.
  while (!prefix.empty()) {
    auto& last = prefix.back();
    if (static_cast<unsigned char>(last) < 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

Txn& Txn::if_value(std::string key, std::string value) {
  conditions_.push_back(
      {.kind = Condition::kValue, .key = std::move(key), .value = std::move(value)});
  return *this;
}

Txn& Txn::if_created_at(std::string key, int64_t create_revision) {
  conditions_.push_back(
      {.kind = Condition::kCreateRevision, .key = std::move(key), .revision = create_revision});
  return *this;
}

Txn& Txn::put(std::string key, std::string value, int64_t lease) {
  then_.push_back(
      {.kind = Op::kPut, .key = std::move(key), .value = std::move(value), .lease = lease});
  return *this;
}

Txn& Txn::erase(std::string key) {
  then_.push_back({.kind = Op::kErase, .key = std::move(key)});
  return *this;
}

Txn& Txn::otherwise_get(std::string key) {
  otherwise_.push_back({.kind = Op::kGet, .key = std::move(key)});
  return *this;
}

std::unique_ptr<Client> Client::create(const std::string& endpoint, const Tls& tls,
                                       Options options) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls.ca_pem;
  ssl.pem_private_key = tls.key_pem;
  ssl.pem_cert_chain = tls.cert_pem;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(tls.server_name);
  // etcd's snapshots and large store copies exceed gRPC's 4 MiB default.
  args.SetMaxReceiveMessageSize(64 << 20);
  // The member is local and restarts in about a second: retry at that pace, not with gRPC's
  // default backoff, which grows to two minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  // gRPC 1.51's retry filter can abort the process when a call meets a connection that drops
  // (grpc/grpc#34683: a status it assumes is there). Every caller here retries by itself.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  // An address, never a name to resolve.
  auto credentials = tls.credentials ? tls.credentials : grpc::SslCredentials(ssl);
  auto channel = grpc::CreateCustomChannel("ipv4:" + endpoint, credentials, args);
  return std::unique_ptr<Client>(new Client(endpoint, std::move(channel), options));
}

Client::Client(std::string endpoint, std::shared_ptr<grpc::Channel> channel, Options options)
    : endpoint_(std::move(endpoint)), options_(options), stubs_(std::make_unique<Stubs>(channel)) {}

Client::~Client() = default;

namespace {

void set_deadline(grpc::ClientContext& context, std::chrono::milliseconds timeout) {
  context.set_deadline(std::chrono::system_clock::now() + timeout);
}

// etcd takes a request's permissions when the request arrives and checks them again when it
// applies; an auth change committed in between (a manager's user added or removed) refuses the
// request with "revision of auth store is old" before anything applies. Asking again is safe.
bool auth_changed_under(const grpc::Status& status) {
  return status.error_message().find("revision of auth store is old") != std::string::npos;
}

// One unary call, asked again while auth changes under it, until its deadline: a promotion
// changes auth twice (user, role) and each change takes etcd tens of milliseconds (bcrypt).
template <typename Call>
grpc::Status call_through_auth_changes(std::chrono::milliseconds timeout, Call&& call) {
  const auto deadline = std::chrono::system_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(10);
  for (;;) {
    grpc::ClientContext context;
    context.set_deadline(deadline);
    auto status = call(context);
    if (!auth_changed_under(status) || std::chrono::system_clock::now() + pause >= deadline) {
      return status;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(160));
  }
}

}  // namespace

Result<std::optional<KeyValue>> Client::get(const std::string& key) {
  pb::RangeRequest request;
  request.set_key(key);
  pb::RangeResponse response;
  auto status = call_through_auth_changes(options_.call_timeout, [&](grpc::ClientContext& context) {
    return stubs_->kv->Range(&context, request, &response);
  });
  if (!status.ok()) {
    return call_error("read " + key, endpoint_, status);
  }
  if (response.kvs_size() == 0) {
    return std::optional<KeyValue>();
  }
  return std::optional<KeyValue>(from_pb(response.kvs(0)));
}

Result<std::vector<KeyValue>> Client::get_prefix(const std::string& prefix) {
  pb::RangeRequest request;
  request.set_key(prefix);
  request.set_range_end(prefix_end(prefix));
  pb::RangeResponse response;
  auto status = call_through_auth_changes(options_.call_timeout, [&](grpc::ClientContext& context) {
    return stubs_->kv->Range(&context, request, &response);
  });
  if (!status.ok()) {
    return call_error("read " + prefix + "*", endpoint_, status);
  }
  std::vector<KeyValue> out;
  out.reserve(static_cast<size_t>(response.kvs_size()));
  for (const auto& kv : response.kvs()) {
    out.push_back(from_pb(kv));
  }
  return out;
}

Status Client::put(const std::string& key, const std::string& value, int64_t lease) {
  SHOAL_TRY(commit(Txn().put(key, value, lease)));
  return {};
}

Result<TxnResult> Client::commit(const Txn& txn, std::chrono::milliseconds timeout) {
  const auto request = to_pb(txn);
  pb::TxnResponse response;
  auto status = call_through_auth_changes(timeout, [&](grpc::ClientContext& context) {
    return stubs_->kv->Txn(&context, request, &response);
  });
  if (!status.ok()) {
    return call_error("write", endpoint_, status);
  }
  TxnResult result{.succeeded = response.succeeded(), .revision = response.header().revision()};
  for (const auto& op : response.responses()) {
    if (!op.has_response_range()) {
      continue;
    }
    const auto& range = op.response_range();
    result.gets.push_back(range.kvs_size() > 0 ? std::optional(from_pb(range.kvs(0)))
                                               : std::nullopt);
  }
  return result;
}

Result<int64_t> Client::grant_lease(std::chrono::seconds ttl) {
  grpc::ClientContext context;
  set_deadline(context, options_.call_timeout);
  pb::LeaseGrantRequest request;
  request.set_ttl(ttl.count());
  pb::LeaseGrantResponse response;
  auto status = stubs_->lease->LeaseGrant(&context, request, &response);
  if (!status.ok()) {
    return call_error("grant lease", endpoint_, status);
  }
  if (!response.error().empty()) {
    return Error{
        .op = "grant lease", .object = "etcd member " + endpoint_, .detail = response.error()};
  }
  return response.id();
}

Status Client::revoke_lease(int64_t lease) {
  grpc::ClientContext context;
  set_deadline(context, options_.call_timeout);
  pb::LeaseRevokeRequest request;
  request.set_id(lease);
  pb::LeaseRevokeResponse response;
  auto status = stubs_->lease->LeaseRevoke(&context, request, &response);
  if (!status.ok()) {
    return call_error("revoke lease " + std::to_string(lease), endpoint_, status);
  }
  return {};
}

Result<std::chrono::seconds> Client::keep_alive(int64_t lease, std::chrono::milliseconds timeout) {
  grpc::ClientContext context;
  set_deadline(context, timeout);
  auto stream = stubs_->lease->LeaseKeepAlive(&context);
  pb::LeaseKeepAliveRequest request;
  request.set_id(lease);
  pb::LeaseKeepAliveResponse response;
  bool answered = stream->Write(request) && stream->Read(&response);
  stream->WritesDone();
  auto status = stream->Finish();
  if (!answered) {
    return call_error(
        "keep lease " + std::to_string(lease) + " alive", endpoint_,
        status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream closed") : status);
  }
  return std::chrono::seconds(std::max<int64_t>(response.ttl(), 0));
}

Status Client::add_root_user(const std::string& name) {
  uint8_t secret[32];
  if (RAND_bytes(secret, sizeof secret) != 1)
    return Error{.op = "add etcd user", .object = name, .detail = "the CSPRNG failed"};
  // In hex: etcd's password is a protobuf string, which must be valid UTF-8.
  const std::string password = to_hex(secret);
  pb::AuthUserAddRequest add;
  add.set_name(name);
  add.set_password(password);  // unknown to anyone: the user logs in by certificate only
  pb::AuthResponse response;
  grpc::ClientContext adding;
  set_deadline(adding, options_.call_timeout);
  auto status = stubs_->auth->UserAdd(&adding, add, &response);
  if (!status.ok() && status.error_message().find("already exists") == std::string::npos)
    return call_error("add etcd user " + name, endpoint_, status);
  pb::AuthUserGrantRoleRequest grant;
  grant.set_user(name);
  grant.set_role("root");
  grpc::ClientContext granting;
  set_deadline(granting, options_.call_timeout);
  status = stubs_->auth->UserGrantRole(&granting, grant, &response);
  if (!status.ok())
    return call_error("grant etcd user " + name + " the root role", endpoint_, status);
  return {};
}

Status Client::delete_user(const std::string& name) {
  pb::AuthUserDeleteRequest request;
  request.set_name(name);
  pb::AuthResponse response;
  grpc::ClientContext context;
  set_deadline(context, options_.call_timeout);
  auto status = stubs_->auth->UserDelete(&context, request, &response);
  if (!status.ok() && status.error_message().find("not found") == std::string::npos)
    return call_error("delete etcd user " + name, endpoint_, status);
  return {};
}

Result<std::vector<std::string>> Client::users() {
  pb::AuthUserListResponse response;
  grpc::ClientContext context;
  set_deadline(context, options_.call_timeout);
  auto status = stubs_->auth->UserList(&context, pb::AuthUserListRequest(), &response);
  if (!status.ok())
    return call_error("list etcd users", endpoint_, status);
  return std::vector<std::string>(response.users().begin(), response.users().end());
}

Status Client::enable_auth() {
  pb::AuthResponse response;
  grpc::ClientContext context;
  set_deadline(context, options_.call_timeout);
  auto status = stubs_->auth->AuthEnable(&context, pb::AuthEnableRequest(), &response);
  if (!status.ok())
    return call_error("enable etcd auth", endpoint_, status);
  return {};
}

Result<MemberInfo> Client::add_member(const std::string& peer_url) {
  grpc::ClientContext context;
  set_deadline(context, options_.call_timeout);
  pb::MemberAddRequest request;
  request.add_peerurls(peer_url);
  pb::MemberAddResponse response;
  auto status = stubs_->cluster->MemberAdd(&context, request, &response);
  if (!status.ok()) {
    return call_error("add etcd member " + peer_url, endpoint_, status);
  }
  return from_pb(response.member());
}

Status Client::remove_member(uint64_t id) {
  grpc::ClientContext context;
  set_deadline(context, options_.call_timeout);
  pb::MemberRemoveRequest request;
  request.set_id(id);
  pb::MemberRemoveResponse response;
  auto status = stubs_->cluster->MemberRemove(&context, request, &response);
  if (!status.ok()) {
    return call_error("remove etcd member " + std::to_string(id), endpoint_, status);
  }
  return {};
}

Result<std::vector<MemberInfo>> Client::members() {
  grpc::ClientContext context;
  set_deadline(context, options_.call_timeout);
  pb::MemberListResponse response;
  auto status = stubs_->cluster->MemberList(&context, pb::MemberListRequest(), &response);
  if (!status.ok()) {
    return call_error("list etcd members", endpoint_, status);
  }
  std::vector<MemberInfo> out;
  for (const auto& member : response.members()) {
    out.push_back(from_pb(member));
  }
  return out;
}

Result<MemberStatus> Client::status() {
  grpc::ClientContext context;
  set_deadline(context, options_.call_timeout);
  pb::StatusResponse response;
  auto status = stubs_->maintenance->Status(&context, pb::StatusRequest(), &response);
  if (!status.ok()) {
    return call_error("read status", endpoint_, status);
  }
  return MemberStatus{.member_id = response.header().member_id(),
                      .leader_id = response.leader(),
                      .raft_term = response.raftterm(),
                      .revision = response.header().revision()};
}

Result<std::string> Client::snapshot(std::chrono::seconds timeout) {
  grpc::ClientContext context;
  set_deadline(context, timeout);
  auto stream = stubs_->maintenance->Snapshot(&context, pb::SnapshotRequest());
  std::string data;
  pb::SnapshotResponse chunk;
  while (stream->Read(&chunk)) {
    data += chunk.blob();
  }
  auto status = stream->Finish();
  if (!status.ok()) {
    return call_error("snapshot", endpoint_, status);
  }
  return data;
}

}  // namespace shoal::etcd
