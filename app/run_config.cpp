#include "app/run_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <regex>
#include <set>

#include "detectors/decoder.h"
#include "rules/rule_file.h"

namespace sevwatch::app {

namespace {

namespace fs = std::filesystem;

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string resolve(const fs::path& base, const std::string& p) {
  if (p.empty() || p == "-" || fs::path(p).is_absolute()) return p;
  return (base / p).lexically_normal().string();
}

std::string scalar(const YAML::Node& n, const std::string& key) {
  if (!n.IsScalar()) throw ConfigError(fmt::format("'{}' must be a single value", key));
  return n.as<std::string>();
}

std::uint64_t number(const YAML::Node& n, const std::string& key, std::uint64_t min,
                     std::uint64_t max) {
  const std::string s = scalar(n, key);
  std::uint64_t v = 0;
  try {
    std::size_t used = 0;
    v = std::stoull(s, &used);
    if (used != s.size()) throw std::invalid_argument(s);
  } catch (const std::exception&) {
    throw ConfigError(fmt::format("'{}' must be a number, not '{}'", key, s));
  }
  if (v < min || v > max) {
    throw ConfigError(fmt::format("'{}' must be between {} and {}", key, min, max));
  }
  return v;
}

std::vector<std::string> strings(const YAML::Node& n, const std::string& key) {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.as<std::string>());
  } else if (n.IsSequence()) {
    for (const auto& e : n) out.push_back(scalar(e, key));
  } else {
    throw ConfigError(fmt::format("'{}' must be a value or a list", key));
  }
  return out;
}

// `auto` (detected from the content, per file or per record) or a decoder name.
void check_format(const std::string& format, const std::string& where) {
  if (format == "auto") return;
  detectors::DecoderRegistry registry;
  detectors::register_builtin_decoders(registry);
  if (registry.find(format) != nullptr) return;
  std::string known = "auto";
  for (const auto& n : registry.names()) known += ", " + n;
  throw ConfigError(fmt::format("{}: unknown format '{}' (known: {})", where, format, known));
}

detectors::sources::SourceSpec source_spec(const YAML::Node& n, std::size_t index,
                                           const fs::path& base, bool& enabled) {
  if (!n.IsMap()) throw ConfigError(fmt::format("sources[{}] must be a mapping", index));
  detectors::sources::SourceSpec s;
  enabled = true;
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    const std::string where = fmt::format("sources[{}].{}", index, key);
    if (key == "name") {
      s.name = scalar(kv.second, where);
    } else if (key == "type") {
      s.type = scalar(kv.second, where);
    } else if (key == "format") {
      s.format = scalar(kv.second, where);
    } else if (key == "enabled") {
      enabled = kv.second.as<bool>();
    } else if (key == "properties") {
      if (!kv.second.IsMap()) throw ConfigError(where + " must be a mapping");
      for (const auto& p : kv.second) {
        s.params["properties"].push_back(p.first.as<std::string>() + "=" + scalar(p.second, where));
      }
    } else {
      auto values = strings(kv.second, where);
      if (key == "paths" || key == "path" || key == "token_file") {
        for (auto& v : values) v = resolve(base, v);
      }
      s.params[key] = std::move(values);
    }
  }
  if (s.name.empty()) s.name = fmt::format("{}-{}", s.type.empty() ? "source" : s.type, index);
  if (s.type.empty()) throw ConfigError(fmt::format("sources[{}] ({}) has no type", index, s.name));
  if (s.format.empty()) {
    throw ConfigError(
        fmt::format("sources[{}] ({}) has no format (a decoder name, or auto)", index, s.name));
  }
  check_format(s.format, fmt::format("sources[{}].format", index));
  return s;
}

