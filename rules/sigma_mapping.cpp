#include "rules/sigma_mapping.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "detectors/decoder.h"
#include "rules/rule_file.h"
#include "rules/sigma_common.h"
#include "rules/sigma_default_mapping.h"

namespace sevwatch::rules {
namespace {

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool valid_target(std::string_view t) {
  return find_field(t) != nullptr || (t.starts_with("raw.") && t.size() > 4);
}

class MappingReader {
 public:
  MappingReader(sigma::Source src, Diagnostics& diags) : src_(std::move(src)), diags_(diags) {}

  void read(const YAML::Node& root, SigmaMapping& m) {
    if (!root.IsMap()) {
      error("E_TYPE", root, "a Sigma mapping is a mapping with 'logsources:'");
      return;
    }
    for (const auto& kv : root) {
      const std::string key = kv.first.Scalar();
      if (key == "version") {
        if (!kv.second.IsScalar() || kv.second.Scalar() != "1") {
          error("E_SIGMA_MAPPING", kv.second, "only version 1 is known");
        }
      } else if (key == "defaults") {
        read_defaults(kv.second, m);
      } else if (key == "logsources") {
        if (!kv.second.IsSequence()) {
          error("E_TYPE", kv.second, "'logsources' must be a list");
          continue;
        }
        for (const auto& e : kv.second) read_logsource(e, m);
      } else {
        unknown(kv.first, "the Sigma mapping");
      }
    }
  }

 private:
  void error(const char* code, const YAML::Node& at, std::string msg) {
    diags_.error(code, src_.at(at), std::move(msg));
  }
  void unknown(const YAML::Node& key, std::string_view where) {
    error("E_UNKNOWN_KEY", key, fmt::format("unknown key '{}' in {}", key.Scalar(), where));
  }

  bool strings(const YAML::Node& n, const char* what, std::vector<std::string>& out) {
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return true;
    }
    if (!n.IsSequence()) {
      error("E_TYPE", n, fmt::format("'{}' must be a list", what));
      return false;
    }
    for (const auto& v : n) {
      if (!v.IsScalar()) {
        error("E_TYPE", v, fmt::format("'{}' items must be scalars", what));
        return false;
      }
      out.push_back(v.Scalar());
    }
    return true;
  }

  void read_defaults(const YAML::Node& n, SigmaMapping& m) {
    if (!n.IsMap()) {
      error("E_TYPE", n, "'defaults' must be a mapping");
      return;
    }
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const auto& v = kv.second;
      if (key == "group_by") {
        std::vector<std::string> names;
        if (!strings(v, "group_by", names)) continue;
        m.group_by.clear();
        for (const auto& name : names) {
          const FieldInfo* f = find_field(name);
          if (f == nullptr) {
            error("E_UNKNOWN_FIELD", v, fmt::format("unknown field '{}' in 'group_by'", name));
            continue;
          }
          m.group_by.push_back(f->field);
        }
      } else if (key == "window") {
        const auto ms = v.IsScalar() ? parse_duration_ms(v.Scalar()) : std::nullopt;
        if (!ms || *ms <= 0) {
          error("E_BAD_DURATION", v, "bad duration (e.g. 15m, 1h)");
          continue;
        }
        m.window_ms = *ms;
      } else if (key == "levels") {
        if (!v.IsMap()) {
          error("E_TYPE", v, "'levels' must map Sigma levels to SEV 0..5");
          continue;
        }
        for (const auto& l : v) {
          int sev = -1;
          if (l.second.IsScalar() && l.second.Scalar().size() == 1) {
            sev = l.second.Scalar()[0] - '0';
          }
          if (sev < 0 || sev > 5) {
            error("E_SIGMA_MAPPING", l.second, "a level's SEV is 0..5");
            continue;
          }
          m.level_sev[l.first.Scalar()] = sev;
        }
      } else if (key == "level") {
        if (!v.IsScalar()) {
          error("E_TYPE", v, "'level' must be a scalar");
          continue;
        }
        m.default_level = v.Scalar();
      } else {
        unknown(kv.first, "'defaults'");
      }
    }
    if (!m.level_sev.count(m.default_level)) {
      error("E_SIGMA_MAPPING", n, fmt::format("default level '{}' has no SEV", m.default_level));
    }
  }

