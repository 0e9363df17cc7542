// The condition fields of one event: the event's own fields, and fields
// derived (lazily) from the context and the exposure state.
//
// raw.<path> fields parse the event's source record (AccessEvent::raw) with
// simdjson the first time one is asked for; the parsed record is kept per
// thread and reused for as long as the fields asked are of events with the
// same record, so an event's record is parsed once however many rules (and
// EventFields) read it. No exceptions, and no allocation once warm.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "detectors/access_event.h"
#include "rules/condition.h"
#include "rules/context.h"
#include "rules/exposure_state.h"

namespace sevwatch::rules {

class EventFields : public FieldSource {
 public:
  EventFields(const detectors::AccessEvent& event, const Context& context,
              const ExposureState& exposure, std::optional<ObjectId> object)
      : e_(event), context_(context), exposure_(exposure), object_(object) {}

  void values(Field f, std::vector<std::string_view>& out) const override;
  void raw_values(std::span<const std::string> path,
                  std::vector<std::string_view>& out) const override;
  int code(Field f) const override;
  const detectors::AccessEvent& event() const { return e_; }
  // The event's object as interned by the engine (table-level objects only).
  std::optional<ObjectId> object() const { return object_; }
  const ExposureState& exposure() const { return exposure_; }

 private:
  const detectors::AccessEvent& e_;
  const Context& context_;
  const ExposureState& exposure_;
  std::optional<ObjectId> object_;
  mutable char hour_[3] = {};
  mutable char number_[32] = {};         // a raw number's text
  mutable std::uint64_t raw_parse_ = 0;  // the per-thread parse that holds e_.raw (0: none yet)
};

// Appends the values of a catalog field or a raw.<path> to `out`.
void field_values(const FieldSource& source, const FieldRef& field,
                  std::vector<std::string_view>& out);

// Appends the values of `fields` to `out` as one group key: values of one
// field joined by ',', fields by '|'. Does not allocate once `out` has grown.
void append_group_key(const FieldSource& source, const std::vector<FieldRef>& fields,
                      std::string& out);

}  // namespace sevwatch::rules
