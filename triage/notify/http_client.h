// One HTTP(S) POST with a deadline, over Boost.Beast. HTTPS verifies the peer
// against the system CAs (or `ca_file`) and the host name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sevwatch::triage::notify {

struct Url {
  bool https = false;
  std::string host;
  std::string port;
  std::string target;  // path and query, "/" at least
};
// nullopt when not http:// or https://HOST[:PORT][/PATH].
std::optional<Url> parse_url(const std::string& url);

struct HttpResult {
  int status = 0;    // 0: no response (network error or timeout; see `error`)
  std::string body;  // first 64 KiB
  std::optional<std::int64_t> retry_after_ms;  // from Retry-After (seconds or HTTP date)
  std::string error;  // network error text (never contains the URL or body)
};

using Headers = std::vector<std::pair<std::string, std::string>>;

HttpResult http_post(const Url& url, const Headers& headers, const std::string& body,
                     std::int64_t timeout_ms, const std::string& ca_file = "");

}  // namespace sevwatch::triage::notify
