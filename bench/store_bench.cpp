// The cluster store of several managers against the one-manager store, and leader failover.
//
// In a private network namespace (no root-namespace traffic), with real etcd members on
// 127.0.0.1-3 and certificates from a fresh swarm CA:
//   - commit latency (one service created per commit, as a `service create` writes) of the
//     SQLite store (the reference: one manager), the etcd store on one member, and on three,
//     each beside etcd's own put through the same client (what etcd costs without the store);
//   - failover with three manager seats: from the leader's etcd member stopping (its host cut
//     off) to the first successful write through the new leader's runtime, and from a planned
//     stop of the leader (its lease revoked) to the same.
//
//   shoal-store-bench [--commits N] [--failovers N] [--dir DIR]
//   (root: it makes a network namespace; DIR, /tmp unless told, holds the stores)
#include <sched.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "control/etcd/etcd_store.h"
#include "control/manager/leadership/manager_seat.h"
#include "control/manager/store/sqlite_store.h"
#include "control/pki/ca.h"
#include "control/pki/identity.h"

namespace {

using namespace shoal;
using namespace std::chrono_literals;
using Ms = std::chrono::duration<double, std::milli>;

struct Percentiles {
  double p50 = 0, p99 = 0;
};

Percentiles percentiles(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    return samples[std::min(samples.size() - 1,
                            static_cast<size_t>(q * static_cast<double>(samples.size())))];
  };
  return {at(0.5), at(0.99)};
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "shoal-store-bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T must(Result<T> result, const char* what) {
  if (!result.ok())
    die(std::string(what) + ": " + result.error().message());
  return std::move(result).value();
}

void must(Status status, const char* what) {
  if (!status.ok())
    die(std::string(what) + ": " + status.error().message());
}

struct Pki {
  pki::CertificateAuthority ca;
  etcd::Tls manager(const std::string& name, const std::string& ip) {
    auto key = must(pki::make_key_and_csr(), "make key");
    auto cert =
        must(ca.sign(key.csr_pem,
                     {.node_id = name, .role = pki::NodeRole::kManager, .cluster_id = "b"}, {ip}),
             "sign");
    return {.ca_pem = ca.cert_pem(), .cert_pem = cert, .key_pem = key.key_pem};
  }
};

std::string ip(int i) {
  return "127.0.0." + std::to_string(i);
}

Status create_service(manager::Store& store, int n) {
  return store.update([&](manager::WriteTx& tx) {
    manager::Service service;
    service.id = "s" + std::to_string(n);
    service.spec.name = "web" + std::to_string(n);
    return tx.create(service);
  });
}

std::vector<double> commit_latencies(manager::Store& store, int commits) {
  std::vector<double> samples;
  for (int i = 0; i < commits; ++i) {
    auto start = std::chrono::steady_clock::now();
    must(create_service(store, i), "commit");
    samples.push_back(Ms(std::chrono::steady_clock::now() - start).count());
  }
  return samples;
}

std::vector<std::unique_ptr<etcd::Member>> start_members(Pki& pki, const std::string& dir,
                                                         int count) {
  std::string initial;
  for (int i = 1; i <= count; ++i) {
    initial += (i > 1 ? "," : "") + ("m" + std::to_string(i)) + "=" + etcd::peer_url(ip(i), 2380);
  }
  std::vector<std::unique_ptr<etcd::Member>> members;
  for (int i = 1; i <= count; ++i) {
    etcd::MemberConfig config{.name = "m" + std::to_string(i),
                              .dir = dir + "/m" + std::to_string(i),
                              .peer_ip = ip(i),
                              .initial_cluster = initial,
                              .tls = pki.manager("m" + std::to_string(i), ip(i))};
    members.push_back(must(etcd::Member::start(config), "start etcd member"));
  }
  for (auto& member : members)
    must(member->wait_serving(30s), "etcd member serving");
  return members;
}

struct EtcdLatencies {
  Percentiles store, put;  // `put`: etcd's own put of one key, without the store
};

// Commits through the store and plain puts through the same client, taken in turns of 25 so
// that both see the same machine; after a warm-up that the figures leave out.
EtcdLatencies etcd_commits(Pki& pki, const std::string& dir, int members_count, int commits) {
  auto members = start_members(pki, dir, members_count);
  auto client = members.front()->client();
  must(client->put(manager::kLeaderKey, "bench"), "take the leadership key");
  auto kv = must(client->get(manager::kLeaderKey), "read the leadership key");
  etcd::Fence fence{.key = manager::kLeaderKey, .create_revision = kv->create_revision};
  auto store = must(etcd::EtcdStore::open(*client, manager::kStorePrefix, fence), "open store");
  constexpr int kWarmUp = 100, kTurn = 25;
  for (int i = 0; i < kWarmUp; ++i)
    must(client->put("/bench/warm-up", std::to_string(i)), "warm-up put");
  std::vector<double> store_samples, put_samples;
  for (int i = 0; i < commits; ++i) {
    auto start = std::chrono::steady_clock::now();
    if ((i / kTurn) % 2 == 0) {
      must(create_service(*store, i), "commit");
      store_samples.push_back(Ms(std::chrono::steady_clock::now() - start).count());
    } else {
      must(client->put("/bench/put/" + std::to_string(i), std::string(256, 'x')), "put");
      put_samples.push_back(Ms(std::chrono::steady_clock::now() - start).count());
    }
  }
  return {percentiles(store_samples), percentiles(put_samples)};
}

struct Failover {
  std::vector<double> cut, planned;
};

