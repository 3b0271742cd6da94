// Revocation of replaced certificates (#18): which of a node's certificates the manager port
// still takes, as the store records them (the rule in control/manager/access/cert_status.h).
#include <gtest/gtest.h>

#include "control/manager/access/cert_status.h"
#include "control/manager/rules/types.h"

namespace shoal::manager {
namespace {

TEST(ReplacedCertificates, OnlyTheLatestCountsAndTheOneBeforeForAGrace) {
  manager::Node node;
  node.cert_not_before = 0;
  node.cert_not_after = 90 * 24 * 3600;  // 90 days: a grace of a minute
  node.cert_serial = "bb";
  node.previous_cert_serial = "aa";
  node.cert_replaced_at = 1000;
  EXPECT_TRUE(certificate_counts(node, "bb", 5000));
  EXPECT_TRUE(certificate_counts(node, "aa", 1000 + 59));
  EXPECT_FALSE(certificate_counts(node, "aa", 1000 + 60));
  EXPECT_FALSE(certificate_counts(node, "99", 1000));  // older, or minted with a stolen CA key
  // One-minute certificates (tests): a tenth of the lifetime.
  node.cert_not_after = 60;
  EXPECT_TRUE(certificate_counts(node, "aa", 1005));
  EXPECT_FALSE(certificate_counts(node, "aa", 1006));
  // Recorded before revocation existed: any certificate of the node counts.
  EXPECT_TRUE(certificate_counts(manager::Node{}, "99", 1000));
}

// etcd's revocation list: the previous certificate once its grace is over, and every older one,
// while still valid; the current one never.
TEST(ReplacedCertificates, TheRevocationListNamesReplacedOnesPastTheGraceUntilTheyExpire) {
  manager::Node node;
  node.cert_not_before = 0;
  node.cert_not_after = 90 * 24 * 3600;  // a grace of a minute
  note_replacement(node, "aa", 100);     // joined: nothing replaced yet
  EXPECT_TRUE(serials_to_revoke({node}, 200).empty());
  node.cert_not_after = 100 + 90 * 24 * 3600;
  note_replacement(node, "bb", 1000);  // renewed: "aa" has its grace
  EXPECT_TRUE(serials_to_revoke({node}, 1059).empty());
  EXPECT_EQ(serials_to_revoke({node}, 1060), std::vector<std::string>{"aa"});
  node.cert_not_after = 200 + 90 * 24 * 3600;
  note_replacement(node, "cc", 2000);  // renewed again: "aa" revoked, "bb" has its grace
  EXPECT_EQ(serials_to_revoke({node}, 2001), std::vector<std::string>{"aa"});
  EXPECT_EQ(serials_to_revoke({node}, 2060), (std::vector<std::string>{"aa", "bb"}));
  // Expired certificates need no revocation.
  EXPECT_EQ(serials_to_revoke({node}, 150 + 90 * 24 * 3600), std::vector<std::string>{"bb"});
  EXPECT_TRUE(serials_to_revoke({node}, 200 + 90 * 24 * 3600).empty());
  EXPECT_TRUE(certificate_counts(node, "cc", 3000));
  EXPECT_FALSE(certificate_counts(node, "aa", 2001));
}

}  // namespace
}  // namespace shoal::manager
