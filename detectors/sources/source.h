// Live sources: where bytes come from while `sevwatch run` is running (files
// followed as they grow, stdin, syslog over UDP/TCP, HTTP POST, Kafka).
//
// A source runs on an Asio executor (one thread drives every source, the
// decoders, the rules and the store, so nothing here locks). It frames its
// bytes into lines, hands each line with its position to a decoder of its own
// per stream (StreamDecoder), and reports what it cannot use as a Reject.
//
// Delivery: the pipeline periodically commits what it has processed. After
// each commit it asks every source for its checkpoints (collect_checkpoints,
// persisted in the same store, strictly after the data) and then tells it the
// data is durable (on_durable: answer HTTP requests, commit Kafka offsets).
// Everything handed to the sink before the commit is covered by it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/access_event.h"
#include "detectors/decoder.h"
#include "detectors/sources/checkpoint_store.h"

namespace sevwatch::detectors::sources {

// Transport-level reasons (the decoders' reasons are in detectors::weird).
namespace drop {
inline constexpr std::string_view kMalformedSyslog = "malformed_syslog";
inline constexpr std::string_view kOversizeDatagram = "oversize_datagram";
inline constexpr std::string_view kOversizeFrame = "oversize_frame";
inline constexpr std::string_view kBadFrame = "bad_frame";
inline constexpr std::string_view kTruncatedFrame = "truncated_frame";
inline constexpr std::string_view kReadError = "read_error";
}  // namespace drop

// A line (or datagram, or message) a source or decoder could not use.
struct Reject {
  std::string source;  // the source's name
  SourcePos pos;
  std::string reason;  // detectors::weird::k… or drop::k…
  std::string detail;
  std::string raw;  // the offending input (callers truncate it for storage)
};

// Where sources deliver: implemented by the pipeline.
class IngestSink {
 public:
  virtual ~IngestSink() = default;
  virtual void on_event(AccessEvent&& event) = 0;
  virtual void on_reject(Reject&& reject) = 0;
};

using LogFn = std::function<void(std::string_view level, std::string_view message)>;

// What every source is built with.
struct SourceContext {
  boost::asio::any_io_executor executor;
  const DecoderRegistry* registry = nullptr;
  DecoderOptions decoder_options;
  IngestSink* sink = nullptr;
  CheckpointStore* checkpoints = nullptr;  // may be null: start from scratch
  LogFn log;
  // Commits everything processed so far, synchronously (used by the Kafka
  // source before it gives partitions away in a rebalance).
  std::function<void()> commit_now;
};

// A source's settings from the run config: scalars and lists by key.
struct SourceSpec {
  std::string name;
  std::string type;    // file, syslog_udp, syslog_tcp, http, kafka
  std::string format;  // decoder name
  std::map<std::string, std::vector<std::string>> params;

  // The single value of `key`, or `fallback`.
  std::string get(const std::string& key, const std::string& fallback = "") const;
  const std::vector<std::string>& list(const std::string& key) const;
  // Throws std::invalid_argument naming the source and key on a bad number.
  std::uint64_t get_u64(const std::string& key, std::uint64_t fallback) const;
};

class Source {
 public:
  virtual ~Source() = default;
  virtual const std::string& name() const = 0;
  // Begins I/O on the context's executor. Throws std::runtime_error (e.g. a
  // port in use) with a one-line reason.
  virtual void start() = 0;
  // Stops taking input (closes listeners, cancels timers). Everything already
  // handed to the sink stays covered by the next commit.
  virtual void stop() = 0;
  // The positions reached so far, to persist after the data is committed.
  virtual void collect_checkpoints(std::vector<Checkpoint>& out) { (void)out; }
  // Everything handed to the sink before this call is durably stored.
  virtual void on_durable() {}
  // Whether the source has reached the end of finite input (stdin closed).
  virtual bool finished() const { return false; }
};

using SourceFactory = std::function<std::unique_ptr<Source>(const SourceSpec&, SourceContext&)>;

class SourceRegistry {
 public:
  void add(std::string type, SourceFactory factory);
  // Throws std::invalid_argument for an unknown type (naming the known ones).
  std::unique_ptr<Source> make(const SourceSpec& spec, SourceContext& context) const;
  std::vector<std::string> types() const;

 private:
  std::map<std::string, SourceFactory> factories_;
};

// The one place every built-in source type is listed.
void register_builtin_sources(SourceRegistry& registry);

}  // namespace sevwatch::detectors::sources
