// Renewal of a node's certificate before it expires (issue #18, finding #6).
//
// The rule is swarmkit's: a certificate valid from notBefore to notAfter is renewed at a random
// point between 50% and 80% of that span, drawn once per certificate, so nodes that joined
// together do not all renew at once and a renewal that fails has a fifth of the lifetime, at
// least, to be retried before the certificate expires. A failed renewal is retried after 1 s,
// 2 s, 4 s, ... at most 5 minutes, each delay jittered to between half and all of it, so
// renewals that failed together (no leader for a while) do not come back together. A
// certificate already past its renewal point (or expired: shoald was stopped for long) is
// renewed at once.
//
// CertRenewer is the rule, without threads or I/O: `step` looks at the clock and the node's
// certificate, renews when due and says when to look again, so tests drive it with a fake
// clock. RenewalThread runs it in shoald. Renewing (asking the manager, writing the files
// atomically, and TLS users following them) is the CertificateHolder's job: the Daemon's.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "common/result.h"
#include "control/pki/identity.h"

namespace shoal::shoald {

using TimePoint = std::chrono::system_clock::time_point;

// The time, for the renewer. A narrow seam: the system clock in shoald, a fake in tests.
class RenewalClock {
 public:
  virtual ~RenewalClock() = default;
  virtual TimePoint now() const = 0;
};

class SystemRenewalClock final : public RenewalClock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

struct RenewalPolicy {
  double earliest = 0.5;  // of the certificate's lifetime
  double latest = 0.8;
  std::chrono::milliseconds first_retry{1000};
  std::chrono::milliseconds max_retry{std::chrono::minutes(5)};
  // How often an idle renewer looks at the certificate again: one that came from a join or a
  // role change is noticed within this.
  std::chrono::milliseconds poll{std::chrono::seconds(5)};
};

// When to renew a certificate of `validity`: `fraction` (in [0, 1]) of the way from the policy's
// earliest point to its latest one.
TimePoint renewal_time(const pki::Validity& validity, double fraction,
                       const RenewalPolicy& policy = {});
// How long to wait after `failures` (>= 1) failed renewals in a row: first_retry doubled per
// failure, capped at max_retry, then scaled to between half and all of it by `jitter` (in
// [0, 1]).
std::chrono::milliseconds retry_delay(int failures, double jitter,
                                      const RenewalPolicy& policy = {});

// What the renewer needs from the node.
class CertificateHolder {
 public:
  virtual ~CertificateHolder() = default;
  // The validity of the node's certificate now; an error (ENOENT: not in a swarm) when there is
  // none to renew.
  virtual Result<pki::Validity> current_certificate() = 0;
  // Gets a new certificate from the managers and puts it in use; an error says why not.
  virtual Status renew_certificate() = 0;
  // Whether the certificate must be renewed now, wherever its renewal window is: a root
  // rotation moves every node to the new root at once. Failures still back off.
  virtual bool must_renew_now() { return false; }
};

class CertRenewer {
 public:
  // `random` gives numbers in [0, 1): the renewal point within the window and the jitter.
  CertRenewer(CertificateHolder& holder, const RenewalClock& clock, std::function<double()> random,
              RenewalPolicy policy = {});

  // One decision at clock.now(): renews when due. Returns when to call again.
  TimePoint step();

  // The renewal point of the certificate seen last (for tests and logs).
  std::optional<TimePoint> due() const;
  int failures() const { return failures_; }

 private:
  CertificateHolder& holder_;
  const RenewalClock& clock_;
  std::function<double()> random_;
  RenewalPolicy policy_;
  std::optional<pki::Validity> seen_;
  double fraction_ = 0;
  int failures_ = 0;
  TimePoint retry_at_{};
};

// Runs a CertRenewer on its own thread with the system clock until destroyed.
class RenewalThread {
 public:
  explicit RenewalThread(CertificateHolder& holder, RenewalPolicy policy = {});
  ~RenewalThread();
  // Looks again now rather than at the next poll (the holder may have to renew at once).
  void wake();
  RenewalThread(const RenewalThread&) = delete;
  RenewalThread& operator=(const RenewalThread&) = delete;

 private:
  void run();

  SystemRenewalClock clock_;
  CertRenewer renewer_;
  RenewalPolicy policy_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace shoal::shoald