manager::SeatConfig seat_config(Pki& pki, const std::string& dir, int i) {
  return {.node_id = "n" + std::to_string(i),
          .dir = dir + "/n" + std::to_string(i),
          .runtime = {},
          .advertise_ip = ip(i),
          .manager_addr = ip(i) + ":2377",
          .tls = pki.manager("n" + std::to_string(i), ip(i))};
}

// From `start` to a write through whichever seat other than `old` leads.
double until_new_leader_writes(std::vector<std::unique_ptr<manager::ManagerSeat>>& seats,
                               size_t old, std::chrono::steady_clock::time_point start, int n) {
  while (std::chrono::steady_clock::now() - start < 60s) {
    for (size_t i = 0; i < seats.size(); ++i) {
      if (i == old || !seats[i])
        continue;
      auto runtime = seats[i]->runtime();
      if (runtime && create_service(runtime->store(), 100000 + n).ok()) {
        return Ms(std::chrono::steady_clock::now() - start).count();
      }
    }
    std::this_thread::sleep_for(5ms);
  }
  die("no new leader within 60 s");
}

Failover failovers(Pki& pki, const std::string& base, int rounds) {
  Failover out;
  for (int round = 0; round < rounds; ++round) {
    for (bool planned : {false, true}) {
      const std::string dir = base + "/seats" + std::to_string(round) + (planned ? "p" : "c");
      std::vector<std::unique_ptr<manager::ManagerSeat>> seats(3);
      seats[0] = must(manager::ManagerSeat::single(seat_config(pki, dir, 1)), "seat 1");
      must(seats[0]->replicate(), "replicate");
      for (int i = 2; i <= 3; ++i) {
        auto cluster = must(seats[0]->add_member("n" + std::to_string(i), ip(i)), "add member");
        seats[static_cast<size_t>(i - 1)] =
            must(manager::ManagerSeat::replicated(seat_config(pki, dir, i), cluster), "join seat");
      }
      while (seats[1]->leader().leader != "n1" || seats[2]->leader().leader != "n1") {
        std::this_thread::sleep_for(20ms);
      }
      auto start = std::chrono::steady_clock::now();
      if (planned) {
        seats[0].reset();
        out.planned.push_back(until_new_leader_writes(seats, 0, start, round));
      } else {
        // Host cut: its etcd member freezes (SIGSTOP: no answer, no exit for the supervisor to
        // restart), so the seat can no longer renew its lease.
        const pid_t frozen = seats[0]->member()->pid();
        ::kill(frozen, SIGSTOP);
        out.cut.push_back(until_new_leader_writes(seats, 0, start, round));
        ::kill(frozen, SIGCONT);
      }
    }
  }
  return out;
}

void print_failovers(const Failover& failover, int rounds) {
  auto cut = percentiles(failover.cut);
  auto planned = percentiles(failover.planned);
  std::printf("failover, %d rounds (ms)             p50     max\n", rounds);
  std::printf("  leader's member cut off         %7.0f %7.0f\n", cut.p50,
              *std::max_element(failover.cut.begin(), failover.cut.end()));
  std::printf("  leader stopped (lease revoked)  %7.0f %7.0f\n", planned.p50,
              *std::max_element(failover.planned.begin(), failover.planned.end()));
}

}  // namespace

int main(int argc, char** argv) {
  int commits = 300, rounds = 5;
  std::string parent = "/tmp";  // --dir /dev/shm: the same without a disk under the stores
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--commits") == 0)
      commits = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--failovers") == 0)
      rounds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--dir") == 0)
      parent = argv[i + 1];
  }
  if (::unshare(CLONE_NEWNET) != 0)
    die(std::string("unshare: ") + std::strerror(errno));
  if (std::system("ip link set lo up") != 0)
    die("cannot bring lo up");
  std::string tmpl = parent + "/shoal-store-bench.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    die("mkdtemp in " + parent + ": " + std::strerror(errno));
  const std::string dir = tmpl;
  Pki pki{must(pki::CertificateAuthority::create(), "create CA")};

  auto sqlite = must(manager::SqliteStore::open(dir + "/store.db"), "open SQLite");
  auto single = percentiles(commit_latencies(*sqlite, commits));
  auto one = etcd_commits(pki, dir + "/etcd1", 1, 2 * commits);
  auto three = etcd_commits(pki, dir + "/etcd3", 3, 2 * commits);
  std::printf("commit latency, %d commits (ms)   p50     p99\n", commits);
  std::printf("  SQLite, one manager            %6.2f  %6.2f\n", single.p50, single.p99);
  std::printf("  etcd store, one member         %6.2f  %6.2f\n", one.store.p50, one.store.p99);
  std::printf("  etcd put, one member           %6.2f  %6.2f\n", one.put.p50, one.put.p99);
  std::printf("  etcd store, three members      %6.2f  %6.2f\n", three.store.p50, three.store.p99);
  std::printf("  etcd put, three members        %6.2f  %6.2f\n", three.put.p50, three.put.p99);
  std::printf("  three members store / SQLite   %6.2fx %6.2fx\n", three.store.p50 / single.p50,
              three.store.p99 / single.p99);
  std::printf("  three members put / SQLite     %6.2fx %6.2fx\n", three.put.p50 / single.p50,
              three.put.p99 / single.p99);
  std::printf("  three members store / put      %6.2fx %6.2fx\n", three.store.p50 / three.put.p50,
              three.store.p99 / three.put.p99);

  if (rounds > 0)
    print_failovers(failovers(pki, dir, rounds), rounds);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
