// Keeps the first failure of a sequence that goes on after one (one namespace or object
// refusing a change does not keep it from the others).
#pragma once

#include <utility>

#include "common/result.h"

namespace shoal {

class FirstError {
 public:
  void operator()(Status status) {
    if (status_.ok() && !status.ok())
      status_ = std::move(status);
  }
  Status take() { return std::move(status_); }

 private:
  Status status_;
};

}  // namespace shoal
