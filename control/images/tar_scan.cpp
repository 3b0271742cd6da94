#include "control/images/tar_scan.h"

#include <errno.h>
#include <zlib.h>

#include <array>
#include <climits>
#include <cstring>
#include <optional>
#include <string_view>

namespace shoal::images {

namespace {

constexpr size_t kBlock = 512;
constexpr size_t kMaxLongName = 64 * 1024;

// A gzFile that is closed exactly once.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : file_(gzopen(path.c_str(), "rb")) {}
  ~GzReader() {
    if (file_ != nullptr)
      gzclose(file_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;
  bool valid() const { return file_ != nullptr; }

  // Exactly `size` bytes into `out`; 0 at a clean end of file; -1 on a short read or error.
  int read_exact(char* out, size_t size, std::string& why) {
    size_t done = 0;
    while (done < size) {
      const size_t chunk = std::min<size_t>(size - done, INT_MAX / 2);
      const int n = gzread(file_, out + done, static_cast<unsigned>(chunk));
      if (n < 0) {
        int code = 0;
        why = gzerror(file_, &code);
        return -1;
      }
      if (n == 0)
        break;
      done += static_cast<size_t>(n);
    }
    if (done == size)
      return 1;
    why = done == 0 ? "" : "truncated";
    return done == 0 ? 0 : -1;
  }

  // Skips `size` bytes; false on a short file.
  bool skip(uint64_t size, std::string& why) {
    std::array<char, 64 * 1024> buffer;
    while (size > 0) {
      const size_t chunk = static_cast<size_t>(std::min<uint64_t>(size, buffer.size()));
      if (read_exact(buffer.data(), chunk, why) != 1) {
        if (why.empty())
          why = "truncated";
        return false;
      }
      size -= chunk;
    }
    return true;
  }

 private:
  gzFile file_;
};

std::string field(const char* data, size_t size) {
  return std::string(data, strnlen(data, size));
}

// An octal number field, or GNU's base-256 form (high bit of the first byte set).
std::optional<uint64_t> number(const char* data, size_t size) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(data);
  if ((bytes[0] & 0x80) != 0) {
    uint64_t value = bytes[0] & 0x7f;
    for (size_t i = 1; i < size; ++i) {
      if (value > (UINT64_MAX >> 8))
        return std::nullopt;
      value = (value << 8) | bytes[i];
    }
    return value;
  }
  uint64_t value = 0;
  size_t i = 0;
  while (i < size && (data[i] == ' ' || data[i] == '\0'))
    ++i;
  for (; i < size && data[i] >= '0' && data[i] <= '7'; ++i) {
    if (value > (UINT64_MAX >> 3))
      return std::nullopt;
    value = (value << 3) | static_cast<uint64_t>(data[i] - '0');
  }
  for (; i < size; ++i) {
    if (data[i] != ' ' && data[i] != '\0')
      return std::nullopt;
  }
  return value;
}

bool checksum_ok(const char* header) {
  const auto stored = number(header + 148, 8);
  if (!stored)
    return false;
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    const bool in_field = i >= 148 && i < 156;
    sum += in_field ? ' ' : static_cast<unsigned char>(header[i]);
  }
  return sum == *stored;
}

bool all_zero(const char* block) {
  for (size_t i = 0; i < kBlock; ++i) {
    if (block[i] != 0)
      return false;
  }
  return true;
}

// PAX records "LEN key=value\n"; only path and linkpath matter here.
void apply_pax(std::string_view records, std::optional<std::string>& path,
               std::optional<std::string>& linkpath) {
  while (!records.empty()) {
    const size_t space = records.find(' ');
    if (space == std::string_view::npos)
      return;
    size_t length = 0;
    for (char c : records.substr(0, space)) {
      if (c < '0' || c > '9' || length > records.size())
        return;
      length = length * 10 + static_cast<size_t>(c - '0');
    }
    if (length <= space + 1 || length > records.size())
      return;
    std::string_view record = records.substr(space + 1, length - space - 2);  // drop '\n'
    const size_t equals = record.find('=');
    if (equals != std::string_view::npos) {
      const std::string_view key = record.substr(0, equals);
      const std::string value(record.substr(equals + 1));
      if (key == "path")
        path = value;
      else if (key == "linkpath")
        linkpath = value;
    }
    records.remove_prefix(length);
  }
}

uint64_t padded(uint64_t size) {
  return (size + kBlock - 1) / kBlock * kBlock;
}

}  // namespace

