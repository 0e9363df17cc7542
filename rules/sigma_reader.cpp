#include "rules/sigma_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>

#include "rules/condition_fields.h"
#include "rules/sigma_common.h"
#include "rules/sigma_condition.h"
#include "rules/sigma_detection.h"

namespace sevwatch::rules {
namespace {

using sigma::is_null;
using sigma::Source;

// The metadata every Sigma document may carry.
struct Meta {
  std::string id;
  std::string name;
  std::string title;
  std::string description;
  std::string status;
  std::string author;
  std::string level;
  std::vector<std::string> tags;
  std::vector<std::string> falsepositives;
  int sev = 3;
};

std::string macro_name(std::string_view id) {
  std::string out = "sigma:";
  for (const char c : id) {
    const bool keep =
        std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':';
    out += keep ? c : '_';
  }
  return out;
}

std::string slug(std::string_view title) {
  std::string out;
  for (const char c : title) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "rule" : out;
}

std::size_t error_count(const Diagnostics& d) {
  return static_cast<std::size_t>(
      std::count_if(d.all().begin(), d.all().end(),
                    [](const Diagnostic& x) { return x.severity == DiagSeverity::error; }));
}

class SigmaReader {
 public:
  SigmaReader(Source src, RuleSet& set, SigmaState& state, Diagnostics& diags)
      : src_(std::move(src)), set_(set), state_(state), map_(*state.mapping), diags_(diags) {}

  void read(const std::vector<YAML::Node>& docs) {
    std::shared_ptr<const std::string> text;
    for (const YAML::Node& d : docs) {
      if (is_null(d)) continue;
      if (!d.IsMap()) {
        error("E_SIGMA_DOCUMENT", d, "a Sigma document is a mapping (a rule or a correlation)");
      } else if (d["correlation"]) {
        // After every file's rules (resolve_sigma_correlations). Its own
        // name is known at once: naming it in another correlation is a
        // chain, whatever the order of the files.
        if (!text) text = std::make_shared<const std::string>(src_.text);
        state_.pending.push_back(SigmaState::PendingCorrelation{d, src_.file, text});
        for (const char* key : {"id", "name"}) {
          const YAML::Node k = d[key];
          if (k && k.IsScalar() && !k.Scalar().empty()) {
            state_.by_ref.emplace(k.Scalar(), SigmaState::Known{});
          }
        }
      } else if (d["detection"]) {
        read_detection_rule(d);
      } else if (d["filter"]) {
        error("E_SIGMA_UNSUPPORTED_FILTER", d,
              "Sigma filters are not supported: use the rule's exceptions (docs/rules.md)");
      } else {
        error("E_SIGMA_DOCUMENT", d,
              "this document of a Sigma file has neither 'detection:' nor 'correlation:'");
      }
    }
  }

  void read_correlation(const YAML::Node& d) { read_correlation_document(d); }

 private:
  void error(const char* code, const YAML::Node& at, std::string msg) {
    diags_.error(code, src_.at(at), std::move(msg));
  }

  bool text(const YAML::Node& n, const char* what, std::string& out) {
    if (!n.IsScalar()) {
      error("E_TYPE", n, fmt::format("'{}' must be a scalar", what));
      return false;
    }
    out = n.Scalar();
    return true;
  }

  bool texts(const YAML::Node& n, const char* what, std::vector<std::string>& out) {
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      return true;
    }
    if (!n.IsSequence()) {
      error("E_TYPE", n, fmt::format("'{}' must be a list", what));
      return false;
    }
    bool ok = true;
    for (const auto& v : n) {
      std::string s;
      if (text(v, what, s)) {
        out.push_back(std::move(s));
      } else {
        ok = false;
      }
    }
    return ok;
  }

  Meta read_meta(const YAML::Node& d) {
    Meta m;
    for (const auto& kv : d) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      const auto& v = kv.second;
      if (key == "id") {
        text(v, "id", m.id);
      } else if (key == "name") {
        text(v, "name", m.name);
      } else if (key == "title") {
        text(v, "title", m.title);
      } else if (key == "description") {
        text(v, "description", m.description);
      } else if (key == "status") {
        text(v, "status", m.status);
      } else if (key == "author") {
        std::vector<std::string> a;
        if (texts(v, "author", a)) m.author = fmt::format("{}", fmt::join(a, ", "));
      } else if (key == "tags") {
        texts(v, "tags", m.tags);
      } else if (key == "falsepositives") {
        texts(v, "falsepositives", m.falsepositives);
      } else if (key == "level") {
        if (text(v, "level", m.level) && !map_.sev_of(m.level)) {
          error("E_SIGMA_LEVEL", v,
                fmt::format("unknown level '{}' (informational, low, medium, high, critical)",
                            m.level));
        }
      }
      // Other keys (references, date, modified, fields, license, custom
      // attributes) are kept by Sigma for people; they do not change matching.
    }
    if (m.title.empty()) {
      error("E_MISSING_KEY", d, "a Sigma document needs a 'title:'");
    }
    m.sev = map_.sev_of(m.level.empty() ? map_.default_level : m.level)
                .value_or(map_.sev_of(map_.default_level).value_or(3));
    return m;
  }

