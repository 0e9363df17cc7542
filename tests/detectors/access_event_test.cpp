// AccessEvent's member-wise swap (the scan's decoder -> engine queue uses it).
#include "detectors/access_event.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/detectors/event_render.h"

using namespace sevwatch::detectors;

namespace {

AccessEvent full(const std::string& tag, std::int64_t t) {
  AccessEvent e;
  e.time_ms = t;
  e.time_zone_assumed = t % 2 == 0;
  e.format = "fmt-" + tag;
  e.pos = SourcePos{"/var/log/" + tag + std::string(40, 'x'), static_cast<std::uint64_t>(t), 7};
  e.event_uid = "uid-" + tag;
  e.principal = "principal-" + tag;
  e.principal_groups = {"g1-" + tag, "g2-" + tag};
  e.action = t % 2 == 0 ? Action::grant : Action::read;
  e.operation = "op-" + tag;
  e.object = ObjectRef{"dw.s.table_" + tag + std::string(30, 'y'), ObjectLevel::table, "c1"};
  e.grant.privileges = {"SELECT"};
  e.grant.grantees = {Grantee{GranteeKind::group, "public-" + tag}};
  e.grant.target = ObjectRef{"dw.s", ObjectLevel::schema, ""};
  e.grant.target_type = "SCHEMA";
  e.grant.with_grant_option = t % 2 == 0;
  e.result = t % 2 == 0 ? Result::allowed : Result::denied;
  e.client_ip = "10.0.0." + tag;
  e.query = "SELECT * FROM t_" + tag;
  e.session = "sess-" + tag;
  e.policy = "42" + tag;
  e.raw = "{\"tag\":\"" + tag + "\"}";
  return e;
}

}  // namespace

TEST_CASE("swap exchanges every member of two events", "[event]") {
  const AccessEvent a0 = full("a", 2);
  const AccessEvent b0 = full("b", 3);
  AccessEvent a = a0;
  AccessEvent b = b0;
  swap(a, b);
  CHECK(testing::render(a) == testing::render(b0));
  CHECK(testing::render(b) == testing::render(a0));
  CHECK(a.raw == b0.raw);
  CHECK(b.pos.file == a0.pos.file);
  CHECK(a.principal_groups == b0.principal_groups);
  CHECK(b.grant.grantees.at(0).name == "public-a");  // render shows grant fields of grants only
  CHECK(a.grant.grantees.at(0).name == "public-b");
  CHECK(a.grant.target_type == b0.grant.target_type);
  swap(a, a);  // with itself: unchanged
  CHECK(testing::render(a) == testing::render(b0));
}
