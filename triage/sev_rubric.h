// The SEV rubric as data (spec/sev-rubric.md): the D x A base matrix, the
// evidence and scale modifiers, and routing per SEV. Loaded from YAML
// (rules/pack/sev_rubric.yaml is the shipped default); every decision returns
// the rubric line that set it, in words, for the incident's `sev_reason`.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "rules/classes.h"
#include "rules/diagnostic.h"

namespace sevwatch::triage {

struct SevInputs {
  rules::Level level = rules::Level::low;              // D
  rules::Audience audience = rules::Audience::narrow;  // A
  rules::Evidence evidence = rules::Evidence::none;    // E
  std::uint64_t objects = 0;                           // V
};

struct SevDecision {
  int sev = 5;
  std::string
      reason;  // e.g. "high sensitivity x company audience = SEV 2; 45000 objects: no scale change"
};

struct Route {
  std::string who;                 // e.g. "security on-call and incident commander"
  std::string how;                 // page | notify | ticket
  std::string pagerduty_severity;  // critical | error | warning | info
};

class SevRubric {
 public:
  static std::unique_ptr<SevRubric> load_file(const std::string& path, rules::Diagnostics& diags);
  static std::unique_ptr<SevRubric> load_string(std::string_view yaml, const std::string& name,
                                                rules::Diagnostics& diags);
  // The default rubric of spec/sev-rubric.md, compiled in from the shipped YAML.
  static std::unique_ptr<SevRubric> builtin_default();

  SevDecision decide(const SevInputs& in) const;
  const Route& route(int sev) const;

  struct Data;
  explicit SevRubric(std::shared_ptr<const Data> data);

 private:
  std::shared_ptr<const Data> data_;
};

}  // namespace sevwatch::triage
