// Text that came from another machine (a node's name, a task's message, an error naming either),
// made safe to print on a terminal or in a log line. A raw escape sequence in `node ls` can
// retitle the operator's terminal, clear it or forge lines; a newline in a log line forges a
// log record. So every control character, every byte that is not UTF-8 and the invisible
// reordering marks are written as escapes, and the text can be cut to a length.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace shoal {

struct PrintableOptions {
  // Newlines kept as they are (multi-line messages of our own); every other control escaped.
  bool keep_newlines = false;
  // The escaped text is cut at this many bytes (at a character boundary) and ends with
  // "...(N bytes)" naming the original length. 0: no limit.
  size_t max_bytes = 0;
};

// C0 controls and DEL as \xNN (tab, newline and carriage return as \t, \n, \r), C1 controls
// (U+0080-U+009F) and the bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069)
// as \uNNNN, bytes that are not UTF-8 as \xNN. Everything else, backslashes included, is
// kept, so ordinary text prints unchanged.
std::string printable(std::string_view text, PrintableOptions options = {});

// For log lines: printable() cut at 256 bytes.
std::string printable_for_log(std::string_view text);

}  // namespace shoal
