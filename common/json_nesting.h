// How deeply JSON text nests, measured before parsing it: nlohmann::json parses recursively,
// so a document from the network or a file ("[[[[..." a million deep) must be refused by
// depth first. Every decoder of JSON bytes from outside asks this.
#pragma once

#include <string_view>

namespace shoal {

// The deepest [ or { nesting of JSON text, strings (and their escapes) skipped. Not a
// validator: malformed text gets a number too, and the parser refuses it after.
int json_nesting(std::string_view text);

}  // namespace shoal
