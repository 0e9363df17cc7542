// HMAC-SHA256 (OpenSSL), for the generic webhook's signature header.
#pragma once

#include <string>
#include <string_view>

namespace sevwatch::triage::notify {

// Lower-case hex of HMAC-SHA256(key, data).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// The header value sevwatch sends: "sha256=" + hex.
inline std::string webhook_signature(std::string_view secret, std::string_view body) {
  return "sha256=" + hmac_sha256_hex(secret, body);
}

inline constexpr const char* kSignatureHeader = "X-Sevwatch-Signature";

}  // namespace sevwatch::triage::notify
