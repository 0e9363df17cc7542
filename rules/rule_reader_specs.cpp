// The kind-specific parts of a rule (exposure, aggregate, sequence,
// first_seen), exceptions and in-file tests. See rule_reader.h.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "rules/condition_parser.h"
#include "rules/rule_reader.h"

namespace sevwatch::rules::detail {

bool RuleReader::scalar(const YAML::Node& n, const char* what, std::string& out) {
  if (!n.IsScalar()) {
    diags_.error("E_TYPE", loc(n), fmt::format("'{}' must be a scalar", what));
    return false;
  }
  out = n.Scalar();
  return true;
}

bool RuleReader::string_list(const YAML::Node& n, const char* what, std::vector<std::string>& out) {
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return true;
  }
  if (!n.IsSequence()) {
    diags_.error("E_TYPE", loc(n), fmt::format("'{}' must be a list", what));
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

bool RuleReader::duration(const YAML::Node& n, const char* what, std::int64_t& out) {
  std::string s;
  if (!scalar(n, what, s)) return false;
  const auto ms = parse_duration_ms(s);
  if (!ms) {
    diags_.error("E_BAD_DURATION", loc(n),
                 fmt::format("bad duration '{}' (e.g. 90s, 15m, 1h, 7d)", s));
    return false;
  }
  out = *ms;
  return true;
}

bool RuleReader::integer(const YAML::Node& n, const char* what, long long& out) {
  std::string s;
  if (!scalar(n, what, s)) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
    diags_.error("E_TYPE", loc(n), fmt::format("'{}' must be an integer, not '{}'", what, s));
    return false;
  }
  return true;
}

bool RuleReader::boolean(const YAML::Node& n, const char* what, bool& out) {
  std::string s;
  if (!scalar(n, what, s)) return false;
  if (s == "true" || s == "false") {
    out = s == "true";
    return true;
  }
  diags_.error("E_TYPE", loc(n), fmt::format("'{}' must be true or false", what));
  return false;
}

bool RuleReader::fields(const YAML::Node& n, const char* what, std::vector<FieldRef>& out) {
  std::vector<std::string> names;
  if (!string_list(n, what, names)) return false;
  bool ok = true;
  out.clear();
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto at = loc(n.IsSequence() ? n[i] : n);
    auto f = find_field_ref(names[i]);
    if (!f) {
      if (is_raw_field(names[i])) {
        diags_.error("E_RAW_PATH", at,
                     fmt::format("'{}' in '{}' is not a path into the source record (raw.key.key, "
                                 "raw.list.0.key, raw.\"key with.dots\".key)",
                                 names[i], what));
      } else {
        diags_.error("E_UNKNOWN_FIELD", at,
                     fmt::format("unknown field '{}' in '{}'", names[i], what));
      }
      ok = false;
      continue;
    }
    out.push_back(std::move(*f));
  }
  return ok;
}

void RuleReader::unknown_key(const YAML::Node& key, const char* where) {
  diags_.error(
      "E_UNKNOWN_KEY", loc(key),
      fmt::format("unknown key '{}' in {}", key.Scalar(),
                  std::string_view(where) == "rule" ? "rule" : fmt::format("'{}'", where)));
}

std::size_t RuleReader::error_count() const {
  return static_cast<std::size_t>(
      std::count_if(diags_.all().begin(), diags_.all().end(),
                    [](const Diagnostic& d) { return d.severity == DiagSeverity::error; }));
}

void RuleReader::read_exposure(const YAML::Node& n, ExposureSpec& spec) {
  if (!n.IsMap()) {
    diags_.error("E_TYPE", loc(n), "'exposure' must be a mapping");
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
          diags_.error("E_UNKNOWN_AUDIENCE", loc(v.IsSequence() ? v[i] : v),
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
        diags_.error("E_UNKNOWN_LEVEL", loc(v),
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
              "E_UNKNOWN_GROUP_FIELD", loc(v.IsSequence() ? v[i] : v),
              fmt::format("cannot group by '{}' (catalog, audience, grantee, actor)", names[i]));
          continue;
        }
        spec.group_by.push_back(it->second);
      }
    } else if (key == "rollout_gap") {
      duration(v, "rollout_gap", spec.rollout_gap_ms);
    } else {
      unknown_key(kv.first, "exposure");
    }
  }
}

bool RuleReader::read_limits_key(const std::string& key, const YAML::Node& v, StateLimits& limits) {
  long long n = 0;
  if (key == "max_groups") {
    if (integer(v, "max_groups", n) && n > 0) limits.max_groups = static_cast<std::size_t>(n);
  } else if (key == "max_values") {
    if (integer(v, "max_values", n) && n > 0) limits.max_values = static_cast<std::size_t>(n);
  } else if (key == "overflow") {
    std::string s;
    if (!scalar(v, "overflow", s)) return true;
    if (s == "drop_new") {
      limits.overflow = Overflow::drop_new;
    } else if (s == "evict_oldest") {
      limits.overflow = Overflow::evict_oldest;
    } else {
      diags_.error("E_BAD_VALUE", loc(v),
                   fmt::format("overflow '{}' must be drop_new or evict_oldest", s));
    }
  } else if (key == "lateness") {
    duration(v, "lateness", limits.lateness_ms);
  } else {
    return false;
  }
  return true;
}

