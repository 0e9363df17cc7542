// SourceSpec accessors and the list of built-in source types.
#include <fmt/format.h>

#include <charconv>
#include <stdexcept>

#include "detectors/sources/file_source.h"
#include "detectors/sources/http_source.h"
#include "detectors/sources/kafka_source.h"
#include "detectors/sources/source.h"
#include "detectors/sources/syslog_source.h"

namespace sevwatch::detectors::sources {

std::string SourceSpec::get(const std::string& key, const std::string& fallback) const {
  auto it = params.find(key);
  if (it == params.end() || it->second.empty()) return fallback;
  return it->second.front();
}

const std::vector<std::string>& SourceSpec::list(const std::string& key) const {
  static const std::vector<std::string> empty;
  auto it = params.find(key);
  return it == params.end() ? empty : it->second;
}

std::uint64_t SourceSpec::get_u64(const std::string& key, std::uint64_t fallback) const {
  const std::string v = get(key);
  if (v.empty()) return fallback;
  std::uint64_t out = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size()) {
    throw std::invalid_argument(
        fmt::format("source '{}': {} must be a non-negative number, not '{}'", name, key, v));
  }
  return out;
}

void SourceRegistry::add(std::string type, SourceFactory factory) {
  factories_[std::move(type)] = std::move(factory);
}

std::unique_ptr<Source> SourceRegistry::make(const SourceSpec& spec, SourceContext& context) const {
  auto it = factories_.find(spec.type);
  if (it == factories_.end()) {
    std::string known;
    for (const auto& t : types()) known += (known.empty() ? "" : ", ") + t;
    throw std::invalid_argument(
        fmt::format("source '{}': unknown type '{}' (known: {})", spec.name, spec.type, known));
  }
  return it->second(spec, context);
}

std::vector<std::string> SourceRegistry::types() const {
  std::vector<std::string> out;
  for (const auto& [t, f] : factories_) out.push_back(t);
  return out;
}

void register_builtin_sources(SourceRegistry& registry) {
  registry.add("file", [](const SourceSpec& s, SourceContext& c) {
    return std::make_unique<FileSource>(FileSourceOptions::from(s), c);
  });
  registry.add("syslog_udp", [](const SourceSpec& s, SourceContext& c) {
    return std::make_unique<SyslogUdpSource>(SyslogOptions::from(s), c);
  });
  registry.add("syslog_tcp", [](const SourceSpec& s, SourceContext& c) {
    return std::make_unique<SyslogTcpSource>(SyslogOptions::from(s), c);
  });
  registry.add("http", [](const SourceSpec& s, SourceContext& c) {
    return std::make_unique<HttpSource>(HttpOptions::from(s), c);
  });
  registry.add("kafka", [](const SourceSpec& s, SourceContext& c) {
    return std::make_unique<KafkaSource>(KafkaOptions::from(s), c);
  });
}

}  // namespace sevwatch::detectors::sources
