// Finding an object the way Docker lets users name it: by full id, else by name, else by id
// prefix. A name or prefix that matches several objects is refused as ambiguous, as Docker
// refuses it ("node h3 is ambiguous (2 matches found)"), rather than acting on whichever
// comes first: two nodes may carry one hostname (a node names itself), and acting on the
// wrong one (promoting it) must not happen silently.
#pragma once

#include <grpcpp/support/status.h>

#include <optional>
#include <string>
#include <utility>

#include "control/manager/store/store.h"

namespace shoal::manager {

// The object a reference names, or why there is none. Reads like std::optional.
template <typename T>
class Found {
 public:
  Found() = default;
  Found(std::string kind, std::string ref, size_t matches, std::optional<T> object)
      : kind_(std::move(kind)),
        ref_(std::move(ref)),
        matches_(matches),
        object_(std::move(object)) {}

  // The object read again (after a write), under the same reference.
  Found& operator=(std::optional<T> object) {
    matches_ = object ? 1 : 0;
    object_ = std::move(object);
    return *this;
  }

  explicit operator bool() const { return object_.has_value(); }
  T& operator*() { return *object_; }
  const T& operator*() const { return *object_; }
  T* operator->() { return &*object_; }
  const T* operator->() const { return &*object_; }

  // Docker's words for a missing object: NOT_FOUND "<kind> <ref> not found", or
  // INVALID_ARGUMENT "<kind> <ref> is ambiguous (<n> matches found)".
  grpc::Status refusal() const {
    if (matches_ > 1) {
      return {grpc::StatusCode::INVALID_ARGUMENT, kind_ + " " + ref_ + " is ambiguous (" +
                                                      std::to_string(matches_) + " matches found)"};
    }
    return {grpc::StatusCode::NOT_FOUND, kind_ + " " + ref_ + " not found"};
  }
  bool ambiguous() const { return matches_ > 1; }

 private:
  std::string kind_;
  std::string ref_;
  size_t matches_ = 0;
  std::optional<T> object_;
};

Found<manager::Node> find_node(const manager::ReadTx& tx, const std::string& ref);
Found<manager::Network> find_network(const manager::ReadTx& tx, const std::string& ref);
Found<manager::Service> find_service(const manager::ReadTx& tx, const std::string& ref);
Found<manager::Config> find_config(const manager::ReadTx& tx, const std::string& ref);

}  // namespace shoal::manager
