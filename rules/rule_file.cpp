#include "rules/rule_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "rules/shipped_pack.h"

namespace sevwatch::rules {
namespace {

SourceLoc loc_of(const std::string& file, const YAML::Node& node) {
  const auto m = node.Mark();
  if (m.line < 0) return SourceLoc{file, 0, 0};
  return SourceLoc{file, m.line + 1, m.column + 1};  // yaml-cpp marks are 0-based
}

class RuleReader {
 public:
  RuleReader(const std::string& file, Diagnostics& diags) : file_(file), diags_(diags) {}

  void read_document(const YAML::Node& root, RuleSet& set) {
    if (root.IsNull()) return;
    if (!root.IsSequence()) {
      diags_.error("E_TYPE", loc_of(file_, root), "a rule file is a list of rules");
      return;
    }
    for (const auto& item : root) {
      if (!item.IsMap()) {
        diags_.error("E_TYPE", loc_of(file_, item),
                     "each list item must be a mapping with 'rule:'");
        continue;
      }
      Rule rule;
      if (read_rule(item, rule)) set.rules.push_back(std::move(rule));
    }
  }

 private:
  bool scalar(const YAML::Node& n, const char* what, std::string& out) {
    if (!n.IsScalar()) {
      diags_.error("E_TYPE", loc_of(file_, n), fmt::format("'{}' must be a scalar", what));
      return false;
    }
    out = n.Scalar();
    return true;
  }

  bool string_list(const YAML::Node& n, const char* what, std::vector<std::string>& out) {
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return true;
    }
    if (!n.IsSequence()) {
      diags_.error("E_TYPE", loc_of(file_, n), fmt::format("'{}' must be a list", what));
      return false;
    }
    bool ok = true;
    for (const auto& v : n) {
      std::string s;
      if (scalar(v, what, s)) {
        out.push_back(std::move(s));
      } else {
        ok = false;
      }
    }
    return ok;
  }

  void read_exposure(const YAML::Node& n, ExposureSpec& spec) {
    if (!n.IsMap()) {
      diags_.error("E_TYPE", loc_of(file_, n), "'exposure' must be a mapping");
      return;
    }
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      const auto& v = kv.second;
      if (key == "audiences") {
        std::vector<std::string> names;
        if (!string_list(v, "audiences", names)) continue;
        spec.audiences.clear();
        for (std::size_t i = 0; i < names.size(); ++i) {
          const auto a = parse_audience(names[i]);
          if (!a) {
            diags_.error("E_UNKNOWN_AUDIENCE", loc_of(file_, v.IsSequence() ? v[i] : v),
                         fmt::format("unknown audience class '{}' (internet, external, company, "
                                     "department, narrow, ineffective)",
                                     names[i]));
            continue;
          }
          spec.audiences.push_back(*a);
        }
      } else if (key == "min_level") {
        std::string s;
        if (!scalar(v, "min_level", s)) continue;
        const auto l = parse_level(s);
        if (!l) {
          diags_.error("E_UNKNOWN_LEVEL", loc_of(file_, v),
                       fmt::format("unknown level '{}' (critical, high, medium, low, public)", s));
          continue;
        }
        spec.min_level = *l;
      } else if (key == "group_by") {
        std::vector<std::string> names;
        if (!string_list(v, "group_by", names)) continue;
        spec.group_by.clear();
        for (std::size_t i = 0; i < names.size(); ++i) {
          static const std::pair<const char*, GroupField> kGroup[] = {
              {"catalog", GroupField::catalog},
              {"audience", GroupField::audience},
              {"grantee", GroupField::grantee},
              {"actor", GroupField::actor}};
          auto it = std::find_if(std::begin(kGroup), std::end(kGroup),
                                 [&](const auto& g) { return names[i] == g.first; });
          if (it == std::end(kGroup)) {
            diags_.error(
                "E_UNKNOWN_GROUP_FIELD", loc_of(file_, v.IsSequence() ? v[i] : v),
                fmt::format("cannot group by '{}' (catalog, audience, grantee, actor)", names[i]));
            continue;
          }
          spec.group_by.push_back(it->second);
        }
      } else if (key == "rollout_gap") {
        std::string s;
        if (!scalar(v, "rollout_gap", s)) continue;
        const auto ms = parse_duration_ms(s);
        if (!ms) {
          diags_.error("E_BAD_DURATION", loc_of(file_, v),
                       fmt::format("bad duration '{}' (e.g. 90s, 15m, 1h, 7d)", s));
          continue;
        }
        spec.rollout_gap_ms = *ms;
      } else {
        diags_.error("E_UNKNOWN_KEY", loc_of(file_, kv.first),
                     fmt::format("unknown key '{}' in 'exposure'", key));
      }
    }
  }