  void read_logsource(const YAML::Node& n, SigmaMapping& m) {
    if (!n.IsMap()) {
      error("E_TYPE", n, "each logsource entry is a mapping with 'logsource:'");
      return;
    }
    SigmaLogsourceMap e;
    e.loc = src_.at(n);
    bool has_logsource = false;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const auto& v = kv.second;
      if (key == "logsource") {
        has_logsource = true;
        read_keys(v, e);
      } else if (key == "formats") {
        if (!strings(v, "formats", e.formats)) continue;
        detectors::DecoderRegistry registry;
        detectors::register_builtin_decoders(registry);
        for (std::size_t i = 0; i < e.formats.size(); ++i) {
          if (registry.find(e.formats[i]) == nullptr) {
            error("E_SIGMA_MAPPING", v.IsSequence() ? v[i] : v,
                  fmt::format("unknown format '{}' ({})", e.formats[i],
                              fmt::join(registry.names(), ", ")));
          }
        }
      } else if (key == "keywords") {
        if (!strings(v, "keywords", e.keywords)) continue;
        for (std::size_t i = 0; i < e.keywords.size(); ++i) {
          const FieldInfo* f = find_field(e.keywords[i]);
          if (!valid_target(e.keywords[i]) ||
              (f != nullptr && f->type != FieldType::string && f->type != FieldType::ip)) {
            error("E_SIGMA_MAPPING", v.IsSequence() ? v[i] : v,
                  fmt::format("keywords search string fields; '{}' is not one", e.keywords[i]));
          }
        }
      } else if (key == "fields") {
        read_fields(v, e);
      } else {
        unknown(kv.first, "a logsource entry");
      }
    }
    if (!has_logsource) {
      error("E_MISSING_KEY", n, "a logsource entry needs 'logsource:'");
      return;
    }
    m.logsources.push_back(std::move(e));
  }

  void read_keys(const YAML::Node& v, SigmaLogsourceMap& e) {
    if (!v.IsMap() || v.size() == 0) {
      error("E_TYPE", v, "'logsource' maps category, product and/or service to values");
      return;
    }
    for (const auto& kv : v) {
      const std::string key = kv.first.Scalar();
      if (!kv.second.IsScalar()) {
        error("E_TYPE", kv.second, fmt::format("'{}' must be a scalar", key));
        continue;
      }
      if (key == "category") {
        e.category = kv.second.Scalar();
      } else if (key == "product") {
        e.product = kv.second.Scalar();
      } else if (key == "service") {
        e.service = kv.second.Scalar();
      } else {
        unknown(kv.first, "'logsource' (category, product, service)");
      }
    }
  }

  void read_fields(const YAML::Node& v, SigmaLogsourceMap& e) {
    if (!v.IsMap()) {
      error("E_TYPE", v, "'fields' must map Sigma fields to condition fields");
      return;
    }
    for (const auto& kv : v) {
      const std::string from = kv.first.Scalar();
      std::vector<std::string> to;
      if (!sigma::is_null(kv.second) && !strings(kv.second, "fields", to)) continue;
      bool ok = true;
      for (const auto& t : to) {
        if (!valid_target(t)) {
          error("E_SIGMA_MAPPING", kv.second,
                fmt::format("'{}' maps to '{}', which is neither a condition field nor raw.<path>",
                            from, t));
          ok = false;
        } else if (from.ends_with('*') != t.ends_with('*')) {
          error("E_SIGMA_MAPPING", kv.second,
                fmt::format("a prefix ('{}') maps to prefixes ending in '*' only", from));
          ok = false;
        }
      }
      if (ok) e.fields.emplace_back(from, std::move(to));
    }
  }

  sigma::Source src_;
  Diagnostics& diags_;
};

}  // namespace

