// Docker image references: the string a user gives `service create` (`nginx`, `user/repo:tag`,
// `registry.example:5000/a/b@sha256:...`) parsed by Docker's grammar and normalised to the one
// canonical form every node agrees on (`docker.io/library/nginx:latest`).
//
// Normalisation matters because the reference is the image's identity in the store, in task
// specs and in `service ls`: two spellings of one image must compare equal, and a reference
// Docker refuses must be refused here too, with a message that says which part is wrong.
//
// The grammar (docker/distribution's, restated):
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [ domain "/" ] component ( "/" component )*
//   domain     := host [ ":" port ]; host is DNS labels joined by "." or a bracketed IPv6 address
//   component  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//   digest     := "sha256:" 64 lowercase hex digits
// The first component is a domain when it holds a "." or ":" or is "localhost"; otherwise the
// image is on Docker Hub, whose one-component names live under "library/".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace shoal::images {

inline constexpr std::string_view kDockerHubDomain = "docker.io";
inline constexpr std::string_view kDockerHubRegistryHost = "registry-1.docker.io";
inline constexpr std::string_view kDefaultTag = "latest";
// Docker bounds the name (domain and path, normalised); tag and digest have bounds of their own.
inline constexpr size_t kMaxNameLength = 255;
inline constexpr size_t kMaxTagLength = 128;

struct Reference {
  std::string domain;  // "docker.io", "registry.example:5000", "localhost", "[::1]:5000"
  std::string path;    // "library/nginx", "a/b"
  std::string tag;     // "latest" unless given; empty when only a digest was given
  std::string digest;  // "sha256:<64 hex>" or empty

  // The canonical full form: "docker.io/library/nginx:latest", "host:5000/a/b:t@sha256:...".
  std::string str() const;
  // "docker.io/library/nginx": the repository, without tag or digest.
  std::string name() const;
  // The short form Docker shows: Docker Hub's domain and "library/" dropped ("nginx:latest",
  // "user/repo:tag", "nginx@sha256:..."); other registries keep their domain.
  std::string familiar() const;
  // What `docker service ls` shows: familiar(), but without the digest when there is a tag
  // (the CLI pins images to digests and hides the pin from the listing).
  std::string familiar_tagged() const;
  // The host to ask for the image: Docker Hub's registry for "docker.io", else the domain.
  std::string registry_host() const;
  // skopeo's source argument: "docker://docker.io/library/nginx:latest". With a digest, only
  // the digest (containers/image refuses references that have both, and the digest is exact).
  std::string transport_ref() const;

  bool operator==(const Reference&) const = default;
};

// Parses and normalises `text`. Errors read
// `parse image reference "Nginx": invalid reference format: repository name "Nginx" must be
// lowercase`.
Result<Reference> parse_reference(std::string_view text);

// Whether `digest` is "sha256:" and 64 lowercase hex digits; the error says what is wrong.
// `what` names the digest's place in messages ("digest", "layers[3].digest").
Status check_digest(std::string_view digest, std::string_view what);

}  // namespace shoal::images