Result<std::map<std::string, std::string>> walk_tar(
    const std::string& path, const std::function<Status(const TarEntry&)>& visit,
    const std::set<std::string>& collect, size_t max_member_bytes) {
  errno = 0;
  GzReader in(path);
  if (!in.valid())
    return sys_error("open", path, errno != 0 ? errno : ENOMEM);
  std::map<std::string, std::string> collected;
  std::optional<std::string> next_path;  // from a PAX header or a GNU long name
  std::optional<std::string> next_link;
  std::array<char, kBlock> header;
  std::string why;
  for (size_t entries = 0;; ++entries) {
    if (entries > kMaxTarEntries)
      return sys_error("read tar", path, 0, "more than 4194304 entries");
    const int got = in.read_exact(header.data(), kBlock, why);
    if (got == 0)
      break;  // end of file without the two zero blocks: tolerated, as GNU tar does
    if (got < 0)
      return sys_error("read tar", path, 0, why);
    if (all_zero(header.data()))
      break;
    if (!checksum_ok(header.data()))
      return sys_error("read tar", path, 0, "not a tar archive (bad header checksum)");
    const auto size = number(header.data() + 124, 12);
    if (!size)
      return sys_error("read tar", path, 0, "bad size field");
    const char type = header[156] == '\0' ? '0' : header[156];

    if (type == 'x' || type == 'L' || type == 'K') {
      if (*size > kMaxLongName)
        return sys_error("read tar", path, 0, "extended header over 64 KiB");
      std::string data(padded(*size), '\0');
      if (in.read_exact(data.data(), data.size(), why) != 1)
        return sys_error("read tar", path, 0, why.empty() ? "truncated" : why);
      data.resize(*size);
      if (type == 'x')
        apply_pax(data, next_path, next_link);
      else if (type == 'L')
        next_path = field(data.data(), data.size());
      else
        next_link = field(data.data(), data.size());
      continue;
    }
    if (type == 'g') {  // global PAX header: nothing we use
      if (!in.skip(padded(*size), why))
        return sys_error("read tar", path, 0, why);
      continue;
    }

    TarEntry entry;
    entry.type = type;
    entry.size = *size;
    entry.path = field(header.data(), 100);
    if (std::memcmp(header.data() + 257, "ustar", 5) == 0 && header[345] != '\0')
      entry.path = field(header.data() + 345, 155) + "/" + entry.path;
    entry.linkname = field(header.data() + 157, 100);
    if (next_path)
      entry.path = *std::exchange(next_path, std::nullopt);
    if (next_link)
      entry.linkname = *std::exchange(next_link, std::nullopt);
    // Links and directories carry no content whatever the size field says.
    const uint64_t content = (type == '1' || type == '2' || type == '5') ? 0 : entry.size;

    if (Status ok = visit(entry); !ok.ok())
      return std::move(ok).error();
    if (collect.contains(entry.path) && (type == '0' || type == '7')) {
      if (content > max_member_bytes) {
        return sys_error("read tar", path, 0,
                         entry.path + " is over " + std::to_string(max_member_bytes) + " bytes");
      }
      std::string data(padded(content), '\0');
      if (in.read_exact(data.data(), data.size(), why) != 1)
        return sys_error("read tar", path, 0, why.empty() ? "truncated" : why);
      data.resize(content);
      collected[entry.path] = std::move(data);
    } else if (!in.skip(padded(content), why)) {
      return sys_error("read tar", path, 0, entry.path + ": " + why);
    }
  }
  return collected;
}

Status check_entry_contained(const TarEntry& entry) {
  auto escapes = [](std::string_view name) {
    if (name.starts_with('/'))
      return true;
    while (!name.empty()) {
      const size_t slash = name.find('/');
      if (name.substr(0, slash) == "..")
        return true;
      if (slash == std::string_view::npos)
        break;
      name.remove_prefix(slash + 1);
    }
    return false;
  };
  if (escapes(entry.path))
    return invalid_argument("layer entry \"" + entry.path + "\"", "it points outside the rootfs");
  if (entry.type == '1' && escapes(entry.linkname)) {
    return invalid_argument("layer entry \"" + entry.path + "\"",
                            "a hard link to \"" + entry.linkname + "\", outside the rootfs");
  }
  return {};
}

Status check_layer_paths(const std::string& blob_path) {
  auto walked = walk_tar(blob_path, check_entry_contained);
  if (!walked.ok())
    return std::move(walked).error();
  return {};
}

}  // namespace shoal::images
