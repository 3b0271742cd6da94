// What a container runs (control/images/container_config.h): Docker's rules for argv, env,
// workdir, user and stop signal, and users resolved through the container's own account files.
#include "control/images/container_config.h"

#include <gtest/gtest.h>

#include <csignal>

namespace shoal::images {
namespace {

using Strings = std::vector<std::string>;

ImageConfig nginx_like() {
  ImageConfig image;
  image.env = {"PATH=/opt/bin:/usr/bin", "NGINX_VERSION=1.25.4"};
  image.entrypoint = {"/docker-entrypoint.sh"};
  image.cmd = {"nginx", "-g", "daemon off;"};
  image.working_dir = "/srv";
  image.user = "nginx";
  image.stop_signal = "SIGQUIT";
  return image;
}

ContainerProcess merged(const ImageConfig& image, const ServiceContainer& service) {
  auto process = merge_container_config(image, service);
  EXPECT_TRUE(process.ok()) << process.error().message();
  return process.ok() ? *process : ContainerProcess{};
}

TEST(ContainerArgv, TheImageEntrypointAndCmdRunWhenTheServiceSaysNothing) {
  EXPECT_EQ(merged(nginx_like(), {}).argv,
            (Strings{"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"}));
}

TEST(ContainerArgv, ArgsReplaceTheImageCmdAndKeepItsEntrypoint) {
  ServiceContainer service;
  service.args = {"nginx-debug", "-g", "daemon off;"};
  EXPECT_EQ(merged(nginx_like(), service).argv,
            (Strings{"/docker-entrypoint.sh", "nginx-debug", "-g", "daemon off;"}));
}

TEST(ContainerArgv, AnEntrypointOverrideDropsTheImageCmdToo) {
  ServiceContainer service;
  service.command = {"/bin/sh"};
  EXPECT_EQ(merged(nginx_like(), service).argv, Strings{"/bin/sh"});
  service.args = {"-c", "echo hi"};
  EXPECT_EQ(merged(nginx_like(), service).argv, (Strings{"/bin/sh", "-c", "echo hi"}));
}

TEST(ContainerArgv, AnImageWithOnlyACmdRunsItOrTheArgs) {
  ImageConfig busybox;
  busybox.cmd = {"sh"};
  EXPECT_EQ(merged(busybox, {}).argv, Strings{"sh"});
  ServiceContainer service;
  service.args = {"httpd", "-f", "-p", "80"};
  EXPECT_EQ(merged(busybox, service).argv, (Strings{"httpd", "-f", "-p", "80"}));
}

TEST(ContainerArgv, NothingToRunIsAnError) {
  auto process = merge_container_config(ImageConfig{}, ServiceContainer{});
  ASSERT_FALSE(process.ok());
  EXPECT_NE(process.error().message().find("no command specified"), std::string::npos);
}

TEST(ContainerEnv, PathHostnameImageThenServiceWithLaterNamesWinning) {
  ImageConfig image;
  image.cmd = {"run"};
  image.env = {"A=image", "B=image"};
  ServiceContainer service;
  service.hostname = "web.1.abc";
  service.env = {"B=service", "C=service"};
  EXPECT_EQ(merged(image, service).env, (Strings{std::string(kDefaultPath), "HOSTNAME=web.1.abc",
                                                 "A=image", "B=service", "C=service"}));
}

TEST(ContainerEnv, TheImagePathReplacesTheDefaultInPlace) {
  auto env = merged(nginx_like(), {}).env;
  EXPECT_EQ(env, (Strings{"PATH=/opt/bin:/usr/bin", "NGINX_VERSION=1.25.4"}));
}

TEST(ContainerEnv, TheServiceMayOverrideHostnameAndPathAndUnsetByBareName) {
  ServiceContainer service;
  service.hostname = "h";
  service.env = {"HOSTNAME=mine", "NGINX_VERSION", "PATH=/bin", "EMPTY="};
  EXPECT_EQ(merged(nginx_like(), service).env, (Strings{"PATH=/bin", "HOSTNAME=mine", "EMPTY="}));
}

TEST(ContainerEnv, AnEntryWithoutANameIsRefusedNamingIt) {
  ServiceContainer service;
  service.env = {"=value"};
  auto process = merge_container_config(nginx_like(), service);
  ASSERT_FALSE(process.ok());
  EXPECT_NE(process.error().message().find("\"=value\""), std::string::npos);
}

TEST(ContainerEnv, MergeEnvReplacesInPlaceAndAppendsNewNames) {
  auto env = merge_env({"A=1", "B=2"}, {"C=3", "A=4", "B", "A=5"});
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(*env, (Strings{"A=5", "C=3"}));
  // A value may hold '='; only the first one separates the name.
  env = merge_env({}, {"OPTS=a=b", "OPTS=c=d"});
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(*env, Strings{"OPTS=c=d"});
}

TEST(ContainerWorkdir, ServiceThenImageThenRootAndAlwaysAbsolute) {
  EXPECT_EQ(merged(nginx_like(), {}).workdir, "/srv");
  ServiceContainer service;
  service.workdir = "/data/./x//y/../z/";
  EXPECT_EQ(merged(nginx_like(), service).workdir, "/data/x/z");
  ImageConfig plain;
  plain.cmd = {"run"};
  EXPECT_EQ(merged(plain, {}).workdir, "/");
  service.workdir = "relative/dir";
  auto process = merge_container_config(plain, service);
  ASSERT_FALSE(process.ok());
  EXPECT_NE(process.error().message().find("needs to be an absolute path"), std::string::npos);
}

TEST(ContainerUser, TheServiceUserWinsOverTheImages) {
  EXPECT_EQ(merged(nginx_like(), {}).user, "nginx");
  ServiceContainer service;
  service.user = "1000:1000";
  EXPECT_EQ(merged(nginx_like(), service).user, "1000:1000");
}

TEST(ContainerStopSignal, ServiceThenImageThenSigterm) {
  EXPECT_EQ(merged(nginx_like(), {}).stop_signal, SIGQUIT);
  ServiceContainer service;
  service.stop_signal = "SIGUSR1";
  EXPECT_EQ(merged(nginx_like(), service).stop_signal, SIGUSR1);
  ImageConfig plain;
  plain.cmd = {"run"};
  EXPECT_EQ(merged(plain, {}).stop_signal, SIGTERM);
  plain.stop_signal = "SIGNOPE";
  auto process = merge_container_config(plain, {});
  ASSERT_FALSE(process.ok());
  EXPECT_NE(process.error().message().find("stop signal \"SIGNOPE\""), std::string::npos);
}

TEST(Signals, NamesWithOrWithoutSigAnyCaseAndNumbers) {
  EXPECT_EQ(*parse_signal("SIGQUIT"), 3);
  EXPECT_EQ(*parse_signal("QUIT"), 3);
  EXPECT_EQ(*parse_signal("quit"), 3);
  EXPECT_EQ(*parse_signal("3"), 3);
  EXPECT_EQ(*parse_signal("SIGTERM"), 15);
  EXPECT_EQ(*parse_signal("KILL"), 9);
  EXPECT_EQ(*parse_signal("SIGWINCH"), 28);
  EXPECT_EQ(*parse_signal("SIGPWR"), 30);
  EXPECT_EQ(*parse_signal("RTMIN"), 34);
  EXPECT_EQ(*parse_signal("SIGRTMIN+3"), 37);
  EXPECT_EQ(*parse_signal("RTMAX-1"), 63);
  EXPECT_EQ(*parse_signal("RTMAX"), 64);
  EXPECT_EQ(*parse_signal("64"), 64);
  for (const char* bad : {"", "0", "65", "SIG", "SIGFOO", "RTMIN+31", "RTMIN-1", "RTMAX+1",
                          "RTMIN+", "-3", "3x", "99999999999999999999999"}) {
    EXPECT_FALSE(parse_signal(bad).ok()) << bad;
  }
}

const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "broken line without colons\n"
    "bad:x:notanumber:1::/:/bin/false\n"
    "nginx:x:101:101:nginx user:/nonexistent:/bin/false\r\n"
    "app:x:1000:1001::/home/app:/bin/sh\n"
    "app:x:2000:2000:second entry is never used:/:/bin/sh\n";

const char* kGroup =
    "root:x:0:\n"
    "daemon:x:1:\n"
    "nginx:x:101:\n"
    "www:x:33:nginx,app\n"
    "staff:x:50:\n";

using Ids = std::pair<uint32_t, uint32_t>;

Ids resolved(const std::string& user) {
  auto ids = resolve_user(user, kPasswd, kGroup);
  EXPECT_TRUE(ids.ok()) << user << ": " << ids.error().message();
  return ids.ok() ? *ids : Ids{99999, 99999};
}

TEST(ResolveUser, NoUserIsRoot) {
  EXPECT_EQ(resolved(""), Ids(0, 0));
}

TEST(ResolveUser, ANameTakesUidAndGidFromPasswd) {
  EXPECT_EQ(resolved("nginx"), Ids(101, 101));
  EXPECT_EQ(resolved("app"), Ids(1000, 1001));  // the first entry counts
  EXPECT_EQ(resolved("root"), Ids(0, 0));
}

TEST(ResolveUser, ANumberNeedsNoEntryButTakesTheEntrysGidWhenThereIsOne) {
  EXPECT_EQ(resolved("1000"), Ids(1000, 1001));
  EXPECT_EQ(resolved("4242"), Ids(4242, 0));
}

TEST(ResolveUser, AGroupReplacesThePrimaryGid) {
  EXPECT_EQ(resolved("nginx:www"), Ids(101, 33));
  EXPECT_EQ(resolved("app:50"), Ids(1000, 50));
  EXPECT_EQ(resolved("4242:4343"), Ids(4242, 4343));
  EXPECT_EQ(resolved("1000:staff"), Ids(1000, 50));
  EXPECT_EQ(resolved(":www"), Ids(0, 33));
  EXPECT_EQ(resolved("nginx:"), Ids(101, 101));
}

TEST(ResolveUser, UnknownNamesAreErrorsNamingThem) {
  auto user = resolve_user("postgres", kPasswd, kGroup);
  ASSERT_FALSE(user.ok());
  EXPECT_EQ(user.error().message(),
            "resolve user \"postgres\": unable to find user \"postgres\": no matching entries in "
            "passwd file");
  auto group = resolve_user("nginx:wheel", kPasswd, kGroup);
  ASSERT_FALSE(group.ok());
  EXPECT_NE(group.error().message().find("unable to find group \"wheel\""), std::string::npos);
  // A malformed line is no entry.
  EXPECT_FALSE(resolve_user("bad", kPasswd, kGroup).ok());
  // No passwd at all (a scratch image): names fail, numbers work.
  EXPECT_FALSE(resolve_user("nginx", "", "").ok());
  EXPECT_EQ(*resolve_user("65534:65534", "", ""), Ids(65534, 65534));
}

TEST(ResolveUser, OutOfRangeAndMalformedSpecsAreRefused) {
  EXPECT_FALSE(resolve_user("2147483648", kPasswd, kGroup).ok());
  EXPECT_EQ(*resolve_user("2147483647", kPasswd, kGroup), Ids(2147483647u, 0));
  EXPECT_FALSE(resolve_user("0:2147483648", kPasswd, kGroup).ok());
  EXPECT_FALSE(resolve_user("a:b:c", kPasswd, kGroup).ok());
  EXPECT_FALSE(resolve_user(std::string(300, 'a'), kPasswd, kGroup).ok());
  std::string huge(kMaxAccountFileBytes + 1, '\n');
  EXPECT_FALSE(resolve_user("0", huge, kGroup).ok());
}

}  // namespace
}  // namespace shoal::images
