#include "control/images/reference.h"

#include <algorithm>
#include <vector>

#include "common/printable.h"

namespace shoal::images {

namespace {

// Anything longer cannot be a reference (name 255, tag 128, digest 71 and separators); refusing
// it first keeps error messages and the work done on hostile input small.
constexpr size_t kMaxReferenceLength = 512;
constexpr std::string_view kSha256Prefix = "sha256:";
constexpr size_t kSha256HexLength = 64;

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alnum(char c) {
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_lower_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f');
}
bool is_hex(char c) {
  return is_lower_hex(c) || (c >= 'A' && c <= 'F');
}
bool is_word(char c) {
  return is_alnum(c) || c == '_';
}

bool has_upper(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::string in_quotes(std::string_view text) {
  return "\"" + printable(text, {.keep_newlines = false, .max_bytes = 300}) + "\"";
}

Error bad_reference(std::string_view text, std::string why) {
  return Error{.op = "parse image reference",
               .object = in_quotes(text),
               .detail = "invalid reference format: " + std::move(why)};
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

// A path component: lowercase alphanumerics joined by ".", "_", "__" or runs of "-".
bool is_path_component(std::string_view component) {
  if (component.empty() || !is_lower_alnum(component.front()) ||
      !is_lower_alnum(component.back())) {
    return false;
  }
  size_t i = 0;
  while (i < component.size()) {
    if (is_lower_alnum(component[i])) {
      ++i;
      continue;
    }
    // A separator starts here; it must be one of the allowed ones and end at an alphanumeric.
    size_t start = i;
    while (i < component.size() && !is_lower_alnum(component[i])) {
      ++i;
    }
    std::string_view separator = component.substr(start, i - start);
    bool dashes = std::all_of(separator.begin(), separator.end(), [](char c) { return c == '-'; });
    if (!(separator == "." || separator == "_" || separator == "__" || dashes)) {
      return false;
    }
  }
  return true;
}

// A DNS label as Docker allows it: alphanumerics (either case) and inner hyphens.
bool is_domain_label(std::string_view label) {
  if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) {
    return false;
  }
  return std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

bool is_port(std::string_view port) {
  return !port.empty() && std::all_of(port.begin(), port.end(), is_digit);
}

// "[2001:db8::1]": Docker checks only the characters, as do we.
bool is_bracketed_ipv6(std::string_view host) {
  if (host.size() < 3 || host.front() != '[' || host.back() != ']') {
    return false;
  }
  std::string_view inner = host.substr(1, host.size() - 2);
  return std::all_of(inner.begin(), inner.end(), [](char c) { return is_hex(c) || c == ':'; });
}

// A domain split at its port's ':' ("host:5000", "[::1]:5000"); in "[::1]" the colons are the
// address's, so a port's ':' must come after the ']'.
struct HostPort {
  std::string_view host;
  std::string_view port;
  bool has_port = false;
};

HostPort split_host_port(std::string_view domain) {
  size_t colon = domain.rfind(':');
  size_t close = domain.rfind(']');
  if (colon == std::string_view::npos || (close != std::string_view::npos && colon < close)) {
    return {.host = domain, .port = {}, .has_port = false};
  }
  return {.host = domain.substr(0, colon), .port = domain.substr(colon + 1), .has_port = true};
}

Status check_domain(std::string_view text, std::string_view domain) {
  HostPort parts = split_host_port(domain);
  if (parts.has_port && !is_port(parts.port)) {
    return bad_reference(text, "registry port " + in_quotes(parts.port) + " is not a number");
  }
  if (parts.host.starts_with('[')) {
    if (!is_bracketed_ipv6(parts.host)) {
      return bad_reference(text,
                           "registry " + in_quotes(parts.host) + " is not a valid IPv6 address");
    }
    return {};
  }
  for (std::string_view label : split(parts.host, '.')) {
    if (!is_domain_label(label)) {
      return bad_reference(text, "registry host " + in_quotes(parts.host) +
                                     " is not a valid host name (letters, digits, inner '-', "
                                     "labels joined by '.')");
    }
  }
  return {};
}

Status check_path(std::string_view text, std::string_view path) {
  if (path.empty()) {
    return bad_reference(text, "repository name must have at least one component");
  }
  if (has_upper(path)) {
    return bad_reference(text, "repository name " + in_quotes(path) + " must be lowercase");
  }
  for (std::string_view component : split(path, '/')) {
    if (component.empty()) {
      return bad_reference(text, "repository name " + in_quotes(path) + " has an empty component");
    }
    if (!is_path_component(component)) {
      return bad_reference(text,
                           "repository name component " + in_quotes(component) +
                               " may hold only a-z and 0-9, joined by one '.', '_' or '__' or by "
                               "'-'s");
    }
  }
  return {};
}

Status check_tag(std::string_view text, std::string_view tag) {
  if (tag.empty()) {
    return bad_reference(text, "the tag after ':' is empty");
  }
  if (tag.size() > kMaxTagLength) {
    return bad_reference(text, "tag is " + std::to_string(tag.size()) + " characters, at most " +
                                   std::to_string(kMaxTagLength) + " are allowed");
  }
  bool valid = is_word(tag.front()) && std::all_of(tag.begin(), tag.end(), [](char c) {
                 return is_word(c) || c == '.' || c == '-';
               });
  if (!valid) {
    return bad_reference(text, "tag " + in_quotes(tag) +
                                   " may hold only letters, digits, '_', '.' and '-' and must "
                                   "not start with '.' or '-'");
  }
  return {};
}

// The first component is a registry when it looks like a host: "." or ":" in it, or localhost.
bool names_a_registry(std::string_view first_component) {
  return first_component.find_first_of(".:") != std::string_view::npos ||
         first_component == "localhost";
}

// Docker refuses a bare 64-hex string: it would be mistaken for an image id.
bool is_image_id(std::string_view text) {
  return text.size() == kSha256HexLength && std::all_of(text.begin(), text.end(), is_lower_hex);
}

// Splits "name[:tag][@digest]" into its parts; the tag's ':' is the last one after the last '/'
// (a registry port's ':' comes before a '/').
struct ReferenceParts {
  std::string_view name;
  std::string_view tag;
  std::string_view digest;
  bool has_tag = false;
  bool has_digest = false;
};

ReferenceParts split_reference(std::string_view text) {
  ReferenceParts parts;
  std::string_view rest = text;
  size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    parts.digest = rest.substr(at + 1);
    parts.has_digest = true;
    rest = rest.substr(0, at);
  }
  size_t colon = rest.rfind(':');
  size_t slash = rest.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    parts.tag = rest.substr(colon + 1);
    parts.has_tag = true;
    rest = rest.substr(0, colon);
  }
  parts.name = rest;
  return parts;
}

Status split_name(std::string_view text, std::string_view name, Reference& out) {
  size_t slash = name.find('/');
  if (slash != std::string_view::npos && names_a_registry(name.substr(0, slash))) {
    out.domain = std::string(name.substr(0, slash));
    out.path = std::string(name.substr(slash + 1));
    SHOAL_TRY(check_domain(text, out.domain));
  } else {
    out.domain = std::string(kDockerHubDomain);
    out.path = std::string(name);
  }
  if (out.domain == "index.docker.io") {  // Docker Hub's old name, still accepted
    out.domain = std::string(kDockerHubDomain);
  }
  SHOAL_TRY(check_path(text, out.path));
  if (out.domain == kDockerHubDomain && out.path.find('/') == std::string::npos) {
    out.path = "library/" + out.path;  // Docker Hub's official images
  }
  return {};
}

// Docker Hub's short form: "library/" dropped from official images, the domain from all. A Hub
// path whose first component looks like a registry ("docker.io/foo.bar/x") keeps the domain,
// or the short form would name another registry's image.
std::string docker_hub_short_name(const Reference& ref) {
  std::string_view path = ref.path;
  constexpr std::string_view kLibrary = "library/";
  if (path.starts_with(kLibrary) && path.find('/', kLibrary.size()) == std::string_view::npos) {
    return std::string(path.substr(kLibrary.size()));
  }
  size_t slash = path.find('/');
  if (slash != std::string_view::npos && names_a_registry(path.substr(0, slash))) {
    return ref.name();
  }
  return ref.path;
}

}  // namespace

Status check_digest(std::string_view digest, std::string_view what) {
  auto bad = [&](std::string why) {
    return Error{.op = "invalid",
                 .object = std::string(what) + " " + in_quotes(digest),
                 .detail = std::move(why)};
  };
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return bad("a digest is <algorithm>:<hex>, e.g. sha256:<64 hex digits>");
  }
  if (!digest.starts_with(kSha256Prefix)) {
    return bad("unsupported digest algorithm " + in_quotes(digest.substr(0, colon)) +
               " (only sha256 is supported)");
  }
  std::string_view hex = digest.substr(kSha256Prefix.size());
  if (hex.size() != kSha256HexLength) {
    return bad("a sha256 digest has 64 hex digits, this one has " + std::to_string(hex.size()));
  }
  if (!std::all_of(hex.begin(), hex.end(), is_lower_hex)) {
    return bad("a sha256 digest is written in lowercase hex digits (0-9, a-f)");
  }
  return {};
}