void parse(const YAML::Node& root, const fs::path& base, RunConfig& c) {
  if (!root.IsMap()) throw ConfigError("the file must be a YAML mapping");
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "context") {
      c.context_path = resolve(base, scalar(v, key));
    } else if (key == "rules") {
      for (auto& r : strings(v, key)) c.rule_paths.push_back(resolve(base, r));
    } else if (key == "rubric") {
      c.rubric_path = resolve(base, scalar(v, key));
    } else if (key == "sigma_mapping") {
      c.sigma_mapping_path = resolve(base, scalar(v, key));
    } else if (key == "store") {
      c.store_url = scalar(v, key);
      const std::string prefix = "sqlite:";
      if (c.store_url.rfind(prefix, 0) == 0 && c.store_url.rfind("sqlite://", 0) != 0) {
        c.store_url = prefix + resolve(base, c.store_url.substr(prefix.size()));
      }
    } else if (key == "dead_letter") {
      if (v.IsMap()) {
        for (const auto& d : v) {
          const std::string k = d.first.as<std::string>();
          if (k == "path") {
            c.dead_letter_path = resolve(base, scalar(d.second, "dead_letter.path"));
          } else if (k == "max_raw_bytes") {
            c.dead_letter_max_raw_bytes =
                number(d.second, "dead_letter.max_raw_bytes", 16, 1 << 20);
          } else {
            throw ConfigError(fmt::format("unknown key 'dead_letter.{}'", k));
          }
        }
      } else {
        c.dead_letter_path = resolve(base, scalar(v, key));
      }
    } else if (key == "flush_interval_ms") {
      c.flush_interval_ms = number(v, key, 10, 600000);
    } else if (key == "assumed_utc_offset_minutes") {
      c.assumed_utc_offset_minutes = v.as<int>();
    } else if (key == "limits") {
      if (!v.IsMap()) throw ConfigError("'limits' must be a mapping");
      for (const auto& l : v) {
        const std::string k = l.first.as<std::string>();
        if (k == "max_line_bytes") {
          c.max_line_bytes = number(l.second, "limits.max_line_bytes", 64, 256ull << 20);
        } else if (k == "max_depth") {
          c.max_depth = number(l.second, "limits.max_depth", 2, 1024);
        } else {
          throw ConfigError(fmt::format("unknown key 'limits.{}'", k));
        }
      }
    } else if (key == "engine_state") {
      if (!v.IsMap()) throw ConfigError("'engine_state' must be a mapping");
      for (const auto& e : v) {
        const std::string k = e.first.as<std::string>();
        if (k == "name") {
          c.state_name = scalar(e.second, "engine_state.name");
          static const std::regex name_re("[A-Za-z0-9_.-]{1,64}");
          if (!std::regex_match(c.state_name, name_re)) {
            throw ConfigError(
                "'engine_state.name' must be 1 to 64 letters, digits, '_', '.' or '-'");
          }
        } else if (k == "compact_every") {
          c.compact_every = number(e.second, "engine_state.compact_every", 0, 1'000'000'000);
        } else if (k == "compact_lateness") {
          const std::string text = scalar(e.second, "engine_state.compact_lateness");
          const auto ms = rules::parse_duration_ms(text);
          if (!ms) {
            throw ConfigError(fmt::format(
                "'engine_state.compact_lateness' must be a duration (90s, 15m, 1h, 7d), not '{}'",
                text));
          }
          c.compact_lateness_ms = *ms;
        } else {
          throw ConfigError(fmt::format("unknown key 'engine_state.{}'", k));
        }
      }
    } else if (key == "rules_reload") {
      const std::string mode = scalar(v, key);
      if (mode == "signal") {
        c.rules_reload = RulesReload::signal;
      } else if (mode == "watch") {
        c.rules_reload = RulesReload::watch;
      } else {
        throw ConfigError(fmt::format("'rules_reload' must be signal or watch, not '{}'", mode));
      }
    } else if (key == "sources") {
      if (!v.IsSequence()) throw ConfigError("'sources' must be a list");
      std::set<std::string> names;
      for (std::size_t i = 0; i < v.size(); ++i) {
        bool enabled = true;
        auto s = source_spec(v[i], i, base, enabled);
        if (!names.insert(s.name).second) {
          throw ConfigError(fmt::format("two sources are named '{}'", s.name));
        }
        if (enabled) c.sources.push_back(std::move(s));
      }
    } else {
      throw ConfigError(fmt::format("unknown key '{}'", key));
    }
  }
  if (c.sources.empty()) throw ConfigError("no (enabled) sources");
}

}  // namespace

bool load_run_config(const std::string& path, RunConfig& out, std::string& error) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    error = fmt::format("{}: no such file", path);
    return false;
  }
  const fs::path base = fs::absolute(path, ec).parent_path();
  try {
    RunConfig c;
    parse(YAML::LoadFile(path), base, c);
    out = std::move(c);
    return true;
  } catch (const YAML::Exception& e) {
    error = fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg);
  } catch (const std::exception& e) {
    error = fmt::format("{}: {}", path, e.what());
  }
  return false;
}

std::string redact_url(const std::string& url) {
  // scheme://user:password@host -> scheme://user:***@host
  static const std::regex userinfo(R"(^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]*):[^@/]*@)");
  std::string out = std::regex_replace(url, userinfo, "$1:***@");
  // password=... in a conninfo or query string
  static const std::regex kv(R"((password|passwd|pwd)=[^&\s]*)", std::regex::icase);
  return std::regex_replace(out, kv, "$1=***");
}

}  // namespace sevwatch::app
