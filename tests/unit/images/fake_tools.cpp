#include "tests/unit/images/fake_tools.h"

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

namespace shoal::images::testing {

namespace fs = std::filesystem;
using nlohmann::json;

std::string fake_digest(const std::string& data) {
  std::string hex;
  for (int salt = 0; salt < 4; ++salt) {
    char part[17];
    std::snprintf(part, sizeof(part), "%016zx",
                  std::hash<std::string>{}(std::to_string(salt) + data));
    hex += part;
  }
  return "sha256:" + hex;
}

namespace {

void put_octal(char* field, size_t size, uint64_t value) {
  std::snprintf(field, size, "%0*llo", static_cast<int>(size - 1),
                static_cast<unsigned long long>(value));
}

std::string header(const std::string& name, char type, size_t size) {
  std::string block(512, '\0');
  std::memcpy(block.data(), name.data(), std::min<size_t>(name.size(), 100));
  put_octal(block.data() + 100, 8, 0644);
  put_octal(block.data() + 108, 8, 0);
  put_octal(block.data() + 116, 8, 0);
  put_octal(block.data() + 124, 12, size);
  put_octal(block.data() + 136, 12, 0);
  block[156] = type;
  std::memcpy(block.data() + 257,
              "ustar\0"
              "00",
              8);
  std::memset(block.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (char c : block)
    sum += static_cast<unsigned char>(c);
  std::snprintf(block.data() + 148, 8, "%06o", sum);
  return block;
}

std::string padded(std::string data) {
  data.resize((data.size() + 511) / 512 * 512, '\0');
  return data;
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

std::string blob(const std::string& dir, const std::string& data) {
  const std::string digest = fake_digest(data);
  write_file(dir + "/blobs/sha256/" + digest.substr(7), data);
  return digest;
}

std::string config_of(const FakeImage& image) {
  return json{{"architecture", "amd64"},
              {"os", "linux"},
              {"created", image.created},
              {"config", {{"Cmd", image.cmd}}},
              {"rootfs", {{"type", "layers"}, {"diff_ids", {fake_digest("diff" + image.layer)}}}}}
      .dump();
}

}  // namespace

std::string make_tar(const std::vector<std::pair<std::string, std::string>>& files,
                     const std::string& pax_path_of_last) {
  std::string tar;
  for (size_t i = 0; i < files.size(); ++i) {
    const auto& [name, contents] = files[i];
    if (i + 1 == files.size() && !pax_path_of_last.empty()) {
      std::string record = "path=" + pax_path_of_last + "\n";
      // "LEN path=...\n" where LEN counts itself.
      size_t length = record.size() + 3;
      std::string full = std::to_string(length) + " " + record;
      if (full.size() != length)
        full = std::to_string(full.size()) + " " + record;
      tar += header("PaxHeaders/x", 'x', full.size()) + padded(full);
    }
    tar += header(name, '0', contents.size()) + padded(contents);
  }
  return tar + std::string(1024, '\0');
}

std::string config_digest_of(const FakeImage& image) {
  return fake_digest(config_of(image));
}

void write_layout(const std::string& dir, const std::string& tag, const FakeImage& image) {
  fs::create_directories(dir + "/blobs/sha256");
  write_file(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  const std::string layer = blob(dir, image.layer);
  const std::string config = config_of(image);
  const std::string config_digest = blob(dir, config);
  const std::string manifest = json{{"schemaVersion", 2},
                                    {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                    {"config",
                                     {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                                      {"digest", config_digest},
                                      {"size", config.size()}}},
                                    {"layers",
                                     {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                                       {"digest", layer},
                                       {"size", image.layer.size()}}}}}
                                   .dump();
  const std::string manifest_digest = blob(dir, manifest);
  write_file(dir + "/index.json",
             json{{"schemaVersion", 2},
                  {"manifests",
                   {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                     {"digest", manifest_digest},
                     {"size", manifest.size()},
                     {"annotations", {{"org.opencontainers.image.ref.name", tag}}}}}}}
                 .dump());
}

bool FakeTools::wait_waiting(int n) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, std::chrono::seconds(5), [&] { return waiting_ >= n; });
}

Result<ToolOutcome> FakeTools::copy(const CopyRequest& request) {
  ++copies;
  FakeImage image;
  bool known = false;
  {
    std::unique_lock lock(mutex_);
    requests_.push_back(request);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return gate_open_; });
    --waiting_;
    if (auto it = images_.find(request.source); it != images_.end()) {
      image = it->second;
      known = true;
    }
  }
  if (time_out) {
    fs::create_directories(request.layout_dir + "/blobs");  // half a copy, as a killed one
    return ToolOutcome{.exit_code = -1, .timed_out = true, .output = ""};
  }
  if (!known) {
    return ToolOutcome{.exit_code = 1,
                       .timed_out = false,
                       .output =
                           "time=\"2026-12-07T21:00:00Z\" level=fatal msg=\"initializing "
                           "source " +
                           request.source +
                           ": reading manifest: manifest unknown: manifest unknown\"\n"};
  }
  write_layout(request.layout_dir, request.layout_tag, image);
  return ToolOutcome{.exit_code = 0, .timed_out = false, .output = ""};
}

Result<ToolOutcome> FakeTools::unpack(const UnpackRequest& request) {
  ++unpacks;
  fs::create_directories(request.rootfs_dir);
  write_file(request.rootfs_dir + "/unpacked-from", request.layout_dir);
  return ToolOutcome{.exit_code = 0, .timed_out = false, .output = ""};
}

}  // namespace shoal::images::testing
