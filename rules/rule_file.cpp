#include "rules/rule_file.h"

#include <fmt/format.h>

#include <algorithm>

#include "rules/condition_parser.h"
#include "rules/rule_reader.h"
#include "rules/sigma_reader.h"

namespace sevwatch::rules {
namespace detail {

SourceLoc loc_of(const std::string& file, const YAML::Node& node) {
  const auto m = node.Mark();
  if (m.line < 0) return SourceLoc{file, 0, 0};
  return SourceLoc{file, m.line + 1, m.column + 1};  // yaml-cpp marks are 0-based
}

void RuleReader::read_document(const YAML::Node& root, RuleSet& set) {
  if (root.IsNull()) return;
  if (!root.IsSequence()) {
    diags_.error("E_TYPE", loc(root), "a rule file is a list of rules");
    return;
  }
  for (const auto& item : root) {
    if (!item.IsMap()) {
      diags_.error("E_TYPE", loc(item), "each list item must be a mapping with 'rule:'");
      continue;
    }
    if (item["list"]) {
      read_list(item, set);
    } else if (item["macro"]) {
      read_macro(item, set);
    } else if (item["test_context"]) {
      read_test_context(item, set);
    } else if (item["rule"] && item["override"]) {
      read_override(item, set);
    } else {
      Rule rule;
      if (read_rule(item, rule)) set.rules.push_back(std::move(rule));
    }
  }
}

namespace {

// `append: true` or `override: {<key>: append|replace}`; nullopt: define.
struct Merge {
  bool present = false;
  bool append = false;
};

}  // namespace

void RuleReader::read_list(const YAML::Node& item, RuleSet& set) {
  ListDef def;
  def.loc = loc(item);
  Merge merge;
  bool ok = true;
  for (const auto& kv : item) {
    const std::string key = kv.first.Scalar();
    const auto& v = kv.second;
    if (key == "list") {
      ok = scalar(v, "list", def.name) && ok;
    } else if (key == "items") {
      if (!v.IsSequence()) {
        diags_.error("E_TYPE", loc(v), "'items' must be a list");
        ok = false;
        continue;
      }
      for (const auto& i : v) {
        std::string s;
        if (scalar(i, "items", s)) def.items.push_back(ast::Value{s, loc(i), false});
      }
    } else if (key == "append") {
      bool b = false;
      if (boolean(v, "append", b)) merge = {b, b};
    } else if (key == "override") {
      if (!v.IsMap() || v.size() != 1 || !v["items"]) {
        diags_.error("E_BAD_OVERRIDE", loc(v), "a list's override is {items: append|replace}");
        ok = false;
        continue;
      }
      const auto how = v["items"].Scalar();
      if (how != "append" && how != "replace") {
        diags_.error("E_BAD_OVERRIDE", loc(v["items"]), "override must be append or replace");
        ok = false;
        continue;
      }
      merge = {true, how == "append"};
    } else {
      unknown_key(kv.first, "list");
    }
  }
  if (!ok || def.name.empty()) return;
  auto it = set.defs.lists.find(def.name);
  if (merge.present) {
    if (it == set.defs.lists.end()) {
      diags_.error("E_UNKNOWN_LIST", def.loc,
                   fmt::format("cannot override list '{}': it is not defined earlier", def.name));
      return;
    }
    if (merge.append) {
      it->second.items.insert(it->second.items.end(), def.items.begin(), def.items.end());
    } else {
      it->second.items = std::move(def.items);
    }
    return;
  }
  if (it != set.defs.lists.end()) {
    diags_.error("E_DUPLICATE_DEFINITION", def.loc,
                 fmt::format("list '{}' is already defined at {}:{} (use append: true or "
                             "override: {{items: replace}})",
                             def.name, it->second.loc.file, it->second.loc.line));
    return;
  }
  set.defs.lists.emplace(def.name, std::move(def));
}

void RuleReader::read_macro(const YAML::Node& item, RuleSet& set) {
  MacroDef def;
  def.loc = loc(item);
  Merge merge;
  bool ok = true;
  SourceLoc text_loc;
  for (const auto& kv : item) {
    const std::string key = kv.first.Scalar();
    const auto& v = kv.second;
    if (key == "macro") {
      ok = scalar(v, "macro", def.name) && ok;
    } else if (key == "condition") {
      ok = scalar(v, "condition", def.text) && ok;
      text_loc = loc(v);
    } else if (key == "append") {
      bool b = false;
      if (boolean(v, "append", b)) merge = {b, b};
    } else if (key == "override") {
      if (!v.IsMap() || v.size() != 1 || !v["condition"] ||
          (v["condition"].Scalar() != "append" && v["condition"].Scalar() != "replace")) {
        diags_.error("E_BAD_OVERRIDE", loc(v), "a macro's override is {condition: append|replace}");
        ok = false;
        continue;
      }
      merge = {true, v["condition"].Scalar() == "append"};
    } else {
      unknown_key(kv.first, "macro");
    }
  }
  if (!ok || def.name.empty()) return;
  if (find_field(def.name) != nullptr) {
    diags_.error("E_INVALID_NAME", def.loc,
                 fmt::format("macro '{}' would hide the field of that name", def.name));
    return;
  }
  // Appending "and X" / "or X" combines with that operator; anything else is OR-ed.
  auto combine_kind = ast::Expr::Kind::or_;
  std::string_view text = def.text;
  const auto trimmed = text.substr(std::min(text.size(), text.find_first_not_of(" \t\n")));
  std::size_t skip = 0;
  if (merge.append && trimmed.rfind("and ", 0) == 0) {
    combine_kind = ast::Expr::Kind::and_;
    skip = 4;
  } else if (merge.append && trimmed.rfind("or ", 0) == 0) {
    skip = 3;
  }
  SourceLoc at = text_loc;
  at.col += static_cast<int>(text.size() - trimmed.size() + skip);
  auto expr = parse_condition(trimmed.substr(skip), at, diags_);
  if (!expr) return;
  auto it = set.defs.macros.find(def.name);
  if (merge.present) {
    if (it == set.defs.macros.end()) {
      diags_.error("E_UNKNOWN_MACRO", def.loc,
                   fmt::format("cannot override macro '{}': it is not defined earlier", def.name));
      return;
    }
    if (merge.append) {
      auto both = std::make_shared<ast::Expr>();
      both->kind = combine_kind;
      both->loc = it->second.loc;
      both->kids.push_back(ast::clone(*it->second.expr));
      both->kids.push_back(std::move(expr));
      it->second.expr = std::move(both);
      it->second.text = "(" + it->second.text + ") " +
                        (combine_kind == ast::Expr::Kind::and_ ? "and" : "or") + " (" +
                        std::string(trimmed.substr(skip)) + ")";
    } else {
      it->second.expr = std::move(expr);
      it->second.text = def.text;
    }
    return;
  }
  if (it != set.defs.macros.end()) {
    diags_.error("E_DUPLICATE_DEFINITION", def.loc,
                 fmt::format("macro '{}' is already defined at {}:{} (use append: true or "
                             "override: {{condition: replace}})",
                             def.name, it->second.loc.file, it->second.loc.line));
    return;
  }
  def.expr = std::move(expr);
  set.defs.macros.emplace(def.name, std::move(def));
}

void RuleReader::read_test_context(const YAML::Node& item, RuleSet& set) {
  TestContext tc;
  tc.loc = loc(item);
  for (const auto& kv : item) {
    const std::string key = kv.first.Scalar();
    if (key == "test_context") {
      scalar(kv.second, "test_context", tc.name);
    } else if (key == "context") {
      if (!kv.second.IsMap()) {
        diags_.error("E_TYPE", loc(kv.second), "'context' must be a mapping (spec/context.md)");
        continue;
      }
      YAML::Emitter em;
      em << kv.second;
      tc.yaml = em.c_str();
    } else {
      unknown_key(kv.first, "test_context");
    }
  }
  if (tc.name.empty() || tc.yaml.empty()) {
    diags_.error("E_MISSING_KEY", tc.loc, "a test_context needs a name and 'context:'");
    return;
  }
  if (!set.test_contexts.emplace(tc.name, tc).second) {
    diags_.error("E_DUPLICATE_DEFINITION", tc.loc,
                 fmt::format("test_context '{}' is defined twice", tc.name));
  }
}

void RuleReader::read_override(const YAML::Node& item, RuleSet& set) {
  std::string id;
  scalar(item["rule"], "rule", id);
  Rule* target = set.find(id);
  if (target == nullptr) {
    diags_.error("E_UNKNOWN_RULE", loc(item),
                 fmt::format("cannot override rule '{}': it is not defined earlier", id));
    return;
  }
  const auto ov = item["override"];
  if (!ov.IsMap()) {
    diags_.error("E_BAD_OVERRIDE", loc(ov), "'override' must map keys to append|replace");
    return;
  }
  for (const auto& kv : ov) {
    const std::string key = kv.first.Scalar();
    const std::string how = kv.second.IsScalar() ? kv.second.Scalar() : "";
    const bool allowed = (key == "exceptions" && (how == "append" || how == "replace")) ||
                         (key == "enabled" && how == "replace") ||
                         (key == "tests" && how == "append");
    if (!allowed) {
      diags_.error("E_BAD_OVERRIDE", loc(kv.first),
                   fmt::format("cannot override '{}' with '{}' (exceptions: append|replace, "
                               "enabled: replace, tests: append)",
                               key, how));
      continue;
    }
    const auto v = item[key];
    if (!v) {
      diags_.error("E_MISSING_KEY", loc(kv.first),
                   fmt::format("override names '{}' but the item has no '{}:'", key, key));
      continue;
    }
    if (key == "exceptions") {
      std::vector<RuleException> ex;
      read_exceptions(v, ex);
      if (how == "replace") target->exceptions.clear();
      for (auto& e : ex) target->exceptions.push_back(std::move(e));
    } else if (key == "enabled") {
      boolean(v, "enabled", target->enabled);
    } else if (key == "tests") {
      read_tests(v, target->tests);
    }
  }
  for (const auto& kv : item) {
    const std::string key = kv.first.Scalar();
    if (key != "rule" && key != "override" && !ov[key]) unknown_key(kv.first, "rule override");
  }
}

bool RuleReader::read_rule(const YAML::Node& item, Rule& rule) {
  const std::size_t errors_before = error_count();
  rule.loc = loc(item);
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
        diags_.error("E_BAD_STATUS", loc(v),
                     fmt::format("status '{}' must be stable or experimental", rule.status));
      }
    } else if (key == "owner") {
      scalar(v, "owner", rule.owner);
    } else if (key == "runbook") {
      scalar(v, "runbook", rule.runbook);
    } else if (key == "enabled") {
      boolean(v, "enabled", rule.enabled);
    } else if (key == "kind") {
      std::string k;
      if (!scalar(v, "kind", k)) continue;
      has_kind = true;
      static const std::pair<const char*, RuleKind> kKinds[] = {
          {"exposure", RuleKind::exposure},
          {"exposure_evidence", RuleKind::exposure_evidence},
          {"aggregate", RuleKind::aggregate},
          {"sequence", RuleKind::sequence},
          {"first_seen", RuleKind::first_seen}};
      const auto it = std::find_if(std::begin(kKinds), std::end(kKinds),
                                   [&](const auto& p) { return k == p.first; });
      if (it == std::end(kKinds)) {
        diags_.error("E_UNKNOWN_KIND", loc(v),
                     fmt::format("unknown rule kind '{}' (exposure, exposure_evidence, aggregate, "
                                 "sequence, first_seen)",
                                 k));
      } else {
        rule.kind = it->second;
      }
    } else if (key == "condition") {
      if (!scalar(v, "condition", rule.condition_text)) continue;
      // A plain scalar starts at its mark; quoted or block scalars do not
      // map columns one to one, so positions there point at the value.
      rule.condition_loc = loc(v);
      parse_condition(rule.condition_text, rule.condition_loc, diags_);  // syntax now
    } else if (key == "exposure") {
      read_exposure(v, rule.exposure);
    } else if (key == "evidence") {
      if (!v.IsMap()) {
        diags_.error("E_TYPE", loc(v), "'evidence' must be a mapping");
        continue;
      }
      for (const auto& ekv : v) {
        if (ekv.first.Scalar() == "attach_to") {
          string_list(ekv.second, "attach_to", rule.evidence.attach_to);
        } else {
          unknown_key(ekv.first, "evidence");
        }
      }
    } else if (key == "aggregate") {
      read_aggregate(v, rule.aggregate);
    } else if (key == "sequence") {
      read_sequence(v, rule.sequence);
    } else if (key == "first_seen") {
      read_first_seen(v, rule.first_seen);
    } else if (key == "exceptions") {
      read_exceptions(v, rule.exceptions);
    } else if (key == "tests") {
      read_tests(v, rule.tests);
    } else {
      unknown_key(kv.first, "rule");
    }
  }
  if (rule.id.empty()) diags_.error("E_MISSING_KEY", rule.loc, "rule has no 'rule:' id");
  if (!has_kind) diags_.error("E_MISSING_KEY", rule.loc, "rule has no 'kind:'");
  if (rule.title.empty()) rule.title = rule.id;
  if (rule.runbook.empty() && !rule.id.empty()) rule.runbook = "runbooks/" + rule.id + ".md";
  const auto need = [&](bool present, const char* what) {
    if (has_kind && !present) {
      diags_.error("E_MISSING_KEY", rule.loc,
                   fmt::format("a {} rule needs '{}'", to_string(rule.kind), what));
    }
  };
  switch (rule.kind) {
    case RuleKind::exposure:
      need(!rule.exposure.audiences.empty(), "exposure: audiences:");
      break;
    case RuleKind::exposure_evidence:
      need(!rule.evidence.attach_to.empty(), "evidence: attach_to:");
      break;
    case RuleKind::aggregate:
      need(bool(item["aggregate"]), "aggregate:");
      need(!rule.aggregate.tiers.empty(), "aggregate: tiers:");
      break;
    case RuleKind::sequence:
      need(rule.sequence.steps.size() == 2, "sequence: steps: (exactly two)");
      need(!rule.sequence.by.empty(), "sequence: by:");
      break;
    case RuleKind::first_seen:
      need(!rule.first_seen.key.empty(), "first_seen: key:");
      break;
  }
  return error_count() == errors_before;
}

}  // namespace detail

void load_rules_string(std::string_view yaml, const std::string& name, RuleSet& set,
                       Diagnostics& diags) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    diags.error("E_YAML", SourceLoc{name, e.mark.line + 1, e.mark.column + 1}, e.msg);
    return;
  }
  if (is_sigma_file(documents)) return read_sigma_documents(documents, name, yaml, set, diags);
  detail::RuleReader(name, diags)
      .read_document(documents.empty() ? YAML::Node() : documents[0], set);
}

}  // namespace sevwatch::rules
