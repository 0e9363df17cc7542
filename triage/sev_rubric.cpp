// Loads the SEV rubric from YAML (validating it with positions) and applies it.
// The decision reads the data: no branch in this file knows a particular cell.
#include "triage/sev_rubric.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "triage/default_rubric.h"

namespace sevwatch::triage {

namespace {

constexpr int kLevels = 5;
constexpr int kAudiences = 6;
constexpr int kMinSev = 0;
constexpr int kMaxSev = 5;

}  // namespace

struct SevRubric::Data {
  std::string name;
  std::array<std::array<int, kAudiences>, kLevels> matrix{};

  struct EvidenceRule {
    rules::Evidence evidence = rules::Evidence::none;
    std::optional<rules::Level> min_level;
    std::optional<int> set;
    int adjust = 0;
  };
  std::vector<EvidenceRule> evidence;

  struct ScaleRule {
    std::uint64_t min_objects = 0;
    std::uint64_t max_objects = 0;
    int adjust = 0;
  };
  std::vector<ScaleRule> scale;

  std::array<Route, kMaxSev + 1> routing;
};

namespace {

using rules::Diagnostics;
using rules::SourceLoc;

// Reads one YAML document into SevRubric::Data, reporting every problem found.
class Loader {
 public:
  Loader(std::string name, Diagnostics& diags) : name_(std::move(name)), diags_(diags) {
    data_.name = name_;
  }

