// Image references (control/images/reference.h): every spelling Docker accepts normalises to the
// form Docker gives it, every spelling Docker refuses is refused with a message naming the part
// that is wrong, and the derived forms (familiar, registry host, skopeo's) are Docker's.
#include "control/images/reference.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace shoal::images {
namespace {

const std::string kHex(64, 'a');
const std::string kDigest = "sha256:" + kHex;

struct Normalised {
  std::string input;
  std::string canonical;
  std::string familiar;
};

// Test names show the input, not the struct's bytes.
void PrintTo(const Normalised& c, std::ostream* out) {
  *out << '"' << c.input << '"';
}

class ValidReference : public ::testing::TestWithParam<Normalised> {};

TEST_P(ValidReference, NormalisesAsDockerDoes) {
  const auto& c = GetParam();
  auto ref = parse_reference(c.input);
  ASSERT_TRUE(ref.ok()) << c.input << ": " << ref.error().message();
  EXPECT_EQ(ref->str(), c.canonical) << c.input;
  EXPECT_EQ(ref->familiar(), c.familiar) << c.input;
  // The canonical form is a fixed point, and the short form names the same image.
  auto again = parse_reference(ref->str());
  ASSERT_TRUE(again.ok()) << ref->str();
  EXPECT_EQ(*again, *ref);
  auto short_form = parse_reference(ref->familiar());
  ASSERT_TRUE(short_form.ok()) << ref->familiar();
  EXPECT_EQ(*short_form, *ref);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidReference,
    ::testing::Values(
        Normalised{"nginx", "docker.io/library/nginx:latest", "nginx:latest"},
        Normalised{"nginx:1.25", "docker.io/library/nginx:1.25", "nginx:1.25"},
        Normalised{"library/nginx", "docker.io/library/nginx:latest", "nginx:latest"},
        Normalised{"docker.io/nginx", "docker.io/library/nginx:latest", "nginx:latest"},
        Normalised{"docker.io/library/nginx:alpine", "docker.io/library/nginx:alpine",
                   "nginx:alpine"},
        Normalised{"index.docker.io/user/repo", "docker.io/user/repo:latest", "user/repo:latest"},
        Normalised{"user/repo:tag", "docker.io/user/repo:tag", "user/repo:tag"},
        // Hub paths with more than one component keep "library/" in the familiar form.
        Normalised{"library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"},
        Normalised{"registry.example:5000/a/b:tag", "registry.example:5000/a/b:tag",
                   "registry.example:5000/a/b:tag"},
        Normalised{"registry.example/a/b/c", "registry.example/a/b/c:latest",
                   "registry.example/a/b/c:latest"},
        Normalised{"Registry.Example/app", "Registry.Example/app:latest",
                   "Registry.Example/app:latest"},
        Normalised{"10.0.0.1:5000/app", "10.0.0.1:5000/app:latest", "10.0.0.1:5000/app:latest"},
        Normalised{"[::1]:5000/app:v1", "[::1]:5000/app:v1", "[::1]:5000/app:v1"},
        Normalised{"[fd00::1]/app", "[fd00::1]/app:latest", "[fd00::1]/app:latest"},
        Normalised{"localhost/x", "localhost/x:latest", "localhost/x:latest"},
        Normalised{"localhost:5000/x:1", "localhost:5000/x:1", "localhost:5000/x:1"},
        // Without a '/', "localhost" is a Hub name and ":5000" a tag, as in Docker.
        Normalised{"localhost", "docker.io/library/localhost:latest", "localhost:latest"},
        Normalised{"localhost:5000", "docker.io/library/localhost:5000", "localhost:5000"},
        Normalised{"registry.example:5000", "docker.io/library/registry.example:5000",
                   "registry.example:5000"},
        Normalised{"nginx@" + kDigest, "docker.io/library/nginx@" + kDigest, "nginx@" + kDigest},
        Normalised{"nginx:1.25@" + kDigest, "docker.io/library/nginx:1.25@" + kDigest,
                   "nginx:1.25@" + kDigest},
        Normalised{"my-registry.io/my_org/my--app.v2__x:V1.0-rc_1",
                   "my-registry.io/my_org/my--app.v2__x:V1.0-rc_1",
                   "my-registry.io/my_org/my--app.v2__x:V1.0-rc_1"},
        // A Hub path that looks like a registry keeps the domain in the short form.
        Normalised{"docker.io/foo.bar/x", "docker.io/foo.bar/x:latest",
                   "docker.io/foo.bar/x:latest"},
        Normalised{"docker.io/localhost/x", "docker.io/localhost/x:latest",
                   "docker.io/localhost/x:latest"},
        Normalised{"nginx:_private", "docker.io/library/nginx:_private", "nginx:_private"},
        Normalised{"a:" + std::string(128, 'x'), "docker.io/library/a:" + std::string(128, 'x'),
                   "a:" + std::string(128, 'x')}));

struct Refused {
  std::string input;
  std::string says;  // a part of the message
};

void PrintTo(const Refused& c, std::ostream* out) {
  *out << '"' << c.input << '"';
}

class InvalidReference : public ::testing::TestWithParam<Refused> {};

TEST_P(InvalidReference, IsRefusedSayingWhy) {
  const auto& c = GetParam();
  auto ref = parse_reference(c.input);
  ASSERT_FALSE(ref.ok()) << c.input << " parsed as " << ref->str();
  const std::string message = ref.error().message();
  EXPECT_NE(message.find("invalid reference format"), std::string::npos) << message;
  EXPECT_NE(message.find(c.says), std::string::npos) << c.input << ": " << message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, InvalidReference,
    ::testing::Values(
        Refused{"", "empty"}, Refused{"Nginx", "repository name \"Nginx\" must be lowercase"},
        Refused{"user/Repo:tag", "must be lowercase"},
        Refused{"registry.example/A/b", "repository name \"A/b\" must be lowercase"},
        Refused{"nginx:", "tag after ':' is empty"}, Refused{"nginx:-x", "tag \"-x\""},
        Refused{"nginx:.x", "tag \".x\""}, Refused{"nginx:a+b", "tag \"a+b\""},
        Refused{"a:" + std::string(129, 'x'), "at most 128"},
        Refused{"nginx@sha256:abc", "64 hex digits, this one has 3"},
        Refused{"nginx@sha256:" + std::string(64, 'A'), "lowercase hex"},
        Refused{"nginx@md5:" + std::string(32, 'a'), "unsupported digest algorithm"},
        Refused{"nginx@", "digest"}, Refused{"@" + kDigest, "at least one component"},
        Refused{"a//b", "empty component"}, Refused{"/nginx", "empty component"},
        Refused{"nginx/", "empty component"}, Refused{"-nginx", "component \"-nginx\""},
        Refused{"a..b", "component \"a..b\""}, Refused{"a_-b", "component \"a_-b\""},
        Refused{"ng inx", "component \"ng inx\""}, Refused{"nginx:tag:more", "component"},
        Refused{"registry.example:http/x", "port \"http\" is not a number"},
        Refused{"-bad.example/x", "host \"-bad.example\""},
        Refused{"bad..example/x", "host \"bad..example\""}, Refused{"[zz::1]/x", "IPv6"},
        Refused{"[::1]x/app", "IPv6"}, Refused{"[::1]:http/app", "port \"http\""},
        // Docker would take "Foo" as a registry; a first component is a registry here only
        // with '.', ':' or as localhost, so this is the Hub name it most likely meant.
        Refused{"Foo/bar", "repository name \"Foo/bar\" must be lowercase"},
        Refused{kHex, "image id"}, Refused{"a/" + std::string(260, 'b'), "not be more than 255"},
        Refused{std::string(600, 'a'), "characters long"}));

TEST(Reference, ANameOfExactly255CharactersIsAccepted) {
  // "docker.io/" (10) + "a/" (2) + 243 = 255.
  auto ref = parse_reference("a/" + std::string(243, 'b'));
  ASSERT_TRUE(ref.ok()) << ref.error().message();
  EXPECT_EQ(ref->name().size(), 255u);
  EXPECT_FALSE(parse_reference("a/" + std::string(244, 'b')).ok());
}

TEST(Reference, PartsAreSeparated) {
  auto ref = parse_reference("registry.example:5000/team/app:v2@" + kDigest);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->domain, "registry.example:5000");
  EXPECT_EQ(ref->path, "team/app");
  EXPECT_EQ(ref->tag, "v2");
  EXPECT_EQ(ref->digest, kDigest);
  EXPECT_EQ(ref->name(), "registry.example:5000/team/app");
}

