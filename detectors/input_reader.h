// Reads one input (a file path, or "-" for stdin) line by line into a decoder.
//
// Framing only: splits on '\n' (dropping a trailing '\r'), enforces the line
// length cap without buffering the whole oversized line, and picks the decoder
// (`format` "auto" sniffs the first non-empty lines). Gzip input is detected by
// its magic bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

struct InputResult {
  bool ok = false;
  std::string error;   // when !ok: one line, naming the path
  std::string format;  // the decoder used
  std::uint64_t lines = 0;
  std::uint64_t bytes = 0;
};

InputResult read_input(const std::string& path, std::string_view format,
                       const DecoderRegistry& registry, const DecoderOptions& options,
                       EventSink& sink);

}  // namespace sevwatch::detectors
