// LZW as Go's compress/lzw writes it with LSB bit order and 8-bit literals (GIF style), the only
// compression memberlist defines (compress message, Algo 0).
//
// Codes 0-255 are literals, 256 clears the table, 257 ends the stream, and new table entries
// start at 258. Codes are 9 bits wide and grow by one bit whenever the next free code reaches
// 2^width, up to 12 bits; at that point the table is full and no new entries are made until the
// writer sends a clear code. Bits are packed least significant first.
#pragma once

#include "common/result.h"
#include "gossip/memberlist/bytes.h"

namespace shoal::gossip {

// Decodes a complete stream (one that ends with the EOF code). Output larger than max_output is
// an error, so a tiny input cannot expand without bound.
Result<Bytes> lzw_decompress(ByteView input, size_t max_output);

// Encodes like Go's writer: a leading clear code, clear-and-reset when the table fills, then EOF.
Bytes lzw_compress(ByteView input);

}  // namespace shoal::gossip
