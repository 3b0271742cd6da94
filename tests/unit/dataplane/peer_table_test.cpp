#include "dataplane/peer_table.h"

#include <gtest/gtest.h>

namespace shoal::dataplane {
namespace {

Peer peer(const char* ip, const char* vtep) {
  Ipv4 addr = *Ipv4::parse(ip);
  return Peer{addr, Mac::from_ipv4(addr), *Ipv4::parse(vtep)};
}

TEST(PeerTable, FirstReferenceProgramsBothEntries) {
  PeerTable table;
  Peer p = peer("10.0.1.5", "198.51.100.12");
  auto actions = table.add(p);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(std::get<SetNeighbour>(actions[0]), (SetNeighbour{p.ip, p.mac}));
  EXPECT_EQ(std::get<SetFdb>(actions[1]), (SetFdb{p.mac, p.vtep}));
}

TEST(PeerTable, EntriesGoOnlyWithTheLastReference) {
  PeerTable table;
  Peer p = peer("10.0.1.5", "198.51.100.12");
  table.add(p);
  EXPECT_TRUE(table.add(p).empty());
  EXPECT_EQ(table.references(p), 2u);
  EXPECT_TRUE(table.remove(p).empty());
  auto actions = table.remove(p);
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(std::get<DeleteFdb>(actions[0]), (DeleteFdb{p.mac, p.vtep}));
  EXPECT_EQ(std::get<DeleteNeighbour>(actions[1]), (DeleteNeighbour{p.ip}));
  EXPECT_EQ(table.size(), 0u);
}

TEST(PeerTable, RemovingAnUnknownPeerChangesNothing) {
  PeerTable table;
  EXPECT_TRUE(table.remove(peer("10.0.1.5", "198.51.100.12")).empty());
}

TEST(PeerTable, MovedEndpointFallsBackToTheOtherLiveClaim) {
  PeerTable table;
  Peer old_home = peer("10.0.1.5", "198.51.100.12");
  Peer new_home = peer("10.0.1.5", "198.51.100.13");
  table.add(old_home);
  auto moved = table.add(new_home);
  ASSERT_EQ(moved.size(), 2u);
  EXPECT_EQ(std::get<SetFdb>(moved[1]).vtep, new_home.vtep);

  // The newer claim goes away: the entries return to the older one instead of vanishing.
  auto back = table.remove(new_home);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(std::get<DeleteFdb>(back[0]), (DeleteFdb{new_home.mac, new_home.vtep}));
  EXPECT_EQ(std::get<SetFdb>(back[1]), (SetFdb{old_home.mac, old_home.vtep}));
  EXPECT_EQ(std::get<SetNeighbour>(back[2]), (SetNeighbour{old_home.ip, old_home.mac}));
}

TEST(PeerTable, RemovingTheOlderClaimLeavesTheNewerProgrammed) {
  PeerTable table;
  Peer old_home = peer("10.0.1.5", "198.51.100.12");
  Peer new_home = peer("10.0.1.5", "198.51.100.13");
  table.add(old_home);
  table.add(new_home);
  EXPECT_TRUE(table.remove(old_home).empty());
  EXPECT_EQ(table.size(), 1u);
}

}  // namespace
}  // namespace shoal::dataplane