  std::optional<SevRubric::Data> load(std::string_view yaml) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(yaml));
    } catch (const YAML::ParserException& e) {
      diags_.error("E_YAML_SYNTAX", at(e.mark), e.msg);
      return std::nullopt;
    }
    if (!root.IsMap()) {
      diags_.error("E_RUBRIC_NOT_A_MAP", root.IsDefined() ? at(root) : SourceLoc{name_, 1, 1},
                   "the rubric must be a YAML mapping with matrix, evidence, scale and routing");
      return std::nullopt;
    }
    const int before = error_count();
    bool seen_matrix = false, seen_evidence = false, seen_scale = false, seen_routing = false;
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>("");
      if (key == "version") {
        if (scalar_int(kv.second) != std::optional<int>(1)) {
          diags_.error("E_BAD_VALUE", at(kv.second), "unsupported rubric version (expected 1)");
        }
      } else if (key == "description" || key == "name") {
        // free text
      } else if (key == "matrix") {
        seen_matrix = true;
        load_matrix(kv.second);
      } else if (key == "evidence") {
        seen_evidence = true;
        load_evidence(kv.second);
      } else if (key == "scale") {
        seen_scale = true;
        load_scale(kv.second);
      } else if (key == "routing") {
        seen_routing = true;
        load_routing(kv.second);
      } else {
        diags_.error("E_UNKNOWN_KEY", at(kv.first),
                     fmt::format("unknown key '{}' (expected version, description, matrix, "
                                 "evidence, scale, routing)",
                                 key));
      }
    }
    const SourceLoc top{name_, 1, 1};
    if (!seen_matrix) diags_.error("E_RUBRIC_MISSING_KEY", top, "the rubric has no 'matrix'");
    if (!seen_routing) diags_.error("E_RUBRIC_MISSING_KEY", top, "the rubric has no 'routing'");
    // evidence and scale may be omitted: no modifiers of that kind.
    (void)seen_evidence;
    (void)seen_scale;
    if (error_count() != before) return std::nullopt;
    return std::move(data_);
  }

 private:
  int error_count() const {
    return static_cast<int>(std::count_if(
        diags_.all().begin(), diags_.all().end(),
        [](const rules::Diagnostic& d) { return d.severity == rules::DiagSeverity::error; }));
  }

  SourceLoc at(const YAML::Mark& m) const {
    if (m.is_null()) return SourceLoc{name_, 0, 0};
    return SourceLoc{name_, m.line + 1, m.column + 1};
  }
  SourceLoc at(const YAML::Node& n) const { return at(n.Mark()); }

  static std::optional<long long> scalar_ll(const YAML::Node& n) {
    if (!n.IsScalar()) return std::nullopt;
    const std::string s = n.Scalar();
    if (s.empty()) return std::nullopt;
    std::size_t pos = 0;
    try {
      const long long v = std::stoll(s, &pos, 10);
      if (pos != s.size()) return std::nullopt;
      return v;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  static std::optional<int> scalar_int(const YAML::Node& n) {
    const auto v = scalar_ll(n);
    if (!v || *v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) {
      return std::nullopt;
    }
    return static_cast<int>(*v);
  }

  std::optional<int> sev_value(const YAML::Node& n, std::string_view what) {
    const auto v = scalar_int(n);
    if (!v || *v < kMinSev || *v > kMaxSev) {
      diags_.error("E_BAD_SEV", at(n),
                   fmt::format("{} must be a SEV from 0 to 5, got '{}'", what,
                               n.IsScalar() ? n.Scalar() : std::string("<not a scalar>")));
      return std::nullopt;
    }
    return v;
  }

  std::optional<int> adjust_value(const YAML::Node& n) {
    const auto v = scalar_int(n);
    if (!v || *v < -kMaxSev || *v > kMaxSev) {
      diags_.error("E_BAD_VALUE", at(n),
                   "adjust must be a whole number of SEV steps from -5 to +5");
      return std::nullopt;
    }
    return v;
  }

  bool expect_map(const YAML::Node& n, std::string_view what) {
    if (n.IsMap()) return true;
    diags_.error("E_BAD_VALUE", at(n), fmt::format("{} must be a mapping", what));
    return false;
  }
  bool expect_seq(const YAML::Node& n, std::string_view what) {
    if (n.IsSequence()) return true;
    diags_.error("E_BAD_VALUE", at(n), fmt::format("{} must be a list", what));
    return false;
  }

  void load_matrix(const YAML::Node& m) {
    if (!expect_map(m, "matrix")) return;
    std::array<std::array<bool, kAudiences>, kLevels> seen{};
    std::array<bool, kLevels> row_seen{};
    for (const auto& row : m) {
      const std::string lname = row.first.as<std::string>("");
      const auto level = rules::parse_level(lname);
      if (!level) {
        diags_.error("E_UNKNOWN_LEVEL", at(row.first),
                     fmt::format("unknown sensitivity level '{}' (expected critical, high, "
                                 "medium, low, public)",
                                 lname));
        continue;
      }
      const auto li = static_cast<std::size_t>(*level);
      if (row_seen[li]) {
        diags_.error("E_DUPLICATE_KEY", at(row.first),
                     fmt::format("level '{}' appears twice in the matrix", lname));
        continue;
      }
      row_seen[li] = true;
      if (!expect_map(row.second, fmt::format("matrix row '{}'", lname))) continue;
      for (const auto& cell : row.second) {
        const std::string aname = cell.first.as<std::string>("");
        const auto aud = rules::parse_audience(aname);
        if (!aud) {
          diags_.error("E_UNKNOWN_AUDIENCE", at(cell.first),
                       fmt::format("unknown audience '{}' (expected internet, external, company, "
                                   "department, narrow, ineffective)",
                                   aname));
          continue;
        }
        const auto ai = static_cast<std::size_t>(*aud);
        if (seen[li][ai]) {
          diags_.error("E_DUPLICATE_KEY", at(cell.first),
                       fmt::format("audience '{}' appears twice in row '{}'", aname, lname));
          continue;
        }
        seen[li][ai] = true;
        if (auto v = sev_value(cell.second, fmt::format("matrix[{}][{}]", lname, aname))) {
          data_.matrix[li][ai] = *v;
        }
      }
    }
    for (std::size_t li = 0; li < kLevels; ++li) {
      const auto lname = rules::to_string(static_cast<rules::Level>(li));
      for (std::size_t ai = 0; ai < kAudiences; ++ai) {
        if (seen[li][ai]) continue;
        diags_.error("E_RUBRIC_MISSING_CELL", at(m),
                     fmt::format("matrix has no cell for {} sensitivity x {} audience", lname,
                                 rules::to_string(static_cast<rules::Audience>(ai))));
      }
    }
  }

  void load_evidence(const YAML::Node& list) {
    if (list.IsNull()) return;
    if (!expect_seq(list, "evidence")) return;
    for (const auto& item : list) {
      if (!expect_map(item, "an evidence entry")) continue;
      SevRubric::Data::EvidenceRule rule;
      bool ok = true, has_when = false, has_effect = false;
      for (const auto& kv : item) {
        const std::string key = kv.first.as<std::string>("");
        if (key == "when") {
          has_when = true;
          ok = load_when(kv.second, rule) && ok;
        } else if (key == "set") {
          if (has_effect) diags_.error("E_BAD_VALUE", at(kv.first), "use either set or adjust");
          has_effect = true;
          rule.set = sev_value(kv.second, "set");
          ok = ok && rule.set.has_value();
        } else if (key == "adjust") {
          if (has_effect) diags_.error("E_BAD_VALUE", at(kv.first), "use either set or adjust");
          has_effect = true;
          const auto a = adjust_value(kv.second);
          ok = ok && a.has_value();
          rule.adjust = a.value_or(0);
        } else {
          ok = false;
          diags_.error("E_UNKNOWN_KEY", at(kv.first),
                       fmt::format("unknown key '{}' in an evidence entry (expected when, set, "
                                   "adjust)",
                                   key));
        }
      }
      if (!has_when) {
        ok = false;
        diags_.error("E_RUBRIC_MISSING_KEY", at(item), "evidence entry has no 'when'");
      }
      if (!has_effect) {
        ok = false;
        diags_.error("E_RUBRIC_MISSING_KEY", at(item), "evidence entry needs 'set' or 'adjust'");
      }
      if (ok) data_.evidence.push_back(rule);
    }
  }

  bool load_when(const YAML::Node& when, SevRubric::Data::EvidenceRule& rule) {
    // Shorthand: `when: improper`.
    if (when.IsScalar()) return load_evidence_class(when, rule);
    if (!expect_map(when, "when")) return false;
    bool ok = true, has_evidence = false;
    for (const auto& kv : when) {
      const std::string key = kv.first.as<std::string>("");
      if (key == "evidence") {
        has_evidence = true;
        ok = load_evidence_class(kv.second, rule) && ok;
      } else if (key == "min_level") {
        const std::string v = kv.second.IsScalar() ? kv.second.Scalar() : "";
        rule.min_level = rules::parse_level(v);
        if (!rule.min_level) {
          ok = false;
          diags_.error("E_UNKNOWN_LEVEL", at(kv.second),
                       fmt::format("unknown sensitivity level '{}'", v));
        }
      } else {
        ok = false;
        diags_.error("E_UNKNOWN_KEY", at(kv.first),
                     fmt::format("unknown key '{}' in when (expected evidence, min_level)", key));
      }
    }
    if (!has_evidence) {
      diags_.error("E_RUBRIC_MISSING_KEY", at(when), "when needs 'evidence'");
      return false;
    }
    return ok;
  }

  bool load_evidence_class(const YAML::Node& n, SevRubric::Data::EvidenceRule& rule) {
    const std::string v = n.IsScalar() ? n.Scalar() : "";
    const auto e = rules::parse_evidence(v);
    if (!e) {
      diags_.error("E_UNKNOWN_EVIDENCE", at(n),
                   fmt::format("unknown evidence class '{}' (expected none, improper, external, "
                               "exfiltration)",
                               v));
      return false;
    }
    rule.evidence = *e;
    return true;
  }

  void load_scale(const YAML::Node& list) {
    if (list.IsNull()) return;
    if (!expect_seq(list, "scale")) return;
    for (const auto& item : list) {
      if (!expect_map(item, "a scale entry")) continue;
      SevRubric::Data::ScaleRule rule;
      bool ok = true, has_max = false, has_adjust = false;
      for (const auto& kv : item) {
        const std::string key = kv.first.as<std::string>("");
        if (key == "min_objects" || key == "max_objects") {
          const auto v = scalar_ll(kv.second);
          if (!v || *v < 0) {
            ok = false;
            diags_.error("E_BAD_VALUE", at(kv.second),
                         fmt::format("{} must be a whole number >= 0", key));
            continue;
          }
          if (key == "min_objects") {
            rule.min_objects = static_cast<std::uint64_t>(*v);
          } else {
            rule.max_objects = static_cast<std::uint64_t>(*v);
            has_max = true;
          }
        } else if (key == "adjust") {
          has_adjust = true;
          const auto a = adjust_value(kv.second);
          ok = ok && a.has_value();
          rule.adjust = a.value_or(0);
        } else {
          ok = false;
          diags_.error("E_UNKNOWN_KEY", at(kv.first),
                       fmt::format("unknown key '{}' in a scale entry (expected min_objects, "
                                   "max_objects, adjust)",
                                   key));
        }
      }
      if (!has_max || !has_adjust) {
        ok = false;
        diags_.error("E_RUBRIC_MISSING_KEY", at(item),
                     "scale entry needs 'max_objects' and 'adjust'");
      } else if (rule.adjust < 0) {
        ok = false;
        diags_.error("E_BAD_VALUE", at(item),
                     "scale entries may only make a SEV less severe (adjust >= 0)");
      } else if (rule.min_objects > rule.max_objects) {
        ok = false;
        diags_.error("E_BAD_VALUE", at(item), "min_objects is greater than max_objects");
      }
      if (ok) data_.scale.push_back(rule);
    }
  }

  void load_routing(const YAML::Node& m) {
    if (!expect_map(m, "routing")) return;
    std::array<bool, kMaxSev + 1> seen{};
    for (const auto& kv : m) {
      const auto sev = sev_value(kv.first, "a routing key");
      if (!sev) continue;
      if (seen[*sev]) {
        diags_.error("E_DUPLICATE_KEY", at(kv.first),
                     fmt::format("SEV {} appears twice in routing", *sev));
        continue;
      }
      seen[*sev] = true;
      if (!expect_map(kv.second, fmt::format("routing for SEV {}", *sev))) continue;
      Route route;
      for (const auto& f : kv.second) {
        const std::string key = f.first.as<std::string>("");
        const std::string value = f.second.IsScalar() ? f.second.Scalar() : "";
        if (key == "who") {
          route.who = value;
        } else if (key == "how") {
          route.how = value;
          if (value != "page" && value != "notify" && value != "ticket") {
            diags_.error("E_BAD_VALUE", at(f.second),
                         fmt::format("how must be page, notify or ticket, got '{}'", value));
          }
        } else if (key == "pagerduty") {
          route.pagerduty_severity = value;
          if (value != "critical" && value != "error" && value != "warning" && value != "info") {
            diags_.error(
                "E_BAD_VALUE", at(f.second),
                fmt::format("pagerduty must be critical, error, warning or info, got '{}'", value));
          }
        } else {
          diags_.error(
              "E_UNKNOWN_KEY", at(f.first),
              fmt::format("unknown key '{}' in routing (expected who, how, pagerduty)", key));
        }
      }
      if (route.who.empty() || route.how.empty() || route.pagerduty_severity.empty()) {
        diags_.error("E_RUBRIC_MISSING_KEY", at(kv.second),
                     fmt::format("routing for SEV {} needs who, how and pagerduty", *sev));
      }
      data_.routing[*sev] = std::move(route);
    }
    for (int s = kMinSev; s <= kMaxSev; ++s) {
      if (!seen[s]) {
        diags_.error("E_RUBRIC_MISSING_ROUTE", at(m), fmt::format("routing has no SEV {}", s));
      }
    }
  }

  std::string name_;
  Diagnostics& diags_;
  SevRubric::Data data_;
};

std::string steps(int n) {
  return n == 1 ? "1 step" : fmt::format("{} steps", n);
}

// "1 step more severe", "2 steps less severe".
std::string describe_adjust(int adjust) {
  if (adjust < 0) return steps(-adjust) + " more severe";
  if (adjust > 0) return steps(adjust) + " less severe";
  return "no change";
}

std::string describe_range(std::uint64_t lo, std::uint64_t hi) {
  if (lo == hi) return fmt::format("exactly {}", hi);
  if (lo == 0) return fmt::format("at most {}", hi);
  return fmt::format("{} to {}", lo, hi);
}

}  // namespace