  bool read_rule(const YAML::Node& item, Rule& rule) {
    const std::size_t errors_before = error_count();
    rule.loc = loc_of(file_, item);
    bool has_kind = false;
    for (const auto& kv : item) {
      const std::string key = kv.first.Scalar();
      const auto& v = kv.second;
      if (key == "rule") {
        scalar(v, "rule", rule.id);
      } else if (key == "title") {
        scalar(v, "title", rule.title);
      } else if (key == "description") {
        scalar(v, "description", rule.description);
      } else if (key == "tags") {
        string_list(v, "tags", rule.tags);
      } else if (key == "status") {
        if (scalar(v, "status", rule.status) && rule.status != "stable" &&
            rule.status != "experimental") {
          diags_.error("E_BAD_STATUS", loc_of(file_, v),
                       fmt::format("status '{}' must be stable or experimental", rule.status));
        }
      } else if (key == "owner") {
        scalar(v, "owner", rule.owner);
      } else if (key == "runbook") {
        scalar(v, "runbook", rule.runbook);
      } else if (key == "kind") {
        std::string k;
        if (!scalar(v, "kind", k)) continue;
        has_kind = true;
        if (k == "exposure") {
          rule.kind = RuleKind::exposure;
        } else if (k == "exposure_evidence") {
          rule.kind = RuleKind::exposure_evidence;
        } else {
          diags_.error("E_UNKNOWN_KIND", loc_of(file_, v),
                       fmt::format("unknown rule kind '{}' (exposure, exposure_evidence)", k));
        }
      } else if (key == "condition") {
        if (!scalar(v, "condition", rule.condition_text)) continue;
        SourceLoc at = loc_of(file_, v);
        // A plain scalar starts at its mark; quoted or block scalars do not
        // map columns one to one, so positions there point at the value.
        rule.condition = compile_condition(rule.condition_text, at, diags_);
      } else if (key == "exposure") {
        read_exposure(v, rule.exposure);
      } else if (key == "evidence") {
        if (!v.IsMap()) {
          diags_.error("E_TYPE", loc_of(file_, v), "'evidence' must be a mapping");
          continue;
        }
        for (const auto& ekv : v) {
          if (ekv.first.Scalar() == "attach_to") {
            string_list(ekv.second, "attach_to", rule.evidence.attach_to);
          } else {
            diags_.error("E_UNKNOWN_KEY", loc_of(file_, ekv.first),
                         fmt::format("unknown key '{}' in 'evidence'", ekv.first.Scalar()));
          }
        }
      } else {
        diags_.error("E_UNKNOWN_KEY", loc_of(file_, kv.first),
                     fmt::format("unknown key '{}' in rule", key));
      }
    }
    if (rule.id.empty()) diags_.error("E_MISSING_KEY", rule.loc, "rule has no 'rule:' id");
    if (!has_kind) diags_.error("E_MISSING_KEY", rule.loc, "rule has no 'kind:'");
    if (rule.title.empty()) rule.title = rule.id;
    if (rule.runbook.empty() && !rule.id.empty()) rule.runbook = "runbooks/" + rule.id + ".md";
    if (has_kind && rule.kind == RuleKind::exposure && rule.exposure.audiences.empty()) {
      diags_.error("E_MISSING_KEY", rule.loc, "an exposure rule needs 'exposure: audiences:'");
    }
    if (has_kind && rule.kind == RuleKind::exposure_evidence && rule.evidence.attach_to.empty()) {
      diags_.error("E_MISSING_KEY", rule.loc, "an evidence rule needs 'evidence: attach_to:'");
    }
    return error_count() == errors_before;
  }

  std::size_t error_count() const {
    return static_cast<std::size_t>(
        std::count_if(diags_.all().begin(), diags_.all().end(),
                      [](const Diagnostic& d) { return d.severity == DiagSeverity::error; }));
  }

  std::string file_;
  Diagnostics& diags_;
};

}  // namespace

const Rule* RuleSet::find(std::string_view id) const {
  for (const auto& r : rules) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

std::optional<std::int64_t> parse_duration_ms(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  std::int64_t n = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    n = n * 10 + (text[i] - '0');
    if (n > 1'000'000'000) return std::nullopt;
  }
  if (i == 0) return std::nullopt;
  const auto unit = text.substr(i);
  if (unit == "ms") return n;
  if (unit == "s") return n * 1000;
  if (unit == "m") return n * 60'000;
  if (unit == "h") return n * 3'600'000;
  if (unit == "d") return n * 86'400'000;
  return std::nullopt;
}

void load_rules_string(std::string_view yaml, const std::string& name, RuleSet& set,
                       Diagnostics& diags) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    diags.error("E_YAML", SourceLoc{name, e.mark.line + 1, e.mark.column + 1}, e.msg);
    return;
  }
  RuleReader(name, diags).read_document(root, set);
}

void load_rules_path(const std::string& path, RuleSet& set, Diagnostics& diags) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      const auto p = entry.path();
      if ((p.extension() == ".yaml" || p.extension() == ".yml") &&
          p.filename() != "sev_rubric.yaml") {
        files.push_back(p);
      }
    }
    std::sort(files.begin(), files.end());
  } else if (fs::exists(path, ec)) {
    files.emplace_back(path);
  } else {
    diags.error("E_IO", SourceLoc{path, 0, 0}, "no such file or directory");
    return;
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      diags.error("E_IO", SourceLoc{f.string(), 0, 0}, "cannot read");
      continue;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    load_rules_string(ss.str(), f.string(), set, diags);
  }
}

void load_shipped_rules(RuleSet& set, Diagnostics& diags) {
  for (const auto& f : kShippedPack) {
    load_rules_string(f.text, std::string("rules/pack/") + f.name, set, diags);
  }
}

void check_rule_set(const RuleSet& set, Diagnostics& diags) {
  std::set<std::string> seen;
  for (const auto& r : set.rules) {
    if (!r.id.empty() && !seen.insert(r.id).second) {
      diags.error("E_DUPLICATE_RULE", r.loc, fmt::format("rule '{}' is defined twice", r.id));
    }
  }
  for (const auto& r : set.rules) {
    if (r.kind != RuleKind::exposure_evidence) continue;
    for (const auto& target : r.evidence.attach_to) {
      const Rule* t = set.find(target);
      if (t == nullptr || t->kind != RuleKind::exposure) {
        diags.error("E_UNKNOWN_RULE", r.loc,
                    fmt::format("'attach_to' names '{}', which is not an exposure rule", target));
      }
    }
  }
}

}  // namespace sevwatch::rules
