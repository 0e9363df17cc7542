// decoder_bench: how close a registered decoder comes to the physical limit.
//
//   decoder_bench FILE FORMAT           measure FILE as FORMAT
//   decoder_bench --generate OUT N DIR  write the demo (N ordinary events) into
//                                       DIR and concatenate its hourly Ranger
//                                       logs into OUT
//
// The file is read whole into memory first, so the figures are CPU only. Two
// passes, alternating, each best of 3:
//   limit    a simdjson On-Demand pass that reads every field of every line:
//            keys unescaped, strings unescaped, numbers parsed, recursively
//            (JSON formats only; "n/a" for line formats such as pgaudit);
//   decoder  the registered decoder producing complete AccessEvents into a
//            sink that drops them.
// Output is human text followed by `key=value` lines for scripts.
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "app/demo_generator.h"
#include "detectors/decoder.h"

namespace {

namespace od = simdjson::ondemand;
using sevwatch::detectors::AccessEvent;
using sevwatch::detectors::Decoder;
using sevwatch::detectors::DecoderOptions;
using sevwatch::detectors::DecoderRegistry;
using sevwatch::detectors::EventSink;
using sevwatch::detectors::SourcePos;
using sevwatch::detectors::Weird;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The input, with simdjson's padding after the last byte.
struct Input {
  std::string bytes;  // size() = file size + SIMDJSON_PADDING
  std::size_t size = 0;
  std::vector<std::string_view> lines;  // non-blank lines, without '\n' / '\r'
};

bool read_input(const std::string& path, Input& in) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  f.seekg(0, std::ios::end);
  in.size = static_cast<std::size_t>(f.tellg());
  f.seekg(0);
  in.bytes.assign(in.size + simdjson::SIMDJSON_PADDING, ' ');
  f.read(in.bytes.data(), static_cast<std::streamsize>(in.size));
  const std::string_view all(in.bytes.data(), in.size);
  std::size_t pos = 0;
  while (pos < all.size()) {
    std::size_t nl = all.find('\n', pos);
    if (nl == std::string_view::npos) nl = all.size();
    std::string_view line = all.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") != std::string_view::npos) in.lines.push_back(line);
    pos = nl + 1;
  }
  return true;
}

