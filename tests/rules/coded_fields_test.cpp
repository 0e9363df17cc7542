// Checks on action, result and object.level decide from the value's code (a
// bit test) when the source gives one: the answers must be the text path's.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "rules/condition.h"
#include "rules/context.h"
#include "rules/event_fields.h"
#include "rules/exposure_state.h"

using namespace sevwatch;
using namespace sevwatch::rules;
using detectors::AccessEvent;

namespace {

// The same event's fields without codes: every check takes the text path.
class TextOnly : public FieldSource {
 public:
  explicit TextOnly(const FieldSource& inner) : inner_(inner) {}
  void values(Field f, std::vector<std::string_view>& out) const override { inner_.values(f, out); }

 private:
  const FieldSource& inner_;
};

}  // namespace

TEST_CASE("coded checks answer as the text path does, for every value and absent", "[condition]") {
  Diagnostics cd;
  auto context = Context::load_string(R"(organization:
  principals: ["*"]
sensitivity:
  secret: critical
  internal: medium
  open: public
objects:
  - {match: "c.s.secret_*", sensitivity: secret}
  - {match: "c.s.mid_*", sensitivity: internal}
  - {match: "c.s.open_*", sensitivity: open}
)",
                                      "ctx.yaml", cd);
  INFO(cd.to_text());
  REQUIRE(context);
  ExposureState exposure(*context);
  const std::vector<std::string> objects = {"c.s.secret_1", "c.s.mid_1", "c.s.open_1",
                                            "c.s.unlisted"};
  const std::vector<std::string> checks = {
      "action = read",
      "action != read",
      "action in (read, export, grant)",
      "action in (metadata)",
      "result = allowed",
      "result != denied",
      "result in (unknown, denied)",
      "object.level = high",
      "object.level != critical",
      "object.level in (medium, public)",
      "object.level >= high",
      "object.level > medium",
      "object.level <= medium",
      "object.level < critical",
      "object.level exists",
      "not object.level >= medium",
  };
  int coded_answers = 0;
  for (const auto& text : checks) {
    Diagnostics d;
    auto c = compile_condition(text, SourceLoc{"t.yaml", 1, 1}, d);
    INFO(text << "\n" << d.to_text());
    REQUIRE(c);
    for (int a = 0; a < detectors::kActionCount; ++a) {
      for (int r = 0; r < detectors::kResultCount; ++r) {
        for (std::size_t o = 0; o <= objects.size(); ++o) {
          AccessEvent e;
          e.action = static_cast<detectors::Action>(a);
          e.result = static_cast<detectors::Result>(r);
          std::optional<ObjectId> object;
          if (o < objects.size()) {
            e.object.name = objects[o];
            object = exposure.intern(objects[o]);
          }
          const EventFields fields(e, *context, exposure, object);
          INFO("action " << a << " result " << r << " object " << e.object.name);
          const bool coded = c->eval(fields);
          CHECK(coded == c->eval(TextOnly(fields)));
          coded_answers += coded ? 1 : 0;
        }
      }
    }
  }
  CHECK(coded_answers > 0);
}