  void fill_rule(const Meta& m, const YAML::Node& d, Rule& r) {
    r.id = !m.id.empty() ? m.id : !m.name.empty() ? m.name : "sigma_" + slug(m.title);
    r.title = m.title.empty() ? r.id : m.title;
    r.description = m.description;
    if (!m.falsepositives.empty()) {
      r.description += fmt::format("{}False positives: {}", r.description.empty() ? "" : "\n\n",
                                   fmt::join(m.falsepositives, "; "));
    }
    r.tags = {"sigma"};
    if (!m.level.empty()) r.tags.push_back("sigma.level." + m.level);
    r.tags.insert(r.tags.end(), m.tags.begin(), m.tags.end());
    r.owner = m.author;
    r.loc = src_.at(d);
    r.runbook = "runbooks/" + r.id + ".md";
    r.status = m.status == "stable" ? "stable" : "experimental";
    if (m.status == "deprecated" || m.status == "unsupported") {
      r.enabled = false;
      diags_.warning(
          "W_SIGMA_DISABLED", src_.at(d["status"]),
          fmt::format("Sigma rule '{}' has status '{}': loaded but disabled", r.id, m.status));
    }
  }

  const SigmaLogsourceMap* logsource(const YAML::Node& d) {
    const YAML::Node n = d["logsource"];
    if (!n) {
      error("E_MISSING_KEY", d, "a Sigma rule needs 'logsource:'");
      return nullptr;
    }
    if (!n.IsMap()) {
      error("E_TYPE", n, "'logsource' must be a mapping (category, product, service)");
      return nullptr;
    }
    std::string keys[3];
    static const char* kNames[] = {"category", "product", "service"};
    for (int i = 0; i < 3; ++i) {
      const YAML::Node v = n[kNames[i]];
      if (v && !text(v, kNames[i], keys[i])) return nullptr;
    }
    const SigmaLogsourceMap* e = map_.find_logsource(keys[0], keys[1], keys[2]);
    if (e == nullptr) {
      std::vector<std::string> known;
      for (const auto& l : map_.logsources) known.push_back("(" + l.describe() + ")");
      SigmaLogsourceMap wanted{keys[0], keys[1], keys[2], {}, {}, {}, {}};
      error("E_SIGMA_UNMAPPED_LOGSOURCE", n,
            fmt::format("logsource ({}) has no entry in the Sigma mapping {} (known: {})",
                        wanted.describe(), map_.name, fmt::join(known, ", ")));
    }
    return e;
  }

  bool check_new(const Rule& r, const std::string& macro, const YAML::Node& d) {
    if (set_.find(r.id) != nullptr || set_.defs.macros.count(macro) != 0) {
      error("E_DUPLICATE_RULE", d, fmt::format("rule '{}' is defined twice", r.id));
      return false;
    }
    return true;
  }

  void remember(const Meta& m, const Rule& r, const std::string& macro,
                const SigmaLogsourceMap* ls) {
    const SigmaState::Known k{r.id, macro, ls, state_.mapping};
    state_.by_ref[r.id] = k;
    if (!m.id.empty()) state_.by_ref[m.id] = k;
    if (!m.name.empty()) state_.by_ref[m.name] = k;
  }

