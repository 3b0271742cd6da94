// A node's name: what `--node-name` or the host's name says, sent at join and with each
// session, shown in `node ls` and used to name the node in commands (`node promote h3`). It
// must be a host name as RFC 1123 defines one, so that it prints and resolves as one: dot-
// separated labels of letters, digits and '-', a label 1-63 bytes not beginning or ending
// with '-', the whole at most 253 bytes.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/result.h"

namespace shoal {

inline constexpr size_t kMaxHostnameBytes = 253;
inline constexpr size_t kMaxHostnameLabelBytes = 63;

// Ok, or an error naming what is wrong (the name itself escaped and cut, so that the error is
// safe to print): empty, too long, a control character, a character outside the label
// alphabet, an empty or too long label, a label beginning or ending with '-'.
Status validate_hostname(std::string_view name);

}  // namespace shoal