TEST(Reference, ADigestAloneGetsNoDefaultTag) {
  auto ref = parse_reference("nginx@" + kDigest);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->tag, "");
}

TEST(Reference, DockerHubIsAskedAtItsRegistryHostOthersAtTheirDomain) {
  EXPECT_EQ(parse_reference("nginx")->registry_host(), "registry-1.docker.io");
  EXPECT_EQ(parse_reference("user/repo")->registry_host(), "registry-1.docker.io");
  EXPECT_EQ(parse_reference("registry.example:5000/a")->registry_host(), "registry.example:5000");
  EXPECT_EQ(parse_reference("localhost/a")->registry_host(), "localhost");
}

TEST(Reference, SkopeoGetsTheTagOrOnlyTheDigest) {
  EXPECT_EQ(parse_reference("nginx")->transport_ref(), "docker://docker.io/library/nginx:latest");
  EXPECT_EQ(parse_reference("localhost:5000/x:1")->transport_ref(), "docker://localhost:5000/x:1");
  // containers/image refuses tag and digest together; the digest is the exact one.
  EXPECT_EQ(parse_reference("nginx:1.25@" + kDigest)->transport_ref(),
            "docker://docker.io/library/nginx@" + kDigest);
}

TEST(Reference, ServiceListingHidesThePinnedDigestWhenThereIsATag) {
  EXPECT_EQ(parse_reference("nginx:1.25@" + kDigest)->familiar_tagged(), "nginx:1.25");
  EXPECT_EQ(parse_reference("nginx@" + kDigest)->familiar_tagged(), "nginx@" + kDigest);
  EXPECT_EQ(parse_reference("user/repo")->familiar_tagged(), "user/repo:latest");
}

