// libFuzzer harness for one decoder, picked at compile time by
// SEVWATCH_FUZZ_DECODER (a registry name). The input is split into lines and
// fed like read_input does; the first byte varies the limits so the
// line-length and depth caps are reached too. Any crash, ASan report or
// escaping exception is a bug: decoders must report weirds instead.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "detectors/decoder.h"

#ifndef SEVWATCH_FUZZ_DECODER
#error "define SEVWATCH_FUZZ_DECODER to a decoder name"
#endif
#ifndef SEVWATCH_FUZZ_MAPPING
#define SEVWATCH_FUZZ_MAPPING ""
#endif

namespace {

using namespace sevwatch::detectors;

struct NullSink : EventSink {
  std::size_t events = 0, weirds = 0;
  void on_event(AccessEvent&& e) override { events += e.format.empty() ? 0 : 1; }
  void on_weird(Weird&& w) override { weirds += w.reason.empty() ? 0 : 1; }
};

const DecoderInfo& info() {
  static DecoderRegistry registry = [] {
    DecoderRegistry r;
    register_builtin_decoders(r);
    return r;
  }();
  static const DecoderInfo* found = registry.find(SEVWATCH_FUZZ_DECODER);
  if (found == nullptr) __builtin_trap();
  return *found;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  DecoderOptions opts;
  opts.max_line_bytes = 64 + (data[0] & 0x0f) * 256;
  opts.max_depth = 4 + (data[0] >> 4) * 4;
  opts.mapping_file = SEVWATCH_FUZZ_MAPPING;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  // The sniffer sees the same lines read_input would give it.
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto nl = text.find('\n', start);
    const auto end = nl == std::string_view::npos ? text.size() : nl;
    lines.push_back(text.substr(start, end - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  if (info().sniff) (void)info().sniff(lines);
  auto decoder = info().make(opts);
  NullSink sink;
  SourcePos pos;
  pos.file = "fuzz";
  for (std::string_view line : lines) {
    ++pos.line;
    if (line.size() > opts.max_line_bytes) continue;  // read_input rejects these first
    decoder->decode_line(line, pos, sink);
  }
  decoder->finish(sink);
  return 0;
}