Result<Reference> parse_reference(std::string_view text) {
  if (text.empty()) {
    return bad_reference(text, "the reference is empty");
  }
  if (text.size() > kMaxReferenceLength) {
    return bad_reference(text, "the reference is " + std::to_string(text.size()) +
                                   " characters long, far more than a name (" +
                                   std::to_string(kMaxNameLength) + "), tag and digest need");
  }
  if (is_image_id(text)) {
    return bad_reference(text,
                         "a 64-hex-digit string is an image id, not a repository name; name the "
                         "image, or pin it with NAME@sha256:<digest>");
  }
  ReferenceParts parts = split_reference(text);
  Reference ref;
  SHOAL_TRY(split_name(text, parts.name, ref));
  if (parts.has_tag) {
    SHOAL_TRY(check_tag(text, parts.tag));
    ref.tag = std::string(parts.tag);
  }
  if (parts.has_digest) {
    auto digest = check_digest(parts.digest, "digest");
    if (!digest.ok()) {
      return bad_reference(text, digest.error().object + ": " + digest.error().detail);
    }
    ref.digest = std::string(parts.digest);
  }
  if (ref.name().size() > kMaxNameLength) {
    return bad_reference(text, "repository name must not be more than " +
                                   std::to_string(kMaxNameLength) + " characters (" + ref.name() +
                                   " has " + std::to_string(ref.name().size()) + ")");
  }
  if (ref.tag.empty() && ref.digest.empty()) {
    ref.tag = std::string(kDefaultTag);
  }
  return ref;
}

std::string Reference::name() const {
  return domain + "/" + path;
}

std::string Reference::str() const {
  std::string text = name();
  if (!tag.empty()) {
    text += ":" + tag;
  }
  if (!digest.empty()) {
    text += "@" + digest;
  }
  return text;
}

std::string Reference::familiar() const {
  std::string text = domain == kDockerHubDomain ? docker_hub_short_name(*this) : name();
  if (!tag.empty()) {
    text += ":" + tag;
  }
  if (!digest.empty()) {
    text += "@" + digest;
  }
  return text;
}

std::string Reference::familiar_tagged() const {
  if (tag.empty()) {
    return familiar();
  }
  Reference without_digest = *this;
  without_digest.digest.clear();
  return without_digest.familiar();
}

std::string Reference::registry_host() const {
  return domain == kDockerHubDomain ? std::string(kDockerHubRegistryHost) : domain;
}

std::string Reference::transport_ref() const {
  if (!digest.empty()) {
    return "docker://" + name() + "@" + digest;
  }
  return "docker://" + name() + ":" + tag;
}

}  // namespace shoal::images
