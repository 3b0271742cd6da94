#include "control/shoald/cert_renewal.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <string_view>

#include "control/pki/ca.h"

namespace shoal::shoald {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string utc(TimePoint when) {
  auto seconds = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

double clamp01(double value) {
  return std::clamp(value, 0.0, 1.0);
}

}  // namespace

TimePoint renewal_time(const pki::Validity& validity, double fraction,
                       const RenewalPolicy& policy) {
  auto lifetime = duration_cast<milliseconds>(validity.not_after - validity.not_before);
  double share = policy.earliest + (policy.latest - policy.earliest) * clamp01(fraction);
  return validity.not_before +
         milliseconds(static_cast<int64_t>(static_cast<double>(lifetime.count()) * share));
}

milliseconds retry_delay(int failures, double jitter, const RenewalPolicy& policy) {
  auto delay = policy.first_retry;
  for (int i = 1; i < failures && delay < policy.max_retry; ++i)
    delay *= 2;
  delay = std::min(delay, policy.max_retry);
  const double scale = 0.5 + 0.5 * clamp01(jitter);
  return milliseconds(static_cast<int64_t>(static_cast<double>(delay.count()) * scale));
}

CertRenewer::CertRenewer(CertificateHolder& holder, const RenewalClock& clock,
                         std::function<double()> random, RenewalPolicy policy)
    : holder_(holder), clock_(clock), random_(std::move(random)), policy_(policy) {}

std::optional<TimePoint> CertRenewer::due() const {
  if (!seen_)
    return std::nullopt;
  return renewal_time(*seen_, fraction_, policy_);
}

TimePoint CertRenewer::step() {
  const auto now = clock_.now();
  auto validity = holder_.current_certificate();
  if (!validity.ok()) {
    seen_.reset();  // not in a swarm (or between two roles): look again later
    return now + policy_.poll;
  }
  if (!seen_ || *seen_ != *validity) {
    // A new certificate (renewed, joined, another role): a new point in its window.
    seen_ = *validity;
    fraction_ = random_();
    failures_ = 0;
    retry_at_ = {};
    spdlog::info("node certificate valid until {}: renewal at {}", utc(validity->not_after),
                 utc(*due()));
  }
  const auto when = holder_.must_renew_now() ? retry_at_ : std::max(*due(), retry_at_);
  if (now < when)
    return std::min(when, now + policy_.poll);
  if (auto renewed = holder_.renew_certificate(); renewed.ok()) {
    failures_ = 0;
    // The next step sees the new certificate; should the holder have kept the old one, this
    // keeps a renewer from asking again at once.
    retry_at_ = now + policy_.first_retry;
    return now;
  } else {
    ++failures_;
    auto delay = retry_delay(failures_, random_(), policy_);
    retry_at_ = now + delay;
    const bool near_expiry =
        now >= validity->not_after - (validity->not_after - validity->not_before) / 10;
    auto level = near_expiry ? spdlog::level::err : spdlog::level::warn;
    spdlog::log(level, "renewing the node certificate (valid until {}): {}; retry in {} ms",
                utc(validity->not_after), renewed.error().message(), delay.count());
    return retry_at_;
  }
}

RenewalThread::RenewalThread(CertificateHolder& holder, RenewalPolicy policy)
    : renewer_(
          holder, clock_,
          [engine = std::mt19937_64(std::random_device{}())]() mutable {
            return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
          },
          policy),
      policy_(policy) {
  thread_ = std::thread([this] { run(); });
}

RenewalThread::~RenewalThread() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void RenewalThread::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

void RenewalThread::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    auto next = renewer_.step();
    lock.lock();
    // Wait on the steady clock (a clock step must not stall renewal), at most one poll.
    auto wait =
        std::clamp(duration_cast<milliseconds>(next - clock_.now()), milliseconds(0), policy_.poll);
    cv_.wait_for(lock, wait, [this] { return stopping_ || woken_; });
    woken_ = false;
  }
}

}  // namespace shoal::shoald