  void read_detection_rule(const YAML::Node& d) {
    const std::size_t before = error_count(diags_);
    const Meta meta = read_meta(d);
    const SigmaLogsourceMap* ls = logsource(d);
    if (ls == nullptr) return;
    auto detection = sigma::translate_detection(d["detection"], src_, *ls, diags_);
    if (!detection || error_count(diags_) != before) return;
    ast::ExprPtr body = std::move(detection);
    if (!ls->formats.empty()) {
      auto formats = std::make_unique<ast::Expr>();
      formats->kind = ast::Expr::Kind::check;
      formats->loc = src_.at(d["logsource"]);
      formats->field = "format";
      formats->op = ls->formats.size() == 1 ? ast::Op::eq : ast::Op::in;
      formats->list_syntax = ls->formats.size() > 1;
      for (const auto& f : ls->formats) formats->values.push_back({f, formats->loc, true});
      std::vector<ast::ExprPtr> both;
      both.push_back(std::move(formats));
      both.push_back(std::move(body));
      body = sigma::combine(ast::Expr::Kind::and_, std::move(both), src_.at(d));
    }
    Rule r;
    fill_rule(meta, d, r);
    const std::string macro = macro_name(r.id);
    if (!check_new(r, macro, d)) return;
    r.kind = RuleKind::aggregate;
    r.aggregate.function = AggregateSpec::Function::count;
    r.aggregate.group_by.clear();
    for (const auto f : map_.group_by) r.aggregate.group_by.push_back(field_ref(f));
    r.aggregate.window_ms = map_.window_ms;
    r.aggregate.tiers = {Tier{1, meta.sev}};
    r.condition_text = macro;
    r.condition_loc = src_.at(d["detection"]);
    MacroDef def;
    def.name = macro;
    def.text = ast::render(*body);
    def.loc = r.loc;
    def.expr = std::shared_ptr<const ast::Expr>(body.release());
    set_.defs.macros.emplace(macro, std::move(def));
    remember(meta, r, macro, ls);
    set_.rules.push_back(std::move(r));
  }

  // ---- correlations ------------------------------------------------------

  struct Threshold {
    double gte = 0;
    std::string field;
    YAML::Node field_node;
  };

