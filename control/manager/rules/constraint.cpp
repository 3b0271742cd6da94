#include "control/manager/rules/constraint.h"

#include <algorithm>
#include <cctype>

namespace shoal::manager {

namespace {

std::string_view trim(std::string_view text) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lower(a) == lower(b);
}

}  // namespace

Result<Constraint> Constraint::parse(std::string_view text) {
  auto fail = [&](const std::string& reason) {
    return invalid_argument("constraint \"" + std::string(text) + "\"", reason);
  };
  auto eq = text.find("==");
  auto ne = text.find("!=");
  if ((eq == std::string_view::npos) == (ne == std::string_view::npos)) {
    return fail("expected exactly one operator, == or !=");
  }
  Constraint constraint;
  constraint.text_ = std::string(text);
  constraint.equal_ = eq != std::string_view::npos;
  auto at = constraint.equal_ ? eq : ne;
  auto key = lower(trim(text.substr(0, at)));
  auto value = trim(text.substr(at + 2));
  if (value.empty()) {
    return fail("the value is empty");
  }
  if (value.find_first_of("=!") != std::string_view::npos) {
    return fail("expected exactly one operator, == or !=");
  }
  constraint.value_ = std::string(value);
  constexpr std::string_view kLabels = "node.labels.";
  if (key == "node.id") {
    constraint.key_ = Key::kId;
  } else if (key == "node.hostname") {
    constraint.key_ = Key::kHostname;
  } else if (key == "node.role") {
    constraint.key_ = Key::kRole;
    if (!equal_ignoring_case(value, "manager") && !equal_ignoring_case(value, "worker")) {
      return fail("node.role is manager or worker");
    }
  } else if (key.starts_with(kLabels) && key.size() > kLabels.size()) {
    constraint.key_ = Key::kLabel;
    // The label's name as written (trimmed), for the lookup on the node.
    constraint.label_ = std::string(trim(text.substr(0, at)).substr(kLabels.size()));
  } else {
    return fail("unknown key \"" + key +
                "\" (expected node.id, node.hostname, node.role or node.labels.NAME)");
  }
  return constraint;
}

Result<std::vector<Constraint>> Constraint::parse_all(const std::vector<std::string>& texts) {
  std::vector<Constraint> out;
  out.reserve(texts.size());
  for (const auto& text : texts) {
    SHOAL_ASSIGN_OR_RETURN(auto constraint, parse(text));
    out.push_back(std::move(constraint));
  }
  return out;
}

bool Constraint::matches(const Node& node) const {
  bool same = false;
  switch (key_) {
    case Key::kId:
      same = equal_ignoring_case(node.id, value_);
      break;
    case Key::kHostname:
      same = equal_ignoring_case(node.hostname, value_);
      break;
    case Key::kRole:
      same = equal_ignoring_case(to_string(node.role), value_);
      break;
    case Key::kLabel: {
      auto it = node.labels.find(label_);
      same = it != node.labels.end() && equal_ignoring_case(it->second, value_);
      break;
    }
  }
  return equal_ ? same : !same;
}

}  // namespace shoal::manager
