#include "common/result.h"

#include <cstring>

namespace shoal {

std::string Error::message() const {
  std::string text = op;
  if (!object.empty()) {
    text += " " + object;
  }
  if (errnum != 0) {
    text += ": ";
    text += std::strerror(errnum);
  }
  if (!detail.empty()) {
    text += errnum != 0 ? " (" + detail + ")" : ": " + detail;
  }
  return text;
}

Error sys_error(std::string op, std::string object, int errnum, std::string detail) {
  return Error{std::move(op), std::move(object), errnum, std::move(detail)};
}

Error invalid_argument(std::string object, std::string reason) {
  return Error{"invalid", std::move(object), 0, std::move(reason)};
}

}  // namespace shoal
