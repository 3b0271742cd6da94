// `shoal run` on the node that runs it (see standalone_run.h for the manager's side).
#include <spdlog/spdlog.h>

#include <thread>

#include "control/api/grpc_status.h"
#include "control/shoald/daemon.h"

namespace shoal::shoald {

using namespace std::chrono_literals;

namespace {

constexpr auto kRunPoll = 50ms;
constexpr auto kRunScheduleLimit = 60s;  // from StartRun to the task on this node
constexpr auto kRunCallTimeout = 30s;

std::unique_ptr<grpc::ClientContext> run_call() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + kRunCallTimeout);
  return context;
}

// Sends what the client has not seen of the output yet.
class OutputFollower {
 public:
  bool send(const agent::Executor::RunView& view, grpc::ServerWriter<api::RunOutput>& writer) {
    api::RunOutput message;
    if (view.out.size() > out_sent_)
      message.set_out(view.out.substr(out_sent_));
    if (view.err.size() > err_sent_)
      message.set_err(view.err.substr(err_sent_));
    if (view.ended && !view.failure.empty())
      message.set_err(message.err() + "shoal run: " + view.failure + "\n");
    out_sent_ = std::max(out_sent_, view.out.size());
    err_sent_ = std::max(err_sent_, view.err.size());
    message.set_exited(view.ended);
    message.set_exit_code(view.exit_code);
    if (message.out().empty() && message.err().empty() && !view.ended)
      return true;
    return writer.Write(message);
  }

 private:
  size_t out_sent_ = 0;
  size_t err_sent_ = 0;
};

}  // namespace

grpc::Status Daemon::run(grpc::ServerContext& context, const api::RunRequest& request,
                         grpc::ServerWriter<api::RunOutput>& writer) {
  std::unique_ptr<api::Dispatcher::Stub> manager;
  {
    std::lock_guard lock(mutex_);
    if (!state_ || !executor_ || !session_)
      return api::failed_precondition("This node is not part of a swarm");
    manager = api::Dispatcher::NewStub(session_->manager_channel());
  }
  api::StartRunResponse started;
  if (auto status = manager->StartRun(run_call().get(), request.spec(), &started); !status.ok())
    return status;
  spdlog::info("run {} ({}) started", started.name(), started.run_id());
  api::RunOutput hello;
  hello.set_name(started.name());
  writer.Write(hello);

  grpc::Status result = grpc::Status::OK;
  OutputFollower follower;
  std::string task_id;
  const auto deadline = std::chrono::steady_clock::now() + kRunScheduleLimit;
  for (;;) {
    if (context.IsCancelled()) {
      result = {grpc::StatusCode::CANCELLED, "the client went away"};
      break;
    }
    std::optional<agent::Executor::RunView> view;
    {
      std::lock_guard lock(mutex_);
      if (!executor_) {
        result = api::failed_precondition("the node left the swarm");
        break;
      }
      view = executor_->run_view(started.run_id(), task_id);
    }
    if (view) {
      task_id = view->task_id;
      if (!follower.send(*view, writer) || view->ended)
        break;
    } else if (std::chrono::steady_clock::now() > deadline) {
      result = {grpc::StatusCode::DEADLINE_EXCEEDED,
                "the manager did not place the process on this node within 60 s"};
      break;
    }
    std::this_thread::sleep_for(kRunPoll);
  }
  // Its end removes it on the manager already; this covers the client going away, or a task
  // that never came.
  api::IdRequest end;
  end.set_id(started.run_id());
  api::Empty empty;
  if (auto ended = manager->EndRun(run_call().get(), end, &empty); !ended.ok())
    spdlog::warn("run {}: end: {}", started.name(), ended.error_message());
  return result;
}

}  // namespace shoal::shoald
