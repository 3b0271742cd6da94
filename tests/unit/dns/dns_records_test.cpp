// The record store alone: names, aliases, tasks.<name>, endpoint modes, network scoping.
#include "dataplane/dns/dns_records.h"

#include <gtest/gtest.h>

namespace shoal::dataplane::dns {
namespace {

Ipv4 ip(const char* text) {
  return *Ipv4::parse(text);
}

ServiceRecord web_on_app() {
  ServiceRecord r;
  r.service_id = "s-web";
  r.network_id = "app";
  r.name = "web";
  r.aliases = {"frontend", "www.internal"};
  r.vip = ip("10.0.1.2");
  r.task_ips = {ip("10.0.1.10"), ip("10.0.1.11")};
  return r;
}

const std::vector<std::string> kApp{"app"};

TEST(DnsRecords, ServiceNameGivesItsVip) {
  DnsRecords records;
  ASSERT_TRUE(records.upsert(web_on_app()).ok());
  Lookup found = records.lookup("web", kApp);
  EXPECT_EQ(found.kind, Lookup::Kind::kAddresses);
  EXPECT_EQ(found.addresses, std::vector<Ipv4>{ip("10.0.1.2")});
}

TEST(DnsRecords, TasksNameGivesTaskIpsWhateverTheMode) {
  DnsRecords records;
  ASSERT_TRUE(records.upsert(web_on_app()).ok());
  const std::vector<Ipv4> tasks{ip("10.0.1.10"), ip("10.0.1.11")};
  EXPECT_EQ(records.lookup("tasks.web", kApp).addresses, tasks);
  EXPECT_EQ(records.lookup("tasks.frontend", kApp).addresses, tasks) << "tasks.<alias> too";
}

TEST(DnsRecords, DnsrrGivesTaskIpsForTheName) {
  DnsRecords records;
  ServiceRecord r = web_on_app();
  r.mode = EndpointMode::kDnsrr;
  ASSERT_TRUE(records.upsert(r).ok());
  EXPECT_EQ(records.lookup("web", kApp).addresses, r.task_ips);
}

TEST(DnsRecords, VipModeWithoutAVipFallsBackToTaskIps) {
  DnsRecords records;
  ServiceRecord r = web_on_app();
  r.vip.reset();
  ASSERT_TRUE(records.upsert(r).ok());
  EXPECT_EQ(records.lookup("web", kApp).addresses, r.task_ips);
}

TEST(DnsRecords, AliasesAndCaseAndTrailingDot) {
  DnsRecords records;
  ASSERT_TRUE(records.upsert(web_on_app()).ok());
  for (const char* name : {"frontend", "FrontEnd", "WWW.Internal.", "WEB", "web."}) {
    Lookup found = records.lookup(name, kApp);
    EXPECT_EQ(found.kind, Lookup::Kind::kAddresses) << name;
    EXPECT_EQ(found.addresses, std::vector<Ipv4>{ip("10.0.1.2")}) << name;
  }
}

TEST(DnsRecords, ANameOnlyOnAnotherNetworkIsNxdomainAndAnUnknownOneIsNotOurs) {
  DnsRecords records;
  ASSERT_TRUE(records.upsert(web_on_app()).ok());
  EXPECT_EQ(records.lookup("web", {"db"}).kind, Lookup::Kind::kNxDomain);
  EXPECT_EQ(records.lookup("tasks.web", {"db"}).kind, Lookup::Kind::kNxDomain);
  EXPECT_EQ(records.lookup("web", {}).kind, Lookup::Kind::kNxDomain);
  EXPECT_EQ(records.lookup("example.com", kApp).kind, Lookup::Kind::kNotOurs);
  EXPECT_EQ(records.lookup("tasks.example.com", kApp).kind, Lookup::Kind::kNotOurs);
  EXPECT_EQ(records.lookup(".", kApp).kind, Lookup::Kind::kNotOurs) << "the root goes upstream";
}

TEST(DnsRecords, UnboundBareNamesAreNxdomainNotForwarded) {
  DnsRecords records;
  ASSERT_TRUE(records.upsert(web_on_app()).ok());
  EXPECT_EQ(records.lookup("db", kApp).kind, Lookup::Kind::kNxDomain);
  EXPECT_EQ(records.lookup("tasks.db", kApp).kind, Lookup::Kind::kNxDomain);
  EXPECT_EQ(records.lookup("Localhost.", kApp).kind, Lookup::Kind::kNxDomain);
}

TEST(DnsRecords, EachNetworkAnswersWithItsOwnVip) {
  DnsRecords records;
  ASSERT_TRUE(records.upsert(web_on_app()).ok());
  ServiceRecord on_ingress = web_on_app();
  on_ingress.network_id = "ingress";
  on_ingress.vip = ip("10.0.0.2");
  on_ingress.task_ips = {ip("10.0.0.10")};
  ASSERT_TRUE(records.upsert(on_ingress).ok());
  EXPECT_EQ(records.lookup("web", {"ingress"}).addresses, std::vector<Ipv4>{ip("10.0.0.2")});
  EXPECT_EQ(records.lookup("web", kApp).addresses, std::vector<Ipv4>{ip("10.0.1.2")});
  EXPECT_EQ(records.lookup("web", {"app", "ingress"}).addresses.size(), 2u);
}

// A stack's short name: `backend` is an alias of shop_backend on the stack's network only
// (Docker's network aliases); elsewhere only the full name answers.
TEST(DnsRecords, AnAliasAnswersOnlyOnItsOwnNetwork) {
  DnsRecords records;
  ServiceRecord on_stack = web_on_app();
  on_stack.name = "shop_backend";
  on_stack.aliases = {"backend"};
  ASSERT_TRUE(records.upsert(on_stack).ok());
  ServiceRecord on_other = on_stack;
  on_other.network_id = "other";
  on_other.aliases = {};
  on_other.vip = ip("10.0.9.2");
  ASSERT_TRUE(records.upsert(on_other).ok());
  EXPECT_EQ(records.lookup("backend", kApp).addresses, std::vector<Ipv4>{ip("10.0.1.2")});
  EXPECT_EQ(records.lookup("backend", {"other"}).kind, Lookup::Kind::kNxDomain);
  EXPECT_EQ(records.lookup("shop_backend", {"other"}).addresses, std::vector<Ipv4>{ip("10.0.9.2")});
  on_stack.mode = EndpointMode::kDnsrr;
  ASSERT_TRUE(records.upsert(on_stack).ok());
  EXPECT_EQ(records.lookup("backend", kApp).addresses, on_stack.task_ips);
}

TEST(DnsRecords, UpsertReplacesAndRemoveForgets) {
  DnsRecords records;
  ASSERT_TRUE(records.upsert(web_on_app()).ok());
  ServiceRecord renamed = web_on_app();
  renamed.name = "site";
  renamed.aliases = {};
  renamed.vip = ip("10.0.1.3");
  ASSERT_TRUE(records.upsert(renamed).ok());
  EXPECT_EQ(records.size(), 1u);
  EXPECT_EQ(records.lookup("web", kApp).kind, Lookup::Kind::kNxDomain) << "the old name is gone";
  EXPECT_EQ(records.lookup("www.internal", kApp).kind, Lookup::Kind::kNotOurs);
  EXPECT_EQ(records.lookup("site", kApp).addresses, std::vector<Ipv4>{ip("10.0.1.3")});

  records.remove("s-web", "app");
  EXPECT_EQ(records.lookup("site", kApp).kind, Lookup::Kind::kNxDomain);
  EXPECT_EQ(records.size(), 0u);
  EXPECT_EQ(records.names(), 0u);
}

TEST(DnsRecords, RemoveServiceLeavesOtherServicesThatShareAnAlias) {
  DnsRecords records;
  ASSERT_TRUE(records.upsert(web_on_app()).ok());
  ServiceRecord api = web_on_app();
  api.service_id = "s-api";
  api.name = "api";
  api.aliases = {"frontend"};
  api.vip = ip("10.0.1.4");
  ASSERT_TRUE(records.upsert(api).ok());
  ServiceRecord web_elsewhere = web_on_app();
  web_elsewhere.network_id = "other";
  ASSERT_TRUE(records.upsert(web_elsewhere).ok());

  EXPECT_EQ(records.lookup("frontend", kApp).addresses,
            (std::vector<Ipv4>{ip("10.0.1.2"), ip("10.0.1.4")}));
  records.remove_service("s-web");
  EXPECT_EQ(records.lookup("frontend", kApp).addresses, std::vector<Ipv4>{ip("10.0.1.4")});
  EXPECT_EQ(records.lookup("web", {"app", "other"}).kind, Lookup::Kind::kNxDomain);
  EXPECT_EQ(records.names(), 4u) << "api, frontend and their tasks. names";
}

TEST(DnsRecords, DuplicateAddressesAcrossBindingsAreAnsweredOnce) {
  DnsRecords records;
  ServiceRecord a = web_on_app();
  a.mode = EndpointMode::kDnsrr;
  ServiceRecord b = a;
  b.service_id = "s-web2";
  b.name = "web2";
  b.aliases = {"frontend"};
  ASSERT_TRUE(records.upsert(a).ok());
  ASSERT_TRUE(records.upsert(b).ok());
  EXPECT_EQ(records.lookup("frontend", kApp).addresses, a.task_ips);
}

TEST(DnsRecords, RejectsRecordsWithoutIdentity) {
  DnsRecords records;
  ServiceRecord r = web_on_app();
  r.name = ".";
  EXPECT_FALSE(records.upsert(r).ok());
  r = web_on_app();
  r.network_id.clear();
  EXPECT_FALSE(records.upsert(r).ok());
  EXPECT_EQ(records.size(), 0u);
}

}  // namespace
}  // namespace shoal::dataplane::dns
