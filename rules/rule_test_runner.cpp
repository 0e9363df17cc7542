#include "rules/rule_test_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "detectors/event_time.h"
#include "rules/engine.h"

namespace sevwatch::rules {
namespace {

using detectors::AccessEvent;

constexpr std::int64_t kTestEpoch = detectors::to_epoch_ms(2026, 1, 1, 0, 0, 0, 0);

struct Collect : FindingSink {
  std::map<std::string, Finding> last;
  void on_finding(const Finding& f) override {
    auto& slot = last[f.group_key];
    const auto objects = slot.objects;
    slot = f;
    (void)objects;
  }
};

std::string substitute(const std::string& s, int i) {
  const auto at = s.find("{i}");
  if (at == std::string::npos) return s;
  return s.substr(0, at) + std::to_string(i) + substitute(s.substr(at + 3), i);
}

detectors::ObjectLevel level_of(const std::string& name) {
  const auto dots = std::count(name.begin(), name.end(), '.');
  return dots >= 2   ? detectors::ObjectLevel::table
         : dots == 1 ? detectors::ObjectLevel::schema
                     : detectors::ObjectLevel::catalog;
}

bool build_event(const TestEvent& te, int i, AccessEvent& e, std::string& error) {
  e.time_ms = kTestEpoch + te.at_ms + i * te.every_ms;
  e.format = "test";
  e.result = detectors::Result::allowed;
  e.pos = {te.loc.file, static_cast<std::uint64_t>(te.loc.line), 0};
  for (const auto& [key, raw] : te.fields) {
    std::vector<std::string> vals;
    for (const auto& v : raw) vals.push_back(substitute(v, i));
    const std::string one = vals.empty() ? "" : vals[0];
    if (key == "action") {
      const auto& vocab = field_info(Field::action).vocabulary;
      const auto it = std::find(vocab.begin(), vocab.end(), one);
      if (it == vocab.end()) {
        error = fmt::format("unknown action '{}'", one);
        return false;
      }
      e.action = static_cast<detectors::Action>(it - vocab.begin());
    } else if (key == "result") {
      if (one == "allowed") {
        e.result = detectors::Result::allowed;
      } else if (one == "denied") {
        e.result = detectors::Result::denied;
      } else {
        e.result = detectors::Result::unknown;
      }
    } else if (key == "principal") {
      e.principal = one;
    } else if (key == "groups") {
      e.principal_groups = vals;
    } else if (key == "object") {
      e.object = {one, level_of(one), e.object.columns};
    } else if (key == "columns") {
      e.object.columns = one;
    } else if (key == "operation") {
      e.operation = one;
    } else if (key == "client_ip") {
      e.client_ip = one;
    } else if (key == "query") {
      e.query = one;
    } else if (key == "format") {
      e.format = one;
    } else if (key == "session") {
      e.session = one;
    } else if (key == "policy") {
      e.policy = one;
    } else if (key == "event_uid") {
      e.event_uid = one;
    } else if (key == "grantee" || key == "grantees") {
      for (const auto& g : vals) e.grant.grantees.push_back({detectors::GranteeKind::unknown, g});
    } else if (key == "privileges") {
      e.grant.privileges = vals;
    } else if (key == "target") {
      e.grant.target = {one, level_of(one), ""};
    } else if (key == "target_type") {
      e.grant.target_type = one;
    } else if (key == "raw") {
      e.raw = one;
    }
  }
  if ((e.action == detectors::Action::grant || e.action == detectors::Action::revoke)) {
    if (e.grant.privileges.empty()) e.grant.privileges = {"SELECT"};
    if (e.grant.target.name.empty()) e.grant.target = e.object;
    if (e.object.name.empty()) e.object = e.grant.target;
  }
  return true;
}

}  // namespace

RuleTestReport run_rule_tests(const RuleSet& set, const RuleTestOptions& options,
                              Diagnostics& diags) {
  RuleTestReport report;
  const auto builtin = Context::builtin_default();
  for (const auto& listed : set.rules) {
    if (!options.only_rule.empty() && listed.id != options.only_rule) continue;
    // A disabled rule is still tested: run its tests on a copy that enables it.
    std::unique_ptr<RuleSet> enabled;
    if (!listed.enabled && !listed.tests.empty()) {
      enabled = std::make_unique<RuleSet>(set);
      enabled->find(listed.id)->enabled = true;
    }
    const RuleSet& run_set = enabled ? *enabled : set;
    const Rule& rule = *run_set.find(listed.id);
    for (const auto& test : rule.tests) {
      ++report.run;
      RuleTestFailure fail{test.loc, rule.id, test.name, "", ""};
      // The context.
      std::unique_ptr<Context> owned;
      const Context* ctx = options.context ? options.context : builtin.get();
      std::string yaml = test.context_yaml;
      if (!test.context_ref.empty()) {
        const auto it = set.test_contexts.find(test.context_ref);
        if (it != set.test_contexts.end()) yaml = it->second.yaml;
      }
      if (!yaml.empty()) {
        Diagnostics cd;
        owned = Context::load_string(yaml, test.loc.file + " (test context)", cd);
        diags.append(cd);
        if (!owned) {
          fail.message = "the test's context does not load";
          report.failures.push_back(std::move(fail));
          continue;
        }
        ctx = owned.get();
      }
      // The events, in time order.
      std::vector<AccessEvent> events;
      std::string error;
      for (const auto& te : test.events) {
        for (int i = 0; i < te.repeat && error.empty(); ++i) {
          AccessEvent e;
          if (build_event(te, i, e, error)) events.push_back(std::move(e));
        }
      }
      if (!error.empty()) {
        fail.message = error;
        report.failures.push_back(std::move(fail));
        continue;
      }
      std::stable_sort(
          events.begin(), events.end(),
          [](const AccessEvent& a, const AccessEvent& b) { return a.time_ms < b.time_ms; });
      Collect sink;
      Engine engine(*ctx, run_set, sink);
      std::string explanation;
      for (const auto& e : events) {
        if (options.explain) {
          explanation += fmt::format("event at +{}s ({}:{}): {} {} {} by {}\n",
                                     (e.time_ms - kTestEpoch) / 1000, e.pos.file, e.pos.line,
                                     detectors::to_string(e.action), detectors::to_string(e.result),
                                     e.object.name, e.principal);
          explanation += engine.explain(rule, e);
        }
        engine.process(e);
      }
      engine.finish();
      // Compare.
      const std::string& want_rule = test.expect.rule.empty() ? rule.id : test.expect.rule;
      std::vector<const Finding*> got;
      for (const auto& [key, f] : sink.last) {
        if (f.rule_id == want_rule) got.push_back(&f);
      }
      std::vector<std::string> problems;
      const auto& ex = test.expect;
      if (ex.none && !got.empty()) {
        problems.push_back(fmt::format("expected no finding of {}, got {} ({})", want_rule,
                                       got.size(), got[0]->group_key));
      }
      if (ex.findings && got.size() != *ex.findings) {
        problems.push_back(fmt::format("expected {} finding(s) of {}, got {}", *ex.findings,
                                       want_rule, got.size()));
      }
      if (!ex.none && !ex.findings && got.empty()) {
        problems.push_back(fmt::format("expected a finding of {}, got none", want_rule));
      }
      for (const Finding* f : got) {
        if (ex.objects && f->objects != *ex.objects) {
          problems.push_back(fmt::format("{}: expected {} object(s), got {}", f->group_key,
                                         *ex.objects, f->objects));
        }
        if (ex.evidence && f->evidence != *ex.evidence) {
          problems.push_back(fmt::format("{}: expected evidence {}, got {}", f->group_key,
                                         to_string(*ex.evidence), to_string(f->evidence)));
        }
        if (ex.sev_hint && f->sev_hint != ex.sev_hint) {
          problems.push_back(fmt::format("{}: expected sev_hint {}, got {}", f->group_key,
                                         *ex.sev_hint,
                                         f->sev_hint ? std::to_string(*f->sev_hint) : "none"));
        }
      }
      if (problems.empty()) {
        ++report.passed;
        continue;
      }
      fail.message = fmt::format("{}", fmt::join(problems, "; "));
      fail.explanation = std::move(explanation);
      report.failures.push_back(std::move(fail));
    }
  }
  return report;
}

}  // namespace sevwatch::rules
