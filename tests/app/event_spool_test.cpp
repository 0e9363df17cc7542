#include "app/event_spool.h"

#include <string>
#include <vector>

#include "tests/test_support.h"

using sevwatch::app::EventSpool;
using namespace sevwatch::detectors;

namespace {

AccessEvent full_event(int i, std::size_t query_bytes) {
  AccessEvent e;
  e.time_ms = 1'787'000'000'000 + i;
  e.time_zone_assumed = i % 2 == 0;
  e.format = "ranger_audit";
  e.pos = SourcePos{"ignored", static_cast<std::uint64_t>(i + 1), 1000u * i};
  e.event_uid = "uid-" + std::to_string(i);
  e.principal = "alice";
  e.principal_groups = {"analysts", std::string(200, 'g')};  // a two-byte length
  e.action = Action::grant;
  e.operation = "GRANT";
  e.object = ObjectRef{"dw.sales.orders", ObjectLevel::table, "a,b"};
  e.grant.privileges = {"SELECT", "INSERT"};
  e.grant.grantees = {Grantee{GranteeKind::group, "public"}, Grantee{GranteeKind::user, "bob"}};
  e.grant.target = ObjectRef{"dw.sales", ObjectLevel::schema, ""};
  e.grant.target_type = "DATABASE";
  e.grant.with_grant_option = true;
  e.result = Result::allowed;
  e.client_ip = "10.0.0.1";
  e.query = std::string(query_bytes, 'q');
  e.session = "s";
  e.policy = "42";
  e.raw = i % 3 == 0 ? std::string() : R"({"k":1})";
  return e;
}

// Every field, as text.
std::string describe(const AccessEvent& e) {
  std::string out = std::to_string(e.time_ms) + (e.time_zone_assumed ? "z" : "") + e.format +
                    e.pos.file + std::to_string(e.pos.line) + "/" + std::to_string(e.pos.offset) +
                    e.event_uid + e.principal + std::string(to_string(e.action)) + e.operation +
                    e.object.name + std::to_string(static_cast<int>(e.object.level)) +
                    e.object.columns + e.grant.target.name +
                    std::to_string(static_cast<int>(e.grant.target.level)) +
                    e.grant.target.columns + e.grant.target_type +
                    (e.grant.with_grant_option ? "w" : "") + std::string(to_string(e.result)) +
                    e.client_ip + std::to_string(e.query.size()) + e.session + e.policy + e.raw;
  for (const auto& g : e.principal_groups) out += "|" + g;
  for (const auto& p : e.grant.privileges) out += "|" + p;
  for (const auto& g : e.grant.grantees) {
    out += "|" + std::to_string(static_cast<int>(g.kind)) + g.name;
  }
  return out;
}

}  // namespace

TEST_CASE("the event spool restores every field, across chunks and for a record over a chunk",
          "[spool]") {
  EventSpool spool;
  spool.set_file("in.jsonl");
  std::vector<AccessEvent> in;
  std::vector<EventSpool::Ref> refs;
  for (int i = 0; i < 3000; ++i) {
    // ~3 KB records fill several 4 MiB chunks; one record is larger than a chunk.
    in.push_back(full_event(i, i == 1500 ? (5u << 20) : 3000));
    refs.push_back(spool.append(in.back()));
  }
  CHECK(spool.size() == in.size());
  CHECK(spool.bytes() > 10u << 20);
  AccessEvent out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    spool.read(refs[i], out);
    in[i].pos.file = "in.jsonl";  // the spool's own input name
    INFO(i);
    REQUIRE(describe(out) == describe(in[i]));
    REQUIRE(out.query == in[i].query);
  }
  spool.clear();
  CHECK(spool.size() == 0);
  const auto ref = spool.append(in[7]);
  spool.read(ref, out);
  CHECK(describe(out) == describe(in[7]));
}

TEST_CASE("the event spool drops the free text it does not keep", "[spool][kept]") {
  using sevwatch::rules::Field;
  sevwatch::app::KeptText keep;  // the rules read the query and the session only
  keep.fields.set(static_cast<std::size_t>(Field::query));
  keep.fields.set(static_cast<std::size_t>(Field::session));
  EventSpool spool;
  spool.set_file("in.jsonl");
  spool.set_kept(keep);
  const AccessEvent in = full_event(1, 100);  // has a raw record
  AccessEvent out = full_event(2, 10);        // reused: nothing of it may linger
  spool.read(spool.append(in), out);

  // Kept: what the engine reads, and the free text the rules read.
  AccessEvent expected = in;
  expected.pos.file = "in.jsonl";
  // Dropped: the rest of the free text, and the record (no raw.<path> rule).
  expected.format.clear();
  expected.event_uid.clear();
  expected.operation.clear();
  expected.object.columns.clear();
  expected.grant.target.columns.clear();
  expected.grant.target_type.clear();
  expected.client_ip.clear();
  expected.policy.clear();
  expected.raw.clear();
  CHECK(describe(out) == describe(expected));
  CHECK(out.query == in.query);
  CHECK(out.session == "s");
  CHECK(out.principal_groups == in.principal_groups);
  CHECK(out.grant.grantees.size() == 2);
}

TEST_CASE("a spool of small chunks, cleared and refilled, reuses them", "[spool]") {
  EventSpool spool(4096);
  spool.set_file("in.jsonl");
  auto fill = [&](int first, int n, int big_at) {
    std::vector<AccessEvent> in;
    std::vector<EventSpool::Ref> refs;
    for (int i = first; i < first + n; ++i) {
      // ~400-byte records, several to a chunk; one record over a chunk.
      in.push_back(full_event(i, i == big_at ? 10000 : 100 + i % 50));
      in.back().pos.file = "in.jsonl";
      refs.push_back(spool.append(in.back()));
    }
    AccessEvent out;
    for (std::size_t k = 0; k < in.size(); ++k) {
      spool.read(refs[k], out);
      INFO(first + static_cast<int>(k));
      REQUIRE(describe(out) == describe(in[k]));
    }
  };
  fill(0, 100, -1);
  const auto first_bytes = spool.bytes();
  spool.clear();
  CHECK(spool.bytes() == 0);
  fill(1000, 150, 1070);  // more records than before, and a big one among them
  CHECK(spool.bytes() > first_bytes);
  spool.clear();
  fill(2000, 30, 2000);  // the big one first
}
