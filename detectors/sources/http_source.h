// HTTP ingest (Boost.Beast): POST NDJSON to `path` with
// `Authorization: Bearer TOKEN`. Binds 127.0.0.1 unless told otherwise.
//
// Guarantee: a 200 means every line of the body was decoded and the events
// are committed in the store (the answer waits for the next commit, at most
// one flush interval). Anything else (401 no or wrong token, 413 body over
// the limit, 404/405, a dropped connection, sevwatch stopping) means nothing
// is promised and the client should retry; duplicates from a retry are
// harmless (incidents dedup). The 200 body is
// {"accepted": LINES, "events": N, "rejected": N}; rejected lines are in the
// dead-letter file.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "detectors/sources/source.h"

namespace sevwatch::detectors::sources {

struct HttpOptions {
  std::string name;
  std::string format;
  std::string listen = "127.0.0.1:8088";
  std::string path = "/ingest";
  std::string token;  // from token_env / token_file / token; never logged
  std::size_t max_body_bytes = 16 << 20;
  std::size_t max_connections = 64;

  // Reads the token from `token_env` (an environment variable's name) or
  // `token_file`; a literal `token` is accepted too. Throws
  // std::invalid_argument when there is none (the endpoint needs one).
  static HttpOptions from(const SourceSpec& spec);
};

// Compares in time independent of where the strings differ.
bool constant_time_equal(std::string_view a, std::string_view b);

class HttpSource final : public Source {
 public:
  HttpSource(HttpOptions options, SourceContext& context);
  ~HttpSource() override;
  const std::string& name() const override { return options_.name; }
  void start() override;
  void stop() override;
  void on_durable() override;
  std::uint16_t local_port() const;

  struct Counters {
    std::uint64_t requests = 0;
    std::uint64_t accepted = 0;            // 200s
    std::map<int, std::uint64_t> refused;  // status -> count
  };
  const Counters& counters() const { return counters_; }

 private:
  class Session;
  void accept();

  HttpOptions options_;
  SourceContext& context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::map<std::uint64_t, std::shared_ptr<Session>> sessions_;
  std::vector<std::weak_ptr<Session>> waiting_;  // answered after the next commit
  std::uint64_t next_id_ = 0;
  Counters counters_;
  bool stopped_ = true;
  friend class Session;
};

}  // namespace sevwatch::detectors::sources