  // `integral`: counts, so gt N is gte N + 1.
  bool threshold(const YAML::Node& n, bool with_field, bool integral, Threshold& out) {
    if (!n.IsMap()) {
      error("E_SIGMA_CORRELATION", n, "'condition' is a mapping such as {gte: 10}");
      return false;
    }
    bool ok = true;
    bool has_bound = false;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      if (key == "gte" || key == "gt") {
        double v = 0;
        const std::string s = kv.second.IsScalar() ? kv.second.Scalar() : "";
        char* end = nullptr;
        v = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) {
          error("E_SIGMA_CORRELATION", kv.second, fmt::format("'{}' needs a number", key));
          ok = false;
          continue;
        }
        if (has_bound) {
          error("E_SIGMA_CORRELATION", kv.first, "give one of gte, gt");
          ok = false;
        }
        has_bound = true;
        out.gte = key == "gte" ? v : integral ? std::floor(v) + 1 : std::nextafter(v, HUGE_VAL);
      } else if (key == "field" && with_field) {
        out.field_node = kv.second;
        ok = text(kv.second, "field", out.field) && ok;
      } else if (key == "lt" || key == "lte" || key == "eq" || key == "neq") {
        error("E_SIGMA_UNSUPPORTED_CONDITION", kv.first,
              fmt::format("'{}' is not supported: sevwatch's aggregates fire when the count "
                          "reaches a lower bound (gte, gt) within the timespan",
                          key));
        ok = false;
      } else {
        error("E_SIGMA_CORRELATION", kv.first,
              fmt::format("unknown key '{}' in the correlation's condition", key));
        ok = false;
      }
    }
    if (ok && !has_bound) {
      error("E_SIGMA_CORRELATION", n, "the condition needs gte or gt");
      ok = false;
    }
    if (ok && with_field && out.field.empty()) {
      error("E_SIGMA_CORRELATION", n, "this correlation's condition needs 'field:'");
      ok = false;
    }
    return ok;
  }

  // A correlation's field (group-by, value_count's field) as one condition
  // field or raw.<path>, mapped through every correlated rule's logsource.
  std::optional<FieldRef> field_of(const std::string& name, const YAML::Node& at,
                                   const std::vector<SigmaState::Known>& refs) {
    if (const FieldInfo* f = find_field(name)) return field_ref(f->field);
    std::optional<FieldRef> out;
    for (const auto& k : refs) {
      const auto t = map_sigma_field(*k.logsource, name);
      std::optional<FieldRef> f;
      if (t.found && !t.dropped && t.fields.size() == 1) f = find_field_ref(t.fields[0]);
      if (!f) {
        error("E_SIGMA_UNMAPPED_FIELD", at,
              fmt::format("'{}' must map to exactly one condition field or raw.<path> for "
                          "logsource ({}) to group or count by it",
                          name, k.logsource->describe()));
        return std::nullopt;
      }
      if (out && *out != *f) {
        error("E_SIGMA_UNMAPPED_FIELD", at,
              fmt::format("'{}' maps to different fields in the rules it correlates", name));
        return std::nullopt;
      }
      out = std::move(f);
    }
    if (!out) error("E_SIGMA_UNMAPPED_FIELD", at, fmt::format("'{}' is not mapped", name));
    return out;
  }

  void read_correlation_document(const YAML::Node& d) {
    const std::size_t before = error_count(diags_);
    const Meta meta = read_meta(d);
    const YAML::Node c = d["correlation"];
    if (!c.IsMap()) {
      error("E_SIGMA_CORRELATION", c, "'correlation' must be a mapping");
      return;
    }
    // Absent keys are undefined nodes (false); present ones are kept as read.
    const YAML::Node type_node = c["type"];
    const YAML::Node rules_node = c["rules"];
    const YAML::Node group_node = c["group-by"];
    const YAML::Node timespan_node = c["timespan"];
    const YAML::Node cond_node = c["condition"];
    std::string type;
    if (type_node) text(type_node, "type", type);
    bool generate = false;
    if (const YAML::Node g = d["generate"]) generate = g.IsScalar() && g.Scalar() == "true";
    for (const auto& kv : c) {
      const std::string key = kv.first.Scalar();
      if (key == "generate") {
        generate = kv.second.IsScalar() && kv.second.Scalar() == "true";
      } else if (key != "type" && key != "rules" && key != "group-by" && key != "timespan" &&
                 key != "condition") {
        error("E_SIGMA_UNSUPPORTED_CORRELATION", kv.first,
              fmt::format("correlation key '{}' is not supported", key));
      }
    }
    static const char* kTypes[] = {"event_count", "value_count", "value_sum", "temporal",
                                   "temporal_ordered"};
    if (!type_node) {
      error("E_MISSING_KEY", c, "a correlation needs 'type:'");
    } else if (std::find(std::begin(kTypes), std::end(kTypes), type) == std::end(kTypes)) {
      error("E_SIGMA_UNSUPPORTED_CORRELATION", type_node,
            fmt::format("correlation type '{}' is not supported ({})", type,
                        fmt::join(kTypes, ", ")));
    }
    // The rules it correlates.
    std::vector<SigmaState::Known> refs;
    std::vector<YAML::Node> ref_nodes;
    if (!rules_node) {
      error("E_MISSING_KEY", c, "a correlation needs 'rules:'");
    } else if (!rules_node.IsSequence() && !rules_node.IsScalar()) {
      error("E_TYPE", rules_node, "'rules' must be a list of rule ids or names");
    } else {
      if (rules_node.IsScalar()) {
        ref_nodes.push_back(rules_node);
      } else {
        for (const auto& r : rules_node) ref_nodes.push_back(r);
      }
      for (const auto& r : ref_nodes) {
        const std::string ref = r.IsScalar() ? r.Scalar() : "";
        const auto it = state_.by_ref.find(ref);
        if (it == state_.by_ref.end()) {
          error("E_SIGMA_UNKNOWN_RULE", r,
                fmt::format("no Sigma rule '{}' (by id or name) in the rule files loaded", ref));
        } else if (it->second.logsource == nullptr) {
          error("E_SIGMA_UNSUPPORTED_CORRELATION", r,
                fmt::format("'{}' is a correlation: chaining correlations is not supported", ref));
        } else {
          refs.push_back(it->second);
        }
      }
    }
    if (rules_node && ref_nodes.empty()) {
      error("E_SIGMA_CORRELATION", rules_node, "the correlation names no rules");
    }
    std::int64_t timespan = 0;
    if (!timespan_node) {
      error("E_MISSING_KEY", c, "a correlation needs 'timespan:'");
    } else {
      const auto ms =
          timespan_node.IsScalar() ? parse_duration_ms(timespan_node.Scalar()) : std::nullopt;
      if (!ms || *ms <= 0) {
        error("E_BAD_DURATION", timespan_node, "bad timespan (e.g. 30s, 15m, 1h, 1d)");
      } else {
        timespan = *ms;
      }
    }
    if (error_count(diags_) != before) return;
    std::vector<FieldRef> group;
    if (group_node) {
      std::vector<std::string> names;
      if (!texts(group_node, "group-by", names)) return;
      for (std::size_t i = 0; i < names.size(); ++i) {
        const auto f =
            field_of(names[i], group_node.IsSequence() ? group_node[i] : group_node, refs);
        if (f) group.push_back(*f);
      }
    }
    const bool temporal = type == "temporal" || type == "temporal_ordered";
    Threshold th;
    if (temporal) {
      if (refs.size() != 2) {
        error("E_SIGMA_UNSUPPORTED_CORRELATION", rules_node,
              fmt::format("a {} correlation of {} rules is not supported (exactly two)", type,
                          refs.size()));
      }
      if (cond_node && (!threshold(cond_node, false, true, th) || th.gte != 2)) {
        error("E_SIGMA_UNSUPPORTED_CONDITION", cond_node,
              "a temporal correlation needs every rule to match (no condition, or gte: 2)");
      }
    } else if (!cond_node) {
      error("E_MISSING_KEY", c, fmt::format("a {} correlation needs 'condition:'", type));
    } else if (threshold(cond_node, type != "event_count", type != "value_sum", th) &&
               !th.field.empty()) {
      field_of(th.field, th.field_node, refs);
    }
    if (error_count(diags_) != before) return;

    Rule r;
    fill_rule(meta, d, r);
    const std::string macro = macro_name(r.id);
    if (!check_new(r, macro, d)) return;
    if (temporal) {
      r.kind = RuleKind::sequence;
      r.sequence.by = group;
      r.sequence.group_by = group;
      r.sequence.within_ms = timespan;
      r.sequence.sev = meta.sev;
      for (std::size_t i = 0; i < 2; ++i) {
        r.sequence.steps.push_back(
            SequenceStep{ref_nodes[i].Scalar(), refs[i].macro, src_.at(ref_nodes[i]), nullptr, {}});
      }
      if (type == "temporal") {
        Rule reverse = r;
        reverse.id += ".reverse";
        reverse.title += " (reverse order)";
        std::swap(reverse.sequence.steps[0], reverse.sequence.steps[1]);
        if (!check_new(reverse, macro_name(reverse.id), d)) return;
        set_.rules.push_back(std::move(reverse));
      }
    } else {
      r.kind = RuleKind::aggregate;
      r.aggregate.function = type == "event_count"   ? AggregateSpec::Function::count
                             : type == "value_count" ? AggregateSpec::Function::count_distinct
                                                     : AggregateSpec::Function::sum;
      if (!th.field.empty()) r.aggregate.field = field_of(th.field, th.field_node, refs);
      r.aggregate.group_by = group;
      r.aggregate.window_ms = timespan;
      r.aggregate.tiers = {Tier{th.gte, meta.sev}};
      std::vector<std::string> macros;
      for (const auto& k : refs) macros.push_back(k.macro);
      r.condition_text = fmt::format("{}", fmt::join(macros, " or "));
      r.condition_loc = src_.at(rules_node);
    }
    if (!generate) {
      for (const auto& k : refs) {
        if (Rule* base = set_.find(k.rule_id)) base->enabled = false;
      }
    }
    remember(meta, r, macro, nullptr);
    set_.rules.push_back(std::move(r));
  }

  Source src_;
  RuleSet& set_;
  SigmaState& state_;
  const SigmaMapping& map_;
  Diagnostics& diags_;
};

}  // namespace