// Reads every value below `v`; adds what it saw to `sum` so nothing is elided.
simdjson::error_code walk(od::value v, std::uint64_t& sum) {
  od::json_type type;
  if (auto e = v.type().get(type)) return e;
  switch (type) {
    case od::json_type::object: {
      od::object obj;
      if (auto e = v.get_object().get(obj)) return e;
      for (auto field : obj) {
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return e;
        sum += key.size();
        od::value child;
        if (auto e = field.value().get(child)) return e;
        if (auto e = walk(child, sum)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array arr;
      if (auto e = v.get_array().get(arr)) return e;
      for (auto element : arr) {
        od::value child;
        if (auto e = element.get(child)) return e;
        if (auto e = walk(child, sum)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return e;
      sum += s.size();
      return simdjson::SUCCESS;
    }
    case od::json_type::number: {
      od::number n;
      if (auto e = v.get_number().get(n)) return e;
      sum += n.is_double() ? static_cast<std::uint64_t>(n.get_double()) : n.get_uint64();
      return simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
      bool b = false;
      if (auto e = v.get_bool().get(b)) return e;
      sum += b ? 1 : 0;
      return simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto e = v.is_null().get(is_null)) return e;
      sum += is_null ? 1 : 0;
      return simdjson::SUCCESS;
    }
    default:
      return simdjson::INCORRECT_TYPE;
  }
}

struct LimitResult {
  std::uint64_t docs = 0;
  std::uint64_t errors = 0;
  std::uint64_t sum = 0;
};

LimitResult limit_pass(const Input& in) {
  od::parser parser;
  LimitResult r;
  const char* end = in.bytes.data() + in.bytes.size();
  for (std::string_view line : in.lines) {
    // The bytes after the line (the next lines, then the padding) are readable.
    const simdjson::padded_string_view view(line.data(), line.size(),
                                            static_cast<std::size_t>(end - line.data()));
    od::document doc;
    if (parser.iterate(view).get(doc)) {
      ++r.errors;
      continue;
    }
    od::value root;
    if (doc.get_value().get(root) || walk(root, r.sum)) {
      ++r.errors;
      continue;
    }
    ++r.docs;
  }
  return r;
}

// Drops events, but touches them so the work is not optimised away.
struct DropSink : EventSink {
  std::uint64_t events = 0;
  std::uint64_t weirds = 0;
  std::uint64_t sum = 0;
  void on_event(AccessEvent&& e) override {
    ++events;
    sum += e.principal.size() + e.object.name.size() + static_cast<std::uint64_t>(e.time_ms);
  }
  void on_weird(Weird&&) override { ++weirds; }
};

DropSink decoder_pass(const Input& in, const std::string& file,
                      const sevwatch::detectors::DecoderInfo& info) {
  DecoderOptions options;
  std::unique_ptr<Decoder> decoder = info.make(options);
  DropSink sink;
  SourcePos pos;
  pos.file = file;
  const char* base = in.bytes.data();
  std::uint64_t n = 0;
  for (std::string_view line : in.lines) {
    pos.line = ++n;
    pos.offset = static_cast<std::uint64_t>(line.data() - base);
    // As `scan` does: the input holds SIMDJSON_PADDING bytes past its end, so
    // every line has the padding a decoder may parse in place with.
    decoder->decode_padded_line(line, pos, sink);
  }
  decoder->finish(sink);
  return sink;
}

int generate(const std::string& out_path, std::uint64_t events, const std::string& dir) {
  sevwatch::app::DemoOptions options;
  options.ordinary_events = events;
  const double t0 = now_s();
  const auto files = sevwatch::app::write_demo(dir, options);
  std::vector<std::filesystem::path> logs;
  for (const auto& e : std::filesystem::directory_iterator(files.logs)) {
    if (e.is_regular_file()) logs.push_back(e.path());
  }
  std::sort(logs.begin(), logs.end());
  std::ofstream out(out_path, std::ios::binary);
  for (const auto& p : logs) {
    std::ifstream f(p, std::ios::binary);
    out << f.rdbuf();
  }
  out.close();
  if (!out) {
    std::cerr << "decoder_bench: cannot write " << out_path << "\n";
    return 1;
  }
  std::printf("generated %llu lines from %zu hourly logs in %.1f s: %s (context %s)\n",
              static_cast<unsigned long long>(files.events), logs.size(), now_s() - t0,
              out_path.c_str(), files.context.string().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 4 && args[0] == "--generate") {
    return generate(args[1], std::stoull(args[2]), args[3]);
  }
  if (args.size() != 2) {
    std::cerr << "usage: decoder_bench FILE FORMAT\n"
                 "       decoder_bench --generate OUT_FILE EVENTS DEMO_DIR\n";
    return 2;
  }
  const std::string& path = args[0];
  const std::string& format = args[1];
  DecoderRegistry registry;
  sevwatch::detectors::register_builtin_decoders(registry);
  const auto* info = registry.find(format);
  if (info == nullptr) {
    std::cerr << "decoder_bench: unknown format " << format << "\n";
    return 2;
  }
  Input in;
  if (!read_input(path, in)) {
    std::cerr << "decoder_bench: cannot read " << path << "\n";
    return 1;
  }
  const bool json = format != "pgaudit" && format != "pgaudit_csv" && format != "hive_hms" &&
                    format != "hive_hs2";
  const double mb = static_cast<double>(in.size) / 1e6;
  const auto lines = static_cast<double>(in.lines.size());
  constexpr int kRuns = 3;

  // The two passes alternate, so a change in the machine's load during the
  // run touches both alike (the machine is shared).
  double limit_s = json ? 1e300 : 0;
  LimitResult limit;
  double decoder_s = 1e300;
  DropSink sink;
  for (int i = 0; i < kRuns; ++i) {
    if (json) {
      const double t0 = now_s();
      limit = limit_pass(in);
      limit_s = std::min(limit_s, now_s() - t0);
    }
    const double t0 = now_s();
    sink = decoder_pass(in, path, *info);
    decoder_s = std::min(decoder_s, now_s() - t0);
  }

  std::printf("%s  %s: %.1f MB, %.0f lines (best of %d, in memory)\n", format.c_str(), path.c_str(),
              mb, lines, kRuns);
  if (json) {
    std::printf(
        "  limit    simdjson On-Demand, every field: %8.1f MB/s %10.0f lines/s  (%llu "
        "errors, sum %llu)\n",
        mb / limit_s, lines / limit_s, static_cast<unsigned long long>(limit.errors),
        static_cast<unsigned long long>(limit.sum % 1000));
  } else {
    std::printf("  limit    n/a (not a JSON format)\n");
  }
  std::printf(
      "  decoder  %-31s %8.1f MB/s %10.0f lines/s %10.0f events/s  (%llu events, %llu "
      "weird)\n",
      format.c_str(), mb / decoder_s, lines / decoder_s,
      static_cast<double>(sink.events) / decoder_s, static_cast<unsigned long long>(sink.events),
      static_cast<unsigned long long>(sink.weirds));
  if (json) std::printf("  ratio    decoder/limit (bytes/s): %.2f\n", limit_s / decoder_s);

  std::printf("format=%s\nbytes=%zu\nlines=%zu\n", format.c_str(), in.size, in.lines.size());
  if (json) {
    std::printf("limit_seconds=%.6f\nlimit_mb_s=%.1f\nlimit_lines_s=%.0f\nlimit_errors=%llu\n",
                limit_s, mb / limit_s, lines / limit_s,
                static_cast<unsigned long long>(limit.errors));
  }
  std::printf(
      "decoder_seconds=%.6f\ndecoder_mb_s=%.1f\ndecoder_lines_s=%.0f\ndecoder_events=%llu\n"
      "decoder_events_s=%.0f\ndecoder_weird=%llu\n",
      decoder_s, mb / decoder_s, lines / decoder_s, static_cast<unsigned long long>(sink.events),
      static_cast<double>(sink.events) / decoder_s, static_cast<unsigned long long>(sink.weirds));
  if (json) std::printf("ratio=%.3f\n", limit_s / decoder_s);
  return 0;
}