SevRubric::SevRubric(std::shared_ptr<const Data> data) : data_(std::move(data)) {}

std::unique_ptr<SevRubric> SevRubric::load_string(std::string_view yaml, const std::string& name,
                                                  rules::Diagnostics& diags) {
  Loader loader(name, diags);
  auto data = loader.load(yaml);
  if (!data) return nullptr;
  return std::make_unique<SevRubric>(std::make_shared<const Data>(std::move(*data)));
}

std::unique_ptr<SevRubric> SevRubric::load_file(const std::string& path,
                                                rules::Diagnostics& diags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.error("E_RUBRIC_UNREADABLE", SourceLoc{path, 0, 0}, "cannot read the rubric file");
    return nullptr;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return load_string(ss.str(), path, diags);
}

std::unique_ptr<SevRubric> SevRubric::builtin_default() {
  rules::Diagnostics diags;
  auto rubric = load_string(kDefaultRubricYaml, "rules/pack/sev_rubric.yaml", diags);
  if (!rubric) {
    // The shipped YAML is checked by the tests; reaching this is a build defect.
    throw std::logic_error("the built-in SEV rubric does not load:\n" + diags.to_text());
  }
  return rubric;
}

SevDecision SevRubric::decide(const SevInputs& in) const {
  const Data& d = *data_;
  const auto li = static_cast<std::size_t>(in.level);
  const auto ai = static_cast<std::size_t>(in.audience);
  int sev = d.matrix.at(li).at(ai);
  std::string reason = fmt::format("{} sensitivity × {} audience → SEV {} (base)",
                                   rules::to_string(in.level), rules::to_string(in.audience), sev);

  auto apply = [&sev](int target, std::string& text) {
    const int clamped = std::clamp(target, kMinSev, kMaxSev);
    text += fmt::format(" → SEV {}", clamped);
    if (clamped != target) text += " (clamped)";
    sev = clamped;
  };

  // Evidence: the first matching entry.
  std::string ev = fmt::format("evidence {}", rules::to_string(in.evidence));
  const Data::EvidenceRule* hit = nullptr;
  for (const auto& r : d.evidence) {
    if (r.evidence != in.evidence) continue;
    // A smaller Level is more sensitive.
    if (r.min_level && static_cast<int>(in.level) > static_cast<int>(*r.min_level)) continue;
    hit = &r;
    break;
  }
  if (hit == nullptr) {
    ev += ": no change";
  } else {
    if (hit->min_level) {
      ev += fmt::format(" with {} or more sensitive data", rules::to_string(*hit->min_level));
    }
    if (hit->set) {
      ev += fmt::format(": set SEV {}", *hit->set);
      sev = std::clamp(*hit->set, kMinSev, kMaxSev);
    } else {
      ev += ": " + describe_adjust(hit->adjust);
      if (hit->adjust != 0) apply(sev + hit->adjust, ev);
    }
  }

  // Scale: the first entry whose range holds the object count.
  std::string sc = fmt::format("{} object{}", in.objects, in.objects == 1 ? "" : "s");
  const Data::ScaleRule* srule = nullptr;
  for (const auto& r : d.scale) {
    if (in.objects >= r.min_objects && in.objects <= r.max_objects) {
      srule = &r;
      break;
    }
  }
  if (srule == nullptr || srule->adjust == 0) {
    sc += ": no scale change";
  } else {
    sc += fmt::format(" ({}): {}", describe_range(srule->min_objects, srule->max_objects),
                      describe_adjust(srule->adjust));
    apply(sev + srule->adjust, sc);
  }

  return SevDecision{sev, reason + "; " + ev + "; " + sc};
}

const Route& SevRubric::route(int sev) const {
  return data_->routing.at(static_cast<std::size_t>(std::clamp(sev, kMinSev, kMaxSev)));
}

}  // namespace sevwatch::triage