void use_sigma_mapping(RuleSet& set, std::shared_ptr<const SigmaMapping> mapping) {
  if (!set.sigma) set.sigma = std::make_shared<SigmaState>();
  set.sigma->mapping = std::move(mapping);
}

bool use_sigma_mapping_file(RuleSet& set, const std::string& path, Diagnostics& diags) {
  if (path.empty()) return true;
  auto mapping = load_sigma_mapping_file(path, diags);
  if (!mapping) return false;
  use_sigma_mapping(set, std::move(mapping));
  return true;
}

bool is_sigma_file(const std::vector<YAML::Node>& documents) {
  return std::any_of(documents.begin(), documents.end(), [](const YAML::Node& d) {
    return d.IsMap() && (d["detection"] || d["correlation"] || (d["filter"] && d["logsource"]));
  });
}

void resolve_sigma_correlations(RuleSet& set, Diagnostics& diags) {
  if (!set.sigma) return;
  auto pending = std::move(set.sigma->pending);
  set.sigma->pending.clear();
  for (const auto& p : pending) {
    SigmaReader(Source{p.file, *p.text}, set, *set.sigma, diags).read_correlation(p.document);
  }
}

void read_sigma_documents(const std::vector<YAML::Node>& documents, const std::string& file,
                          std::string_view text, RuleSet& set, Diagnostics& diags) {
  if (!set.sigma) set.sigma = std::make_shared<SigmaState>();
  if (!set.sigma->mapping) set.sigma->mapping = default_sigma_mapping();
  SigmaReader(Source{file, text}, set, *set.sigma, diags).read(documents);
}

}  // namespace sevwatch::rules