TEST(Reference, ControlCharactersInTheInputAreEscapedInTheMessage) {
  auto ref = parse_reference("ng\x1b[2Jinx");
  ASSERT_FALSE(ref.ok());
  EXPECT_EQ(ref.error().message().find('\x1b'), std::string::npos);
  EXPECT_NE(ref.error().message().find("\\x1b"), std::string::npos);
}

TEST(Digest, OnlySha256With64LowercaseHexDigitsIsValid) {
  EXPECT_TRUE(check_digest(kDigest, "digest").ok());
  EXPECT_TRUE(
      check_digest("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                   "digest")
          .ok());
  EXPECT_FALSE(check_digest("sha256:" + std::string(63, 'a'), "digest").ok());
  EXPECT_FALSE(check_digest("sha256:" + std::string(65, 'a'), "digest").ok());
  EXPECT_FALSE(check_digest("sha256:" + std::string(63, 'a') + "g", "digest").ok());
  EXPECT_FALSE(check_digest("sha512:" + std::string(128, 'a'), "digest").ok());
  EXPECT_FALSE(check_digest(kHex, "digest").ok());
  EXPECT_FALSE(check_digest("", "digest").ok());
  auto named = check_digest("sha256:xyz", "layers[2].digest");
  ASSERT_FALSE(named.ok());
  EXPECT_NE(named.error().message().find("layers[2].digest"), std::string::npos);
}

}  // namespace
}  // namespace shoal::images
