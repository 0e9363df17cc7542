// The condition fields of one event: the event's own fields, and fields
// derived (lazily) from the context and the exposure state.
#pragma once

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
  const detectors::AccessEvent& event() const { return e_; }
  std::optional<ObjectId> object() const { return object_; }

 private:
  const detectors::AccessEvent& e_;
  const Context& context_;
  const ExposureState& exposure_;
  std::optional<ObjectId> object_;
  mutable char hour_[3] = {};
};

// Appends the values of `fields` to `out` as one group key: values of one
// field joined by ',', fields by '|'. Does not allocate once `out` has grown.
void append_group_key(const FieldSource& source, const std::vector<Field>& fields,
                      std::string& out);

}  // namespace sevwatch::rules
