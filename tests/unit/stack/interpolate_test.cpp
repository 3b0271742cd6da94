// `${VAR}` substitution in compose files (control/stack/interpolate.h): every form docker
// compose has, its errors and warnings, and the tree walk that substitutes values, not keys.
#include "control/stack/interpolate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "control/stack/compose.h"
#include "control/stack/yaml_reader.h"

namespace shoal::stack {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::map<std::string, std::string> kEnv = {
    {"NAME", "shop"}, {"EMPTY", ""}, {"PORT", "8080"}, {"WITH_DOLLAR", "a$b"}, {"B", "bee"}};

EnvLookup env() {
  return [](const std::string& name) -> std::optional<std::string> {
    auto found = kEnv.find(name);
    return found == kEnv.end() ? std::nullopt : std::optional(found->second);
  };
}

std::string value(const std::string& text) {
  auto result = interpolate(text, env());
  EXPECT_TRUE(result.ok()) << text << ": " << result.error().detail;
  return result.ok() ? result->value : "<error>";
}

std::string error(const std::string& text) {
  auto result = interpolate(text, env());
  EXPECT_FALSE(result.ok()) << text << " gave \"" << (result.ok() ? result->value : "") << "\"";
  return result.ok() ? "" : result.error().detail;
}

TEST(Interpolate, TextWithoutDollarIsUnchanged) {
  EXPECT_EQ(value(""), "");
  EXPECT_EQ(value("plain text {braces} and : colons"), "plain text {braces} and : colons");
}

TEST(Interpolate, BareAndBracedVariables) {
  EXPECT_EQ(value("$NAME"), "shop");
  EXPECT_EQ(value("${NAME}"), "shop");
  EXPECT_EQ(value("x-$NAME-y"), "x-shop-y");
  EXPECT_EQ(value("${NAME}_backend:${PORT}"), "shop_backend:8080");
  // A bare name runs as far as name characters go.
  EXPECT_EQ(value("$NAME.local"), "shop.local");
  EXPECT_EQ(value("$PORT/tcp"), "8080/tcp");
}

TEST(Interpolate, ValuesAreNotSubstitutedAgain) {
  EXPECT_EQ(value("${WITH_DOLLAR}"), "a$b");
}

TEST(Interpolate, DoubleDollarIsALiteralDollar) {
  EXPECT_EQ(value("$$"), "$");
  EXPECT_EQ(value("echo $$HOME $$(hostname)"), "echo $HOME $(hostname)");
  EXPECT_EQ(value("$$$NAME"), "$shop");
  EXPECT_EQ(value("$${NAME}"), "${NAME}");
}

TEST(Interpolate, UnsetIsEmptyAndReportedOnce) {
  auto result = interpolate("a${MISSING}b$MISSING c$OTHER", env());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->value, "ab c");
  EXPECT_THAT(result->unset, ElementsAre("MISSING", "OTHER"));
  // Set but empty is not unset.
  auto empty = interpolate("[${EMPTY}]", env());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->value, "[]");
  EXPECT_THAT(empty->unset, IsEmpty());
}

TEST(Interpolate, NoLookupMeansEverythingUnset) {
  auto result = interpolate("${A:-d}$B", EnvLookup{});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->value, "d");
  EXPECT_THAT(result->unset, ElementsAre("B"));
}

TEST(Interpolate, ColonDashDefaultsWhenUnsetOrEmpty) {
  EXPECT_EQ(value("${MISSING:-fallback}"), "fallback");
  EXPECT_EQ(value("${EMPTY:-fallback}"), "fallback");
  EXPECT_EQ(value("${NAME:-fallback}"), "shop");
  EXPECT_EQ(value("${MISSING:-}"), "");
  // The default may hold anything but an unbalanced brace, spaces and colons included.
  EXPECT_EQ(value("${MISSING:-a b:c-d}"), "a b:c-d");
}

TEST(Interpolate, DashDefaultsOnlyWhenUnset) {
  EXPECT_EQ(value("${MISSING-fallback}"), "fallback");
  EXPECT_EQ(value("[${EMPTY-fallback}]"), "[]");
  EXPECT_EQ(value("${NAME-fallback}"), "shop");
}

