// Helpers of the Sigma import tests (tests/rules/sigma_*_test.cpp): load Sigma
// rules, decode fixture logs, run events through a real Engine.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "detectors/decoder.h"
#include "rules/condition.h"
#include "rules/context.h"
#include "rules/engine.h"
#include "rules/rule_file.h"
#include "rules/sigma_mapping.h"
#include "rules/sigma_reader.h"
#include "tests/test_support.h"

namespace sevwatch::testing::sigma {

using detectors::AccessEvent;
using detectors::Action;
using detectors::Result;

// 2026-08-20T10:00:00Z, the day of the fixtures.
inline constexpr std::int64_t kT0 = 1'787'220'000'000;
inline constexpr std::int64_t kMin = 60'000;

// A far-future "now" is not needed: the fixtures have no exceptions.
inline constexpr std::int64_t kNow = kT0;

struct Loaded {
  rules::RuleSet set;
  rules::Diagnostics diags;
  std::string text() const { return diags.to_text(); }
  // Whether `code` was reported at line:col of `file`.
  bool has(const std::string& code, int line, int col) const {
    for (const auto& d : diags.all()) {
      if (d.code == code && d.loc.line == line && d.loc.col == col) return true;
    }
    return false;
  }
  bool has_code(const std::string& code) const {
    for (const auto& d : diags.all()) {
      if (d.code == code) return true;
    }
    return false;
  }
  const rules::Rule& rule(const std::string& id) const {
    const rules::Rule* r = set.find(id);
    INFO("no rule " << id << "\n" << text());
    REQUIRE(r != nullptr);
    return *r;
  }
  // The condition a Sigma rule was translated into (its `sigma:<id>` macro).
  std::string condition(const std::string& id) const {
    const auto it = set.defs.macros.find("sigma:" + id);
    INFO("no macro sigma:" << id << "\n" << text());
    REQUIRE(it != set.defs.macros.end());
    return it->second.text;
  }
};

inline std::shared_ptr<const rules::SigmaMapping> no_raw_mapping() {
  rules::Diagnostics d;
  auto m = rules::load_sigma_mapping_file(fixture("sigma/mapping_no_raw.yaml").string(), d);
  INFO(d.to_text());
  REQUIRE(m != nullptr);
  return m;
}

// Loads Sigma text (and compiles, as `rules check` does).
inline std::unique_ptr<Loaded> load_text(const std::string& yaml,
                                         std::shared_ptr<const rules::SigmaMapping> mapping = {},
                                         const std::string& name = "t.yml") {
  auto l = std::make_unique<Loaded>();
  if (mapping) rules::use_sigma_mapping(l->set, std::move(mapping));
  rules::load_rules_string(yaml, name, l->set, l->diags);
  rules::check_rule_set(l->set, l->diags, kNow);
  return l;
}

inline std::unique_ptr<Loaded> load_fixture(
    const std::string& rel, std::shared_ptr<const rules::SigmaMapping> mapping = {}) {
  auto l = std::make_unique<Loaded>();
  if (mapping) rules::use_sigma_mapping(l->set, std::move(mapping));
  rules::load_rules_path(fixture(rel).string(), l->set, l->diags);
  rules::check_rule_set(l->set, l->diags, kNow);
  return l;
}

struct Collect : detectors::EventSink {
  std::vector<AccessEvent> events;
  void on_event(AccessEvent&& e) override { events.push_back(std::move(e)); }
  void on_weird(detectors::Weird&&) override {}
};

// The events of a fixture log, in event-time order (as `scan` feeds them).
inline std::vector<AccessEvent> decode(const std::string& format, const std::string& rel,
                                       bool keep_raw = false) {
  detectors::DecoderRegistry registry;
  detectors::register_builtin_decoders(registry);
  const auto* info = registry.find(format);
  REQUIRE(info != nullptr);
  detectors::DecoderOptions opts;
#if __has_include("detectors/raw_record.h")
  opts.keep_raw = keep_raw;
#else
  (void)keep_raw;
#endif
  auto decoder = info->make(opts);
  Collect sink;
  const std::string text = read_file(fixture(rel));
  std::size_t start = 0;
  std::uint64_t line = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    detectors::SourcePos pos{rel, ++line, start};
    decoder->decode_line(std::string_view(text).substr(start, end - start), pos, sink);
    start = end + 1;
  }
  decoder->finish(sink);
  std::stable_sort(
      sink.events.begin(), sink.events.end(),
      [](const AccessEvent& a, const AccessEvent& b) { return a.time_ms < b.time_ms; });
  return std::move(sink.events);
}

struct Findings : rules::FindingSink {
  std::vector<rules::Finding> all;
  void on_finding(const rules::Finding& f) override { all.push_back(f); }
  // The last update of each finding of `rule`.
  std::vector<rules::Finding> of(const std::string& rule) const {
    std::vector<rules::Finding> out;
    for (const auto& f : all) {
      if (f.rule_id != rule) continue;
      auto it = std::find_if(out.begin(), out.end(),
                             [&](const rules::Finding& o) { return o.group_key == f.group_key; });
      if (it == out.end()) {
        out.push_back(f);
      } else {
        *it = f;
      }
    }
    return out;
  }
};

inline Findings run(const rules::RuleSet& set, const std::vector<AccessEvent>& events) {
  auto context = rules::Context::builtin_default();
  Findings sink;
  rules::Engine engine(*context, set, sink);
  for (const auto& e : events) engine.process(e);
  engine.finish();
  return sink;
}

inline AccessEvent event(const std::string& format, Action action, const std::string& principal,
                         std::int64_t at, const std::string& operation = "",
                         const std::string& object = "", const std::string& query = "",
                         Result result = Result::allowed) {
  AccessEvent e;
  e.format = format;
  e.action = action;
  e.principal = principal;
  e.time_ms = at;
  e.operation = operation;
  e.object.name = object;
  e.object.level = object.empty() ? detectors::ObjectLevel::none : detectors::ObjectLevel::table;
  e.query = query;
  e.result = result;
  return e;
}

// Whether this build's condition language has raw.<path> fields (another
// change adds them); tests that need them are skipped without.
inline bool raw_supported() {
  rules::Diagnostics d;
  auto c = rules::compile_condition("raw.eventSource exists", rules::SourceLoc{"probe", 1, 1}, d);
  return c != nullptr;
}

}  // namespace sevwatch::testing::sigma