std::string SigmaLogsourceMap::describe() const {
  std::vector<std::string> parts;
  if (!category.empty()) parts.push_back("category: " + category);
  if (!product.empty()) parts.push_back("product: " + product);
  if (!service.empty()) parts.push_back("service: " + service);
  return fmt::format("{}", fmt::join(parts, ", "));
}

const SigmaLogsourceMap* SigmaMapping::find_logsource(std::string_view category,
                                                      std::string_view product,
                                                      std::string_view service) const {
  const SigmaLogsourceMap* best = nullptr;
  int best_keys = -1;
  for (const auto& e : logsources) {
    int keys = 0;
    bool match = true;
    const auto check = [&](const std::string& want, std::string_view got) {
      if (want.empty()) return;
      ++keys;
      if (!iequal(want, got)) match = false;
    };
    check(e.category, category);
    check(e.product, product);
    check(e.service, service);
    if (match && keys > best_keys) {
      best = &e;
      best_keys = keys;
    }
  }
  return best;
}

std::optional<int> SigmaMapping::sev_of(std::string_view level) const {
  const auto it = level_sev.find(level);
  if (it == level_sev.end()) return std::nullopt;
  return it->second;
}

SigmaFieldTarget map_sigma_field(const SigmaLogsourceMap& entry, std::string_view sigma_field) {
  SigmaFieldTarget out;
  const auto take = [&](const std::vector<std::string>& to) {
    out.found = true;
    out.dropped = to.empty();
    out.fields = to;
    return out;
  };
  for (const auto& [from, to] : entry.fields) {
    if (from == sigma_field) return take(to);
  }
  for (const auto& [from, to] : entry.fields) {
    if (!from.ends_with('*') && iequal(from, sigma_field)) return take(to);
  }
  if (find_field(sigma_field) != nullptr) {
    out.found = true;
    out.fields = {std::string(sigma_field)};
    return out;
  }
  const std::vector<std::string>* best = nullptr;
  std::size_t best_len = 0;
  for (const auto& [from, to] : entry.fields) {
    if (!from.ends_with('*')) continue;
    const std::string_view prefix = std::string_view(from).substr(0, from.size() - 1);
    if (sigma_field.starts_with(prefix) && (best == nullptr || prefix.size() > best_len)) {
      best = &to;
      best_len = prefix.size();
    }
  }
  if (best == nullptr) return out;
  const std::string_view rest = sigma_field.substr(best_len);
  std::vector<std::string> to;
  for (const auto& t : *best) to.push_back(t.substr(0, t.size() - 1) + std::string(rest));
  return take(to);
}

std::shared_ptr<const SigmaMapping> load_sigma_mapping_string(std::string_view yaml,
                                                              const std::string& name,
                                                              Diagnostics& diags) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    diags.error("E_YAML", SourceLoc{name, e.mark.line + 1, e.mark.column + 1}, e.msg);
    return nullptr;
  }
  Diagnostics local;
  auto m = std::make_shared<SigmaMapping>();
  m->name = name;
  MappingReader(sigma::Source{name, yaml}, local).read(root, *m);
  diags.append(local);
  if (local.has_errors()) return nullptr;
  return m;
}

std::shared_ptr<const SigmaMapping> load_sigma_mapping_file(const std::string& path,
                                                            Diagnostics& diags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.error("E_IO", SourceLoc{path, 0, 0}, "cannot read the Sigma mapping");
    return nullptr;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return load_sigma_mapping_string(ss.str(), path, diags);
}

std::shared_ptr<const SigmaMapping> default_sigma_mapping() {
  static const std::shared_ptr<const SigmaMapping> kDefault = [] {
    Diagnostics d;
    auto m = load_sigma_mapping_string(kSigmaDefaultMapping, "rules/sigma/mapping.yaml", d);
    // The shipped file is tested; should it ever be broken, an empty
    // mapping refuses every Sigma rule (E_SIGMA_UNMAPPED_LOGSOURCE).
    return m ? m : std::make_shared<const SigmaMapping>();
  }();
  return kDefault;
}

}  // namespace sevwatch::rules
