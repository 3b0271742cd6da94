// Placement constraints as Docker writes them: `node.id==ID`, `node.hostname!=NAME`,
// `node.role==manager`, `node.labels.KEY==VALUE`. Keys and values are compared without regard to
// case, as swarmkit does; a `!=` on a label the node does not have is satisfied, an `==` is not.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "control/manager/rules/types.h"

namespace shoal::manager {

class Constraint {
 public:
  static Result<Constraint> parse(std::string_view text);
  static Result<std::vector<Constraint>> parse_all(const std::vector<std::string>& texts);

  bool matches(const Node& node) const;
  const std::string& text() const { return text_; }

 private:
  enum class Key { kId, kHostname, kRole, kLabel };
  Constraint() = default;

  std::string text_;
  Key key_ = Key::kId;
  std::string label_;  // for kLabel
  bool equal_ = true;  // == or !=
  std::string value_;
};

}  // namespace shoal::manager