void RuleReader::read_aggregate(const YAML::Node& n, AggregateSpec& spec) {
  if (!n.IsMap()) {
    diags_.error("E_TYPE", loc(n), "'aggregate' must be a mapping");
    return;
  }
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const auto& v = kv.second;
    if (key == "function") {
      std::string s;
      if (!scalar(v, "function", s)) continue;
      if (s == "count") {
        spec.function = AggregateSpec::Function::count;
      } else if (s == "count_distinct") {
        spec.function = AggregateSpec::Function::count_distinct;
      } else if (s == "sum") {
        spec.function = AggregateSpec::Function::sum;
      } else {
        diags_.error("E_BAD_VALUE", loc(v),
                     fmt::format("function '{}' must be count, count_distinct or sum", s));
      }
    } else if (key == "field") {
      std::vector<FieldRef> f;
      if (fields(v, "field", f) && f.size() == 1) spec.field = f[0];
    } else if (key == "group_by") {
      fields(v, "group_by", spec.group_by);
    } else if (key == "window") {
      duration(v, "window", spec.window_ms);
    } else if (key == "window_type") {
      std::string s;
      if (!scalar(v, "window_type", s)) continue;
      if (s != "sliding" && s != "tumbling") {
        diags_.error("E_BAD_VALUE", loc(v), "window_type must be sliding or tumbling");
      }
      spec.sliding = s != "tumbling";
    } else if (key == "tiers") {
      if (!v.IsSequence()) {
        diags_.error("E_TYPE", loc(v), "'tiers' must be a list of {gte: N, sev: S}");
        continue;
      }
      for (const auto& t : v) {
        long long gte = 0;
        long long sev = 0;
        if (!t.IsMap() || !t["gte"] || !t["sev"] || t.size() != 2) {
          diags_.error("E_TYPE", loc(t), "a tier is {gte: N, sev: S}");
          continue;
        }
        if (!integer(t["gte"], "gte", gte) || !integer(t["sev"], "sev", sev)) continue;
        if (sev < 0 || sev > 5) {
          diags_.error("E_BAD_VALUE", loc(t["sev"]), "sev must be 0..5");
          continue;
        }
        if (!spec.tiers.empty() && (gte <= spec.tiers.back().gte || sev > spec.tiers.back().sev)) {
          diags_.error("E_BAD_VALUE", loc(t),
                       "tiers must rise: each gte larger and each sev as or more severe");
          continue;
        }
        spec.tiers.push_back(Tier{static_cast<double>(gte), static_cast<int>(sev)});
      }
    } else if (!read_limits_key(key, v, spec.limits)) {
      unknown_key(kv.first, "aggregate");
    }
  }
  if (spec.function != AggregateSpec::Function::count && !spec.field) {
    diags_.error("E_MISSING_KEY", loc(n), "count_distinct and sum need 'field:'");
  }
}

void RuleReader::read_sequence(const YAML::Node& n, SequenceSpec& spec) {
  if (!n.IsMap()) {
    diags_.error("E_TYPE", loc(n), "'sequence' must be a mapping");
    return;
  }
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const auto& v = kv.second;
    long long sev = 0;
    if (key == "by") {
      fields(v, "by", spec.by);
    } else if (key == "group_by") {
      fields(v, "group_by", spec.group_by);
    } else if (key == "within") {
      duration(v, "within", spec.within_ms);
    } else if (key == "absent") {
      boolean(v, "absent", spec.absent);
    } else if (key == "sev") {
      if (integer(v, "sev", sev)) spec.sev = static_cast<int>(std::clamp(sev, 0LL, 5LL));
    } else if (key == "steps") {
      if (!v.IsSequence()) {
        diags_.error("E_TYPE", loc(v), "'steps' must be a list of {name, condition}");
        continue;
      }
      for (const auto& s : v) {
        SequenceStep step;
        step.loc = loc(s);
        if (!s.IsMap() || !s["condition"]) {
          diags_.error("E_TYPE", loc(s), "a step is {name: N, condition: C}");
          continue;
        }
        for (const auto& skv : s) {
          const auto sk = skv.first.Scalar();
          if (sk == "name") {
            scalar(skv.second, "name", step.name);
          } else if (sk == "condition") {
            scalar(skv.second, "condition", step.condition_text);
            step.loc = loc(skv.second);
            parse_condition(step.condition_text, step.loc, diags_);
          } else {
            unknown_key(skv.first, "step");
          }
        }
        spec.steps.push_back(std::move(step));
      }
    } else if (!read_limits_key(key, v, spec.limits)) {
      unknown_key(kv.first, "sequence");
    }
  }
  if (spec.group_by.empty()) spec.group_by = spec.by;
}

void RuleReader::read_first_seen(const YAML::Node& n, FirstSeenSpec& spec) {
  if (!n.IsMap()) {
    diags_.error("E_TYPE", loc(n), "'first_seen' must be a mapping");
    return;
  }
  for (const auto& kv : n) {
    const std::string key = kv.first.Scalar();
    const auto& v = kv.second;
    long long sev = 0;
    if (key == "key") {
      fields(v, "key", spec.key);
    } else if (key == "lookback") {
      duration(v, "lookback", spec.lookback_ms);
    } else if (key == "learn") {
      duration(v, "learn", spec.learn_ms);
    } else if (key == "sev") {
      if (integer(v, "sev", sev)) spec.sev = static_cast<int>(std::clamp(sev, 0LL, 5LL));
    } else if (!read_limits_key(key, v, spec.limits)) {
      unknown_key(kv.first, "first_seen");
    }
  }
}

}  // namespace sevwatch::rules::detail