TEST(Interpolate, DefaultsAreSubstitutedAndMayNest) {
  EXPECT_EQ(value("${MISSING:-$NAME}"), "shop");
  EXPECT_EQ(value("${MISSING:-${ALSO_MISSING:-${B}}}"), "bee");
  EXPECT_EQ(value("${MISSING:-$$5}"), "$5");
  // A default that is not used is not evaluated: its unset variables are not reported.
  auto result = interpolate("${NAME:-$UNUSED}", env());
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result->unset, IsEmpty());
}

TEST(Interpolate, PlusGivesTheWordWhenSet) {
  EXPECT_EQ(value("${NAME:+yes}"), "yes");
  EXPECT_EQ(value("[${EMPTY:+yes}]"), "[]");
  EXPECT_EQ(value("${EMPTY+yes}"), "yes");
  EXPECT_EQ(value("[${MISSING+yes}]"), "[]");
}

TEST(Interpolate, ColonQuestionIsAnErrorWhenUnsetOrEmpty) {
  EXPECT_EQ(value("${NAME:?needed}"), "shop");
  EXPECT_EQ(error("${MISSING:?set it to the database URL}"),
            "required variable MISSING is missing a value: set it to the database URL");
  EXPECT_EQ(error("${EMPTY:?needed}"), "required variable EMPTY is missing a value: needed");
  EXPECT_EQ(error("${MISSING:?}"), "required variable MISSING is missing a value");
  EXPECT_EQ(error("${MISSING:?no $NAME}"), "required variable MISSING is missing a value: no shop");
}

TEST(Interpolate, QuestionIsAnErrorOnlyWhenUnset) {
  EXPECT_EQ(value("[${EMPTY?needed}]"), "[]");
  EXPECT_EQ(error("${MISSING?needed}"), "required variable MISSING is missing a value: needed");
}

TEST(Interpolate, UnterminatedBraceIsAnError) {
  EXPECT_THAT(error("${NAME"), HasSubstr("unterminated \"${\""));
  EXPECT_THAT(error("x ${MISSING:-${B}"), HasSubstr("unterminated \"${\""));
  EXPECT_THAT(error("${"), HasSubstr("unterminated"));
}

TEST(Interpolate, DollarsThatAreNotVariablesAreErrors) {
  EXPECT_THAT(error("echo $1"), HasSubstr("\"$1\" is not a variable; write $$ for a literal $"));
  EXPECT_THAT(error("$(hostname)"), HasSubstr("\"$(\" is not a variable"));
  EXPECT_THAT(error("cost: 5$"), HasSubstr("a lone \"$\" at the end"));
  EXPECT_THAT(error("${}"), HasSubstr("expected a variable name"));
  EXPECT_THAT(error("${1A}"), HasSubstr("expected a variable name"));
  EXPECT_THAT(error("${NAME%%.*}"), HasSubstr("expected }, :-, -, :?, ?, :+ or +"));
  EXPECT_THAT(error("${NAME:}"), HasSubstr("expected }, :-"));
}

// ---- the tree ----

struct Walked {
  YAML::Node root;
  std::vector<std::string> errors, warnings;
};

Walked walk(const std::string& yaml) {
  Walked out;
  out.root = YAML::Load(yaml);
  YamlReader reader;
  interpolate_tree(out.root, "", env(), reader);
  out.errors = reader.errors;
  out.warnings = reader.warnings;
  return out;
}

TEST(InterpolateTree, SubstitutesValuesInMapsAndListsButNotKeys) {
  auto w = walk(R"(
services:
  $NAME:
    command: ["echo", "${NAME}", "$${NAME}"]
    environment:
      PORT: ${PORT}
      ${B}: x
)");
  EXPECT_THAT(w.errors, IsEmpty());
  EXPECT_THAT(w.warnings, IsEmpty());
  const auto service = w.root["services"]["$NAME"];
  ASSERT_TRUE(service.IsMap());
  EXPECT_EQ(service["command"][1].Scalar(), "shop");
  EXPECT_EQ(service["command"][2].Scalar(), "${NAME}");
  EXPECT_EQ(service["environment"]["PORT"].Scalar(), "8080");
  EXPECT_EQ(service["environment"]["${B}"].Scalar(), "x");
}

