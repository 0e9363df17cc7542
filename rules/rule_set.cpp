// Loading files into a RuleSet, and compiling it: names resolved across
// files, conditions type-checked and compiled, exceptions compiled, lints.
#include <fmt/format.h>

#include <algorithm>
#include <bitset>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "rules/condition_parser.h"
#include "rules/rule_file.h"
#include "rules/shipped_pack.h"
#include "rules/sigma_reader.h"

namespace sevwatch::rules {
namespace {

using FieldBits = std::bitset<kFieldCount>;

// Marks the catalog fields a (resolved) condition reads.
void note_fields(const ast::Expr& e, FieldBits& out) {
  if (e.kind == ast::Expr::Kind::check) {
    if (const FieldInfo* f = find_field(e.field)) out.set(static_cast<std::size_t>(f->field));
  }
  for (const auto& k : e.kids) {
    if (k) note_fields(*k, out);
  }
}

void note_fields(const std::vector<FieldRef>& fields, FieldBits& out) {
  for (const auto& f : fields) {
    if (!f.is_raw()) out.set(static_cast<std::size_t>(f.field));
  }
}

bool any_raw(const std::vector<FieldRef>& fields) {
  return std::any_of(fields.begin(), fields.end(), [](const FieldRef& f) { return f.is_raw(); });
}

// Whether the rule reads raw.<path> values outside its conditions.
bool reads_raw_values(const Rule& r) {
  switch (r.kind) {
    case RuleKind::aggregate:
      return any_raw(r.aggregate.group_by) || (r.aggregate.field && r.aggregate.field->is_raw());
    case RuleKind::sequence:
      return any_raw(r.sequence.by) || any_raw(r.sequence.group_by);
    case RuleKind::first_seen:
      return any_raw(r.first_seen.key);
    default:
      return false;
  }
}

// text -> parse -> resolve -> type check -> compile.
bool compile_text(const std::string& text, const SourceLoc& loc, const RuleSet& set,
                  Diagnostics& diags, std::vector<std::string>& used,
                  std::shared_ptr<const Condition>& out, ActionMask& actions, FieldBits& fields,
                  Rule* index_of = nullptr) {
  auto expr = parse_condition(text, loc, diags);
  if (!expr) return false;
  if (!resolve_names(expr, set.defs, diags, &used)) return false;
  if (!type_check(*expr, diags)) return false;
  note_fields(*expr, fields);
  actions = possible_actions(*expr);
  if (index_of != nullptr) {
    index_of->object_prefixes = required_prefixes(*expr, "object");
    index_of->principal_prefixes = required_prefixes(*expr, "principal");
  }
  out = compile_ast(*expr);
  return true;
}

bool compile_exception(RuleException& ex, Diagnostics& diags, FieldBits& fields) {
  std::vector<ast::Op> ops;
  for (std::size_t i = 0; i < ex.fields.size(); ++i) {
    const std::string comp = ex.comps.empty() ? (ex.fields.size() == 1 ? "in" : "=") : ex.comps[i];
    const auto op = parse_operator(comp);
    if (!op || *op == ast::Op::exists) {
      diags.error("E_BAD_EXCEPTION", ex.loc,
                  fmt::format("exception '{}': unknown operator '{}'", ex.name, comp));
      return false;
    }
    ops.push_back(*op);
  }
  auto any = std::make_unique<ast::Expr>();
  any->kind = ast::Expr::Kind::or_;
  any->loc = ex.loc;
  auto check = [&](std::size_t i, std::vector<ast::Value> values) {
    auto c = std::make_unique<ast::Expr>();
    c->kind = ast::Expr::Kind::check;
    c->loc = values.empty() ? ex.loc : values[0].loc;
    c->field = ex.fields[i];
    c->op = ops[i];
    c->list_syntax = ops[i] == ast::Op::in || values.size() > 1;
    c->values = std::move(values);
    return c;
  };
  if (ex.fields.size() == 1 && ops[0] == ast::Op::in) {
    std::vector<ast::Value> all;
    for (const auto& row : ex.values) all.insert(all.end(), row.begin(), row.end());
    any->kids.push_back(check(0, std::move(all)));
  } else {
    for (const auto& row : ex.values) {
      auto both = std::make_unique<ast::Expr>();
      both->kind = ast::Expr::Kind::and_;
      both->loc = ex.loc;
      for (std::size_t i = 0; i < row.size(); ++i) {
        both->kids.push_back(check(i, {row[i]}));
      }
      any->kids.push_back(std::move(both));
    }
  }
  if (any->kids.empty()) {
    diags.error("E_BAD_EXCEPTION", ex.loc, fmt::format("exception '{}' has no values", ex.name));
    return false;
  }
  if (!type_check(*any, diags)) return false;
  note_fields(*any, fields);
  ex.matcher = compile_ast(*any);
  return true;
}

}  // namespace

std::string_view to_string(RuleKind k) {
  switch (k) {
    case RuleKind::exposure:
      return "exposure";
    case RuleKind::exposure_evidence:
      return "exposure_evidence";
    case RuleKind::aggregate:
      return "aggregate";
    case RuleKind::sequence:
      return "sequence";
    case RuleKind::first_seen:
      return "first_seen";
  }
  return "unknown";
}

const Rule* RuleSet::find(std::string_view id) const {
  for (const auto& r : rules) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

Rule* RuleSet::find(std::string_view id) {
  for (auto& r : rules) {
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
  compile_rule_set(set, diags);
}

void compile_rule_set(RuleSet& set, Diagnostics& diags) {
  resolve_sigma_correlations(set, diags);  // every file is read: their rules are known
  set.used_names.clear();
  std::vector<Rule> kept;
  kept.reserve(set.rules.size());
  set.fields_used.reset();
  for (auto& r : set.rules) {
    bool ok = true;
    FieldBits fields;
    if (!r.condition_text.empty()) {
      ok = compile_text(r.condition_text, r.condition_loc, set, diags, set.used_names, r.condition,
                        r.actions, fields, &r);
    } else {
      r.condition.reset();
      r.actions.set();
      r.object_prefixes.reset();
      r.principal_prefixes.reset();
    }
    for (auto& step : r.sequence.steps) {
      ok = compile_text(step.condition_text, step.loc, set, diags, set.used_names, step.condition,
                        step.actions, fields) &&
           ok;
    }
    for (auto& ex : r.exceptions) ok = compile_exception(ex, diags, fields) && ok;
    if (!ok) continue;
    // Fields read as values, beside the conditions (disabled rules read none).
    if (r.kind == RuleKind::aggregate) {
      note_fields(r.aggregate.group_by, fields);
      if (r.aggregate.field) note_fields({*r.aggregate.field}, fields);
    } else if (r.kind == RuleKind::sequence) {
      note_fields(r.sequence.by, fields);
      note_fields(r.sequence.group_by, fields);
    } else if (r.kind == RuleKind::first_seen) {
      note_fields(r.first_seen.key, fields);
    }
    if (r.enabled) set.fields_used |= fields;
    kept.push_back(std::move(r));
  }
  set.rules = std::move(kept);
  set.uses_raw = false;
  for (const auto& r : set.rules) {
    auto raw = [](const auto& c) { return c && c->uses_raw(); };
    set.uses_raw = set.uses_raw || raw(r.condition) || reads_raw_values(r) ||
                   std::any_of(r.sequence.steps.begin(), r.sequence.steps.end(),
                               [&](const auto& st) { return raw(st.condition); }) ||
                   std::any_of(r.exceptions.begin(), r.exceptions.end(),
                               [&](const auto& ex) { return raw(ex.matcher); });
  }
  // Macros are compiled where they are used; check the unused ones alone.
  for (const auto& [name, m] : set.defs.macros) {
    if (std::find(set.used_names.begin(), set.used_names.end(), name) != set.used_names.end()) {
      continue;
    }
    auto e = ast::clone(*m.expr);
    if (resolve_names(e, set.defs, diags, &set.used_names)) type_check(*e, diags);
  }
}

void check_rule_set(RuleSet& set, Diagnostics& diags, std::int64_t now_ms) {
  compile_rule_set(set, diags);
  if (now_ms == 0) {
    now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  }
  std::set<std::string> seen;
  for (const auto& r : set.rules) {
    if (!r.id.empty() && !seen.insert(r.id).second) {
      diags.error("E_DUPLICATE_RULE", r.loc,
                  fmt::format("rule '{}' is defined twice (to tune a rule from another file, "
                              "use override:)",
                              r.id));
    }
  }
  for (const auto& r : set.rules) {
    if (r.kind == RuleKind::exposure_evidence) {
      for (const auto& target : r.evidence.attach_to) {
        const Rule* t = set.find(target);
        if (t == nullptr || t->kind != RuleKind::exposure) {
          diags.error("E_UNKNOWN_RULE", r.loc,
                      fmt::format("'attach_to' names '{}', which is not an exposure rule", target));
        }
      }
    }
    for (const auto& ex : r.exceptions) {
      if (ex.expires_ms != 0 && ex.expires_ms <= now_ms) {
        diags.warning("W_EXPIRED_EXCEPTION", ex.loc,
                      fmt::format("exception '{}' of rule '{}' (owner {}) expired on {}; it no "
                                  "longer suppresses anything: renew or remove it",
                                  ex.name, r.id, ex.owner, ex.expires));
      }
    }
    for (const auto& t : r.tests) {
      if (!t.context_ref.empty() && !set.test_contexts.count(t.context_ref)) {
        diags.error("E_UNKNOWN_CONTEXT", t.loc,
                    fmt::format("test '{}' names test_context '{}', which is not defined", t.name,
                                t.context_ref));
      }
      if (!t.expect.rule.empty() && set.find(t.expect.rule) == nullptr) {
        diags.error("E_UNKNOWN_RULE", t.loc,
                    fmt::format("test '{}' expects findings of '{}', which is not a rule", t.name,
                                t.expect.rule));
      }
    }
  }
  auto used = [&](const std::string& name) {
    return std::find(set.used_names.begin(), set.used_names.end(), name) != set.used_names.end();
  };
  for (const auto& [name, l] : set.defs.lists) {
    if (!used(name)) {
      diags.warning("W_UNUSED_LIST", l.loc, fmt::format("list '{}' is never used", name));
    }
  }
  for (const auto& [name, m] : set.defs.macros) {
    if (!used(name)) {
      diags.warning("W_UNUSED_MACRO", m.loc, fmt::format("macro '{}' is never used", name));
    }
  }
}

}  // namespace sevwatch::rules
