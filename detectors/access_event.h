// The normalized access event every decoder produces and every rule reads.
//
// One event per (decision x object). Names follow OCSF where one exists
// (actor.user.name -> principal, src_endpoint.ip -> client_ip,
// query_info.query_string -> query, metadata.uid -> event_uid).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sevwatch::detectors {

enum class Action : std::uint8_t {
  other,
  read,
  write,
  grant,
  revoke,
  alter,
  create,
  drop,
  export_data,
  policy_change,
  audit_change,
  login,
  metadata,  // keep last: kActionCount
};
inline constexpr int kActionCount = static_cast<int>(Action::metadata) + 1;

enum class Result : std::uint8_t { unknown, allowed, denied };  // keep denied last
inline constexpr int kResultCount = static_cast<int>(Result::denied) + 1;

// How much of a catalog.schema.table name an object reference pins down.
// A grant on a container (a whole catalog or schema) has a shorter name.
enum class ObjectLevel : std::uint8_t { none, catalog, schema, table };

enum class GranteeKind : std::uint8_t { unknown, user, group, role };

struct ObjectRef {
  // "catalog.schema.table", "catalog.schema" or "catalog" (see `level`),
  // or an S3/HDFS location. Empty when the event has no object.
  std::string name;
  ObjectLevel level = ObjectLevel::none;
  // Columns touched, comma-separated as the source gave them; an attribute of
  // the event, never part of the object name.
  std::string columns;
};

struct Grantee {
  GranteeKind kind = GranteeKind::unknown;
  std::string name;  // exactly as written in the source (e.g. "public", "PUBLIC")
};

// The parsed content of a GRANT or REVOKE (action grant/revoke).
struct GrantInfo {
  std::vector<std::string> privileges;  // upper case: SELECT, ALL, INSERT, ...
  std::vector<Grantee> grantees;
  // The grant's target as an object reference: a table, or a container
  // (schema for `ON DATABASE db` in Hive and `ALL TABLES IN SCHEMA s`).
  ObjectRef target;
  // The object type words as the statement wrote them, upper case: "TABLE",
  // "DATABASE", "SCHEMA", "ALL TABLES IN SCHEMA", "" when none was written.
  std::string target_type;
  bool with_grant_option = false;
};

// Where an event came from: enough to find the line again.
struct SourcePos {
  std::string file;          // path, "-" for stdin, or a source name
  std::uint64_t line = 0;    // 1-based line of the record's start
  std::uint64_t offset = 0;  // byte offset of the record's start
};

struct AccessEvent {
  std::int64_t time_ms = 0;        // event time, UTC, milliseconds since the epoch
  bool time_zone_assumed = false;  // the source carried no zone
  std::string format;              // decoder name, e.g. "ranger_audit", "pgaudit"
  SourcePos pos;
  std::string event_uid;  // the source's own event id, if any

  std::string principal;  // actor.user.name
  std::vector<std::string> principal_groups;
  Action action = Action::other;
  std::string operation;  // the source's raw verb (Ranger access, pgaudit COMMAND)
  ObjectRef object;
  GrantInfo grant;  // filled for Action::grant and Action::revoke
  Result result = Result::unknown;
  std::string client_ip;
  std::string query;  // may hold sensitive text: redact in views
  std::string session;
  std::string policy;  // deciding policy id, when the source names one
  // The source record as JSON text, for `raw.<path>` rule fields; kept only
  // when DecoderOptions::keep_raw is set (else empty). For JSON-line formats
  // the whole line; a CloudTrail `Records` entry is its own record.
  std::string raw;
};

// Exchanges two events member by member: each string and vector swaps its
// buffer, so both keep their storage (std::swap would move every member
// three times). For queues that hand events between a decoder and the engine.
void swap(AccessEvent& a, AccessEvent& b) noexcept;

std::string_view to_string(Action a);
std::string_view to_string(Result r);
std::string_view to_string(GranteeKind k);
std::string_view to_string(ObjectLevel l);

}  // namespace sevwatch::detectors