TEST(InterpolateTree, ErrorsNameTheKeyPath) {
  auto w = walk(R"(
services:
  web:
    command: ["sh", "-c", "echo $1"]
    environment:
      URL: ${DB_URL:?set DB_URL}
      OPEN: ${NAME
)");
  EXPECT_THAT(w.errors,
              ElementsAre(HasSubstr("services.web.command[2]: \"$1\" is not a variable"),
                          "services.web.environment.URL: required variable DB_URL is missing a "
                          "value: set DB_URL",
                          HasSubstr("services.web.environment.OPEN: unterminated \"${\"")));
}

TEST(InterpolateTree, AnUnsetVariableIsOneWarningNamingItAndWhereItWasFirstUsed) {
  auto w = walk(R"(
a: ${GONE}
b: [$GONE, "${ALSO_GONE}"]
)");
  EXPECT_THAT(w.errors, IsEmpty());
  EXPECT_THAT(w.warnings,
              ElementsAre("a: the \"GONE\" variable is not set: defaulting to a blank string",
                          "b[1]: the \"ALSO_GONE\" variable is not set: defaulting to a blank "
                          "string"));
  EXPECT_EQ(w.root["a"].Scalar(), "");
}

// ---- through parse_compose ----

ComposeResult parse(const std::string& yaml) {
  ComposeOptions options;
  options.stack_name = "shop";
  options.lookup_env = env();
  return parse_compose(yaml, options);
}

TEST(InterpolateCompose, SubstitutedValuesAreParsedAndChecked) {
  auto result = parse(R"(
version: "3.8"
services:
  web:
    command: ["serve", "--name", "${NAME}", "--tag", "${TAG:-latest}"]
    ports: ["${PORT}:80"]
    deploy:
      replicas: ${REPLICAS:-3}
)");
  ASSERT_TRUE(result.spec) << ::testing::PrintToString(result.errors);
  const auto& spec = result.spec->services.at(0).spec;
  EXPECT_THAT(std::vector<std::string>(spec.args().begin(), spec.args().end()),
              ElementsAre("--name", "shop", "--tag", "latest"));
  ASSERT_EQ(spec.ports_size(), 1);
  EXPECT_EQ(spec.ports(0).published(), 8080u);
  EXPECT_EQ(spec.replicas(), 3u);
  EXPECT_THAT(result.warnings, IsEmpty());
}

TEST(InterpolateCompose, ASubstitutedValueIsCheckedLikeAWrittenOne) {
  auto result = parse("services:\n  web:\n    command: x\n    deploy:\n      replicas: ${NAME}\n");
  EXPECT_FALSE(result.spec);
  EXPECT_THAT(result.errors,
              ElementsAre("services.web.deploy.replicas: expected a non-negative integer"));
}

TEST(InterpolateCompose, AnErrorStopsTheFileAndAWarningDoesNot) {
  auto refused = parse("services:\n  web:\n    command: ${CMD:?give a command}\n");
  EXPECT_FALSE(refused.spec);
  EXPECT_THAT(refused.errors, ElementsAre("services.web.command: required variable CMD is "
                                          "missing a value: give a command"));
  auto warned = parse("services:\n  web:\n    command: echo $GREETING done\n");
  ASSERT_TRUE(warned.spec);
  EXPECT_THAT(warned.warnings,
              ElementsAre("services.web.command: the \"GREETING\" variable is not set: "
                          "defaulting to a blank string"));
  const auto& spec = warned.spec->services.at(0).spec;
  EXPECT_THAT(std::vector<std::string>(spec.args().begin(), spec.args().end()),
              ElementsAre("done"));
}

}  // namespace
}  // namespace shoal::stack
