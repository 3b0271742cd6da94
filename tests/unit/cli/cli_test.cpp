// The real `shoal` binary against the fake daemon: what it prints, its exit code, and what it
// sent (or did not send).
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <thread>

#include "tests/unit/cli/fake_daemon.h"
#include "tests/unit/cli/run_shoal.h"

namespace shoal::cli::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class CliFakeDaemon : public ::testing::Test {
 protected:
  RunResult shoal(std::vector<std::string> args) {
    args.insert(args.begin(), {"-H", daemon_.host()});
    return run_shoal(args, daemon_.dir());
  }
  std::vector<std::string> calls() {
    return daemon_.with([](FakeState& s) { return s.calls; });
  }
  std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      out.push_back(line);
    }
    return out;
  }

  FakeDaemon daemon_;
};

TEST_F(CliFakeDaemon, VersionNeedsNoDaemon) {
  auto r = run_shoal({"version"}, daemon_.dir());
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "shoal 0.1.0\n");
}

TEST_F(CliFakeDaemon, NodeLsSortsByHostnameAndStarsThisNode) {
  auto r = shoal({"node", "ls"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   "
            "ENGINE VERSION\n"
            "alpha0000000000000000000a     alpha      Ready     Active                          "
            "0.1.0\n"
            "beta00000000000000000000b *   beta       Ready     Active         Leader           "
            "0.1.0\n"
            "gamma0000000000000000000c     gamma      Ready     Drain          Reachable        "
            "0.1.0\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(CliFakeDaemon, NodeLsQuietPrintsFullIds) {
  auto r = shoal({"node", "ls", "-q"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "alpha0000000000000000000a\nbeta00000000000000000000b\ngamma0000000000000000000c\n");
}

TEST_F(CliFakeDaemon, NodeLsFormatJsonIsOneObjectPerLine) {
  auto r = shoal({"node", "ls", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto rows = lines(r.out);
  ASSERT_EQ(rows.size(), 3u);
  auto beta = nlohmann::json::parse(rows[1]);
  EXPECT_EQ(beta["ID"], "beta00000000000000000000b");
  EXPECT_EQ(beta["Hostname"], "beta");
  EXPECT_EQ(beta["Status"], "Ready");
  EXPECT_EQ(beta["Availability"], "Active");
  EXPECT_EQ(beta["ManagerStatus"], "Leader");
  EXPECT_EQ(beta["EngineVersion"], "0.1.0");
  EXPECT_EQ(beta["Self"], true);
  EXPECT_EQ(nlohmann::json::parse(rows[0])["Self"], false);
}

TEST_F(CliFakeDaemon, BadFormatIsAUsageError) {
  auto r = shoal({"node", "ls", "--format", "{{.ID}}"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "Error: unsupported --format \"{{.ID}}\": use json or table\n");
  EXPECT_THAT(calls(), IsEmpty());
}

TEST_F(CliFakeDaemon, NodeInspectPrintsAnArrayAndReportsMissingOnes) {
  auto r = shoal({"node", "inspect", "alpha", "nope"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "Error response from daemon: No such node: nope\n");
  auto array = nlohmann::json::parse(r.out);
  ASSERT_EQ(array.size(), 1u);
  EXPECT_EQ(array[0]["ID"], "alpha0000000000000000000a");
  EXPECT_EQ(array[0]["Role"], "worker");
  EXPECT_THAT(r.out, HasSubstr("\n    {\n        \""));  // docker's 4-space indent
}

TEST_F(CliFakeDaemon, NodeInspectShowsTheLoadBalancerBackend) {
  auto r = shoal({"node", "inspect", "alpha", "gamma"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto array = nlohmann::json::parse(r.out);
  ASSERT_EQ(array.size(), 2u);
  EXPECT_EQ(array[0]["LoadBalancer"], "ebpf");
  EXPECT_EQ(array[1]["LoadBalancer"], "ipvs");
  auto pretty = shoal({"node", "inspect", "--pretty", "gamma"});
  ASSERT_EQ(pretty.code, 0) << pretty.err;
  EXPECT_THAT(pretty.out, HasSubstr("Load Balancer:\t\tipvs\n"));
}

TEST_F(CliFakeDaemon, NodeUpdateSendsLabelsAndRole) {
  auto r = shoal({"node", "update", "--availability", "drain", "--label-add", "zone=a",
                  "--label-add", "ssd", "--label-rm", "old", "--role", "manager", "alpha"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "alpha\n");
  auto req = daemon_.with([](FakeState& s) { return s.last_node_update; });
  EXPECT_EQ(req.id(), "alpha");
  EXPECT_EQ(req.availability(), "drain");
  EXPECT_EQ(req.role(), "manager");
  EXPECT_EQ(req.label_add().at("zone"), "a");
  EXPECT_EQ(req.label_add().at("ssd"), "");
  EXPECT_THAT(std::vector<std::string>(req.label_rm().begin(), req.label_rm().end()),
              ElementsAre("old"));
}

TEST_F(CliFakeDaemon, NodeUpdateRefusesUnknownAvailability) {
  auto r = shoal({"node", "update", "--availability", "sleepy", "alpha"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: "));
  EXPECT_THAT(calls(), IsEmpty());
}

TEST_F(CliFakeDaemon, ServiceCreateSendsTheSpec) {
  auto r = shoal({"service",
                  "create",
                  "--detach",
                  "--name",
                  "web",
                  "--replicas",
                  "3",
                  "--network",
                  "appnet",
                  "--network",
                  "backend",
                  "-e",
                  "A=1",
                  "--env",
                  "B=two",
                  "-p",
                  "8080:80",
                  "--publish",
                  "published=53,target=53,protocol=udp,mode=host",
                  "--constraint",
                  "node.role==worker",
                  "--restart-condition",
                  "on-failure",
                  "--restart-delay",
                  "1m30s",
                  "--restart-max-attempts",
                  "4",
                  "--stop-grace-period",
                  "500ms",
                  "--max-replicas",
                  "2",
                  "--endpoint-mode",
                  "dnsrr",
                  "--",
                  "sh",
                  "-c",
                  "echo hi; sleep 100"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto spec = daemon_.with([](FakeState& s) { return s.last_create; });
  EXPECT_EQ(r.out, daemon_.with([](FakeState& s) { return s.services.back().id(); }) + "\n");
  EXPECT_EQ(spec.name(), "web");
  EXPECT_EQ(spec.mode(), "replicated");
  EXPECT_EQ(spec.replicas(), 3u);
  EXPECT_THAT(std::vector<std::string>(spec.command().begin(), spec.command().end()),
              ElementsAre("sh"));
  EXPECT_THAT(std::vector<std::string>(spec.args().begin(), spec.args().end()),
              ElementsAre("-c", "echo hi; sleep 100"));
  EXPECT_THAT(std::vector<std::string>(spec.env().begin(), spec.env().end()),
              ElementsAre("A=1", "B=two"));
  EXPECT_THAT(std::vector<std::string>(spec.networks().begin(), spec.networks().end()),
              ElementsAre("appnet", "backend"));
  ASSERT_EQ(spec.ports_size(), 2);
  EXPECT_EQ(spec.ports(0).published(), 8080u);
  EXPECT_EQ(spec.ports(0).target(), 80u);
  EXPECT_EQ(spec.ports(0).protocol(), "tcp");
  EXPECT_EQ(spec.ports(0).mode(), "ingress");
  EXPECT_EQ(spec.ports(1).published(), 53u);
  EXPECT_EQ(spec.ports(1).protocol(), "udp");
  EXPECT_EQ(spec.ports(1).mode(), "host");
  EXPECT_THAT(std::vector<std::string>(spec.constraints().begin(), spec.constraints().end()),
              ElementsAre("node.role==worker"));
  EXPECT_EQ(spec.restart().condition(), "on-failure");
  EXPECT_EQ(spec.restart().delay_ms(), 90'000u);
  EXPECT_EQ(spec.restart().max_attempts(), 4u);
  EXPECT_EQ(spec.stop_grace_ms(), 500u);
  EXPECT_EQ(spec.max_replicas_per_node(), 2u);
  EXPECT_EQ(spec.endpoint_mode(), "dnsrr");
  // --detach: no polling after the create.
  EXPECT_THAT(calls(), ElementsAre("Control.CreateService"));
}

TEST_F(CliFakeDaemon, ServiceCreateDefaults) {
  auto r = shoal({"service", "create", "-d", "--name", "web", "--", "sleep", "100"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto spec = daemon_.with([](FakeState& s) { return s.last_create; });
  EXPECT_EQ(spec.replicas(), 1u);
  EXPECT_EQ(spec.mode(), "replicated");
  EXPECT_EQ(spec.restart().condition(), "any");
  EXPECT_EQ(spec.restart().delay_ms(), 5'000u);
  EXPECT_EQ(spec.restart().max_attempts(), 0u);
  EXPECT_EQ(spec.stop_grace_ms(), 10'000u);
  EXPECT_EQ(spec.endpoint_mode(), "vip");
}

TEST_F(CliFakeDaemon, NetworkLongSyntaxGivesAliasesAndInspectShowsThem) {
  auto r = shoal({"service", "create", "-d", "--name", "shop_backend", "--network",
                  "name=appnet,alias=backend,alias=api", "--network", "other", "--", "true"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto spec = daemon_.with([](FakeState& s) { return s.last_create; });
  EXPECT_THAT(std::vector<std::string>(spec.networks().begin(), spec.networks().end()),
              ElementsAre("appnet", "other"));
  ASSERT_EQ(spec.network_aliases_size(), 1);
  EXPECT_EQ(spec.network_aliases(0).network(), "appnet");
  EXPECT_THAT(std::vector<std::string>(spec.network_aliases(0).aliases().begin(),
                                       spec.network_aliases(0).aliases().end()),
              ElementsAre("backend", "api"));

  auto inspect = shoal({"service", "inspect", "shop_backend"});
  ASSERT_EQ(inspect.code, 0) << inspect.err;
  auto networks = nlohmann::json::parse(inspect.out)[0]["Spec"]["Networks"];
  EXPECT_EQ(networks, nlohmann::json::parse(
                          R"([{"Target": "appnet", "Aliases": ["backend", "api"]},
                              {"Target": "other"}])"));
  auto pretty = shoal({"service", "inspect", "--pretty", "shop_backend"});
  EXPECT_THAT(pretty.out, HasSubstr("Networks:\tappnet (aliases: backend api) other\n"));
}

TEST_F(CliFakeDaemon, BadNetworkFieldsFailBeforeAnyCall) {
  auto unknown =
      shoal({"service", "create", "--name", "w", "--network", "name=a,ip=10.0.0.2", "--", "true"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_EQ(unknown.err, "Error: invalid --network \"name=a,ip=10.0.0.2\": ip is not supported\n");
  auto nameless = shoal({"service", "create", "--name", "w", "--network", "alias=x", "--", "true"});
  EXPECT_EQ(nameless.code, 1);
  EXPECT_EQ(nameless.err, "Error: invalid --network \"alias=x\": name is required\n");
  auto bogus =
      shoal({"service", "create", "--name", "w", "--network", "name=a,aliass=x", "--", "true"});
  EXPECT_EQ(bogus.code, 1);
  EXPECT_THAT(bogus.err, HasSubstr("unknown field \"aliass\" (expected name or alias)"));
  EXPECT_THAT(calls(), IsEmpty());
}

TEST_F(CliFakeDaemon, CommandWithoutDoubleDashKeepsItsOwnFlags) {
  auto r = shoal({"service", "create", "-d", "--name", "web", "sh", "-c", "echo --name"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto spec = daemon_.with([](FakeState& s) { return s.last_create; });
  EXPECT_EQ(spec.name(), "web");
  EXPECT_THAT(std::vector<std::string>(spec.args().begin(), spec.args().end()),
              ElementsAre("-c", "echo --name"));
}

TEST_F(CliFakeDaemon, DaemonErrorIsReportedWithExit1) {
  daemon_.with([](FakeState& s) { s.fail_with = "name conflicts with an existing object"; });
  auto r = shoal({"service", "create", "-d", "--name", "web", "--", "true"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "Error response from daemon: name conflicts with an existing object\n");
}

TEST_F(CliFakeDaemon, NegativeReplicasFailBeforeAnyCall) {
  auto r = shoal({"service", "create", "--name", "web", "--replicas", "-1", "--", "true"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "Error: invalid --replicas \"-1\": must be a non-negative integer\n");
  EXPECT_THAT(calls(), IsEmpty());
}

TEST_F(CliFakeDaemon, BadDurationFailsBeforeAnyCall) {
  auto r = shoal({"service", "create", "--name", "web", "--restart-delay", "10", "--", "true"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "Error: --restart-delay: invalid duration \"10\": missing unit (use e.g. 10s, 1m30s, "
            "500ms)\n");
  EXPECT_THAT(calls(), IsEmpty());
}

TEST_F(CliFakeDaemon, UnknownFlagExits1WithOneLine) {
  auto r = shoal({"service", "ls", "--bogus"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("--bogus"));
  EXPECT_EQ(lines(r.err).size(), 1u);
  EXPECT_THAT(calls(), IsEmpty());
}

TEST_F(CliFakeDaemon, MissingArgumentExits1) {
  auto r = shoal({"service", "create", "--name", "web"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("Error: "));
  EXPECT_THAT(calls(), IsEmpty());
}

TEST_F(CliFakeDaemon, NoDaemonSaysSo) {
  std::string host = "unix://" + daemon_.dir() + "/missing.sock";
  auto r = run_shoal({"-H", host, "node", "ls"}, daemon_.dir());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "Cannot connect to the shoal daemon at " + host + ": is shoald running?\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(CliFakeDaemon, HostComesFromShoalHost) {
  auto r = run_shoal({"node", "ls", "-q"}, daemon_.dir(), {{"SHOAL_HOST", daemon_.host()}});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.out).size(), 3u);
}

TEST_F(CliFakeDaemon, ServiceCreateShowsProgressUntilConverged) {
  auto r = shoal({"service", "create", "--name", "web", "--replicas", "2", "--", "sleep", "9"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto out = lines(r.out);
  ASSERT_GE(out.size(), 4u);
  EXPECT_EQ(out[0], daemon_.with([](FakeState& s) { return s.services.back().id(); }));
  EXPECT_EQ(out[1], "overall progress: 0 out of 2 tasks");
  EXPECT_THAT(r.out, HasSubstr("1/2: assigned\n"));
  EXPECT_THAT(r.out, HasSubstr("2/2: running\n"));
  EXPECT_THAT(r.out, HasSubstr("overall progress: 2 out of 2 tasks\n"));
  EXPECT_EQ(out.back(), "verify: Service converged");
  EXPECT_EQ(r.out.find("\x1b"), std::string::npos);  // not a terminal: no redraw codes
}

TEST_F(CliFakeDaemon, ProgressShowsAFailedTaskAndGoesOn) {
  daemon_.with([](FakeState& s) { s.first_task_fails = true; });
  auto r = shoal({"service", "create", "--name", "web", "--", "false"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("1/1: failed: task: non-zero exit (1)\n"));
  EXPECT_EQ(lines(r.out).back(), "verify: Service converged");
}

TEST_F(CliFakeDaemon, ProgressOnATerminalRedrawsInPlace) {
  auto r = run_shoal_tty(
      {"-H", daemon_.host(), "service", "create", "--name", "web", "--", "sleep", "9"},
      daemon_.dir());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\x1b[2A"));  // back up over "overall progress" and "1/1"
  EXPECT_THAT(r.out, HasSubstr("\x1b[2Kverify: Service converged\r\n"));
}

TEST_F(CliFakeDaemon, InterruptStopsWatchingWithSuccess) {
  daemon_.with([](FakeState& s) { s.advance_tasks = false; });
  ShoalProcess process({"-H", daemon_.host(), "service", "create", "--name", "web", "--", "true"},
                       {}, daemon_.dir());
  for (int i = 0; i < 200 && process.stdout_so_far().find("1/1") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  kill(process.pid(), SIGINT);
  auto r = process.wait();
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("overall progress: 0 out of 1 tasks"));
  EXPECT_THAT(r.err, HasSubstr("Operation continuing in background"));
}

TEST_F(CliFakeDaemon, ServiceLsShowsReplicasCommandAndPorts) {
  std::string id = daemon_.add_service("web", 3);
  daemon_.add_service("agent", 0, "global");
  daemon_.with([&](FakeState& s) {
    auto& svc = s.services.front();
    auto* port = svc.add_endpoint_ports();
    port->set_published(8080);
    port->set_target(80);
    port->set_protocol("tcp");
    port->set_mode("ingress");
    s.tasks.front().set_state("starting");
    s.advance_tasks = false;
  });
  auto r = shoal({"service", "ls"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto agent_id = daemon_.with([](FakeState& s) { return s.services[1].id(); });
  EXPECT_EQ(r.out, "ID             NAME      MODE         REPLICAS   COMMAND      PORTS\n" +
                       agent_id.substr(0, 12) +
                       "   agent     global       3/3        sleep 1000\n" + id.substr(0, 12) +
                       "   web       replicated   2/3        sleep 1000   "
                       "*:8080->80/tcp\n");
  auto q = shoal({"service", "ls", "-q"});
  EXPECT_EQ(q.out, agent_id.substr(0, 12) + "\n" + id.substr(0, 12) + "\n");
  auto j = shoal({"service", "ls", "--format", "json"});
  auto web = nlohmann::json::parse(lines(j.out)[1]);
  EXPECT_EQ(web["Replicas"], "2/3");
  EXPECT_EQ(web["Ports"], "*:8080->80/tcp");
  EXPECT_EQ(web["Command"], "sleep 1000");
}

TEST_F(CliFakeDaemon, ServicePsNamesSlotsShowsHistoryAndHostnames) {
  daemon_.add_service("web", 2);
  daemon_.with([](FakeState& s) {
    // Slot 1's task failed earlier and was replaced.
    api::Task old = make_task(s, s.services[0], 1, s.nodes[2].id(), "failed");
    old.set_desired_state("shutdown");
    old.set_message("task: non-zero exit (2)");
    old.set_updated_unix_ms(old.updated_unix_ms() - 60'000);
    s.tasks.push_back(old);
  });
  auto r = shoal({"service", "ps", "web"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_THAT(out[0],
              HasSubstr("ID             NAME        COMMAND      NODE      DESIRED STATE   "
                        "CURRENT STATE                    ERROR                       PORTS"));
  EXPECT_THAT(out[1], HasSubstr("   web.1       sleep 1000   alpha     Running         Running "));
  EXPECT_THAT(out[2], HasSubstr("    \\_ web.1   sleep 1000   gamma     Shutdown        Failed "
                                "about a minute ago        \"task: non-zero exit (2)\""));
  EXPECT_THAT(out[3], HasSubstr("   web.2       sleep 1000   beta      Running         Running "));
  auto j = shoal({"service", "ps", "--format", "json", "web"});
  auto history = nlohmann::json::parse(lines(j.out)[1]);
  EXPECT_EQ(history["Name"], " \\_ web.1");
  EXPECT_EQ(history["Node"], "gamma");
  EXPECT_EQ(history["DesiredState"], "Shutdown");
  EXPECT_EQ(history["Error"], "\"task: non-zero exit (2)\"");
  auto q = shoal({"service", "ps", "-q", "--no-trunc", "web"});
  EXPECT_EQ(lines(q.out).size(), 3u);
  EXPECT_EQ(lines(q.out)[0].size(), 25u);
}

TEST_F(CliFakeDaemon, ServiceScaleUpdatesWithTheReadVersion) {
  std::string id = daemon_.add_service("web", 1);
  auto r = shoal({"service", "scale", "web=3"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto update = daemon_.with([](FakeState& s) { return s.last_update; });
  EXPECT_EQ(update.id(), id);
  EXPECT_EQ(update.version(), 5u);
  EXPECT_EQ(update.spec().replicas(), 3u);
  EXPECT_EQ(update.spec().name(), "web");
  EXPECT_EQ(lines(r.out).front(), "web scaled to 3");
  EXPECT_EQ(lines(r.out).back(), "verify: Service converged");
}

TEST_F(CliFakeDaemon, ServiceScaleRefusesGlobalServicesAndBadSpecifiers) {
  daemon_.add_service("agent", 0, "global");
  auto r = shoal({"service", "scale", "--detach", "agent=2"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "Error: agent: scale can only be used with replicated mode\n");
  auto bad = shoal({"service", "scale", "web=-2"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("must be a non-negative integer"));
  auto calls_now = calls();
  EXPECT_EQ(std::count(calls_now.begin(), calls_now.end(), "Control.UpdateService"), 0);
}

TEST_F(CliFakeDaemon, ServiceUpdateEditsEnvAndForces) {
  daemon_.add_service("web", 1);
  daemon_.with([](FakeState& s) {
    s.services[0].mutable_spec()->add_env("A=1");
    s.services[0].mutable_spec()->add_env("B=2");
  });
  auto r = shoal({"service", "update", "--detach", "--env-add", "A=9", "--env-add", "C=3",
                  "--env-rm", "B", "--force", "--replicas", "2", "web"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "web\n");
  auto update = daemon_.with([](FakeState& s) { return s.last_update; });
  EXPECT_THAT(std::vector<std::string>(update.spec().env().begin(), update.spec().env().end()),
              ElementsAre("A=9", "C=3"));
  EXPECT_TRUE(update.force());
  EXPECT_EQ(update.spec().replicas(), 2u);
  EXPECT_EQ(update.version(), 5u);
}

TEST_F(CliFakeDaemon, ServiceUpdateWaitsForTheNewSpec) {
  daemon_.add_service("web", 2);
  auto r = shoal({"service", "update", "--force", "web"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("overall progress: 0 out of 2 tasks\n"));
  EXPECT_EQ(lines(r.out).back(), "verify: Service converged");
}

TEST_F(CliFakeDaemon, ServiceInspectRmAndLogs) {
  daemon_.add_service("web", 2);
  auto inspect = shoal({"service", "inspect", "web"});
  ASSERT_EQ(inspect.code, 0) << inspect.err;
  auto array = nlohmann::json::parse(inspect.out);
  EXPECT_EQ(array[0]["Spec"]["Name"], "web");
  EXPECT_EQ(array[0]["Spec"]["Replicas"], 2);
  auto pretty = shoal({"service", "inspect", "--pretty", "web"});
  EXPECT_THAT(pretty.out, HasSubstr("Name:\t\tweb\n"));

  auto logs = shoal({"service", "logs", "--tail", "5", "web"});
  ASSERT_EQ(logs.code, 0) << logs.err;
  auto tasks = daemon_.with([](FakeState& s) { return s.tasks; });
  EXPECT_EQ(logs.out, "web.1." + tasks[0].id().substr(0, 12) + "@alpha    | hello from slot 1\n" +
                          "web.2." + tasks[1].id().substr(0, 12) +
                          "@beta    | hello from slot 2\n");
  EXPECT_EQ(daemon_.with([](FakeState& s) { return s.last_logs.tail(); }), 5u);

  auto rm = shoal({"service", "rm", "web", "ghost"});
  EXPECT_EQ(rm.code, 1);
  EXPECT_EQ(rm.out, "web\n");
  EXPECT_EQ(rm.err, "Error response from daemon: No such service: ghost\n");
}

TEST_F(CliFakeDaemon, NetworkCreateLsInspectRm) {
  auto create = shoal({"network", "create", "-d", "overlay", "--attachable", "--subnet",
                       "10.0.9.0/24", "--gateway", "10.0.9.1", "appnet"});
  ASSERT_EQ(create.code, 0) << create.err;
  auto req = daemon_.with([](FakeState& s) { return s.last_network; });
  EXPECT_EQ(req.name(), "appnet");
  EXPECT_EQ(req.driver(), "overlay");
  EXPECT_TRUE(req.attachable());
  EXPECT_EQ(req.subnet(), "10.0.9.0/24");
  EXPECT_EQ(req.gateway(), "10.0.9.1");
  std::string id = daemon_.with([](FakeState& s) { return s.networks.back().id(); });
  EXPECT_EQ(create.out, id + "\n");

  auto ls = shoal({"network", "ls"});
  EXPECT_EQ(ls.out, "NETWORK ID     NAME      DRIVER    SCOPE\n" + id.substr(0, 12) +
                        "   appnet    overlay   swarm\n"
                        "ingress00000   ingress   overlay   swarm\n");
  auto json = shoal({"network", "ls", "--format", "json"});
  EXPECT_EQ(nlohmann::json::parse(lines(json.out)[0])["Name"], "appnet");

  auto inspect = shoal({"network", "inspect", "ingress"});
  EXPECT_EQ(nlohmann::json::parse(inspect.out)[0]["Ingress"], true);
  auto rm = shoal({"network", "rm", "appnet"});
  EXPECT_EQ(rm.out, "appnet\n");

  auto bad = shoal({"network", "create", "--subnet", "10.0.9.0/33", "x"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.err,
            "Error: invalid --subnet \"10.0.9.0/33\": expected a CIDR, e.g. 10.0.9.0/24\n");
}

TEST_F(CliFakeDaemon, SwarmInitJoinTokenLeave) {
  auto init =
      shoal({"swarm", "init", "--advertise-addr", "192.168.1.10", "--listen-addr", "0.0.0.0:2377",
             "--default-addr-pool", "10.20.0.0/16", "--dispatcher-heartbeat", "10s"});
  ASSERT_EQ(init.code, 0) << init.err;
  EXPECT_EQ(init.out,
            "Swarm initialized: current node (beta00000000000000000000b) is now a manager.\n\n"
            "To add a worker to this swarm, run the following command:\n\n"
            "    shoal swarm join --token SWMTKN-1-abc-worker 192.168.1.10:2377\n\n"
            "To add a manager to this swarm, run 'shoal swarm join-token manager' and follow the "
            "instructions.\n\n");
  auto init_req = daemon_.with([](FakeState& s) { return s.last_init; });
  EXPECT_EQ(init_req.advertise_addr(), "192.168.1.10");
  EXPECT_EQ(init_req.listen_addr(), "0.0.0.0:2377");
  EXPECT_EQ(init_req.default_addr_pool(), "10.20.0.0/16");
  EXPECT_EQ(init_req.heartbeat_ms(), 10'000u);

  auto token = shoal({"swarm", "join-token", "manager"});
  EXPECT_EQ(token.out,
            "To add a manager to this swarm, run the following command:\n\n"
            "    shoal swarm join --token SWMTKN-1-abc-manager 192.168.1.10:2377\n\n");
  auto rotated = shoal({"swarm", "join-token", "--rotate", "worker"});
  EXPECT_THAT(rotated.out, HasSubstr("Successfully rotated worker join token.\n\n"));
  EXPECT_THAT(rotated.out, HasSubstr("--token SWMTKN-1-abc-worker-rotated 192.168.1.10:2377"));
  auto quiet = shoal({"swarm", "join-token", "-q", "worker"});
  EXPECT_EQ(quiet.out, "SWMTKN-1-abc-worker-rotated\n");

  auto join = shoal({"swarm", "join", "--token", "SWMTKN-1-abc-manager", "--advertise-addr",
                     "192.168.1.11", "192.168.1.10:2377"});
  EXPECT_EQ(join.out, "This node joined a swarm as a manager.\n");
  EXPECT_EQ(daemon_.with([](FakeState& s) { return s.last_join.remote_addr(); }),
            "192.168.1.10:2377");
  auto bad_join = shoal({"swarm", "join", "--token", "nope", "192.168.1.10:2377"});
  EXPECT_EQ(bad_join.code, 1);
  EXPECT_EQ(bad_join.err, "Error response from daemon: invalid join token\n");

  auto leave = shoal({"swarm", "leave", "--force"});
  EXPECT_EQ(leave.out, "Node left the swarm.\n");
  EXPECT_EQ(calls().back(), "Local.Leave(force)");
}

}  // namespace
}  // namespace shoal::cli::testing
