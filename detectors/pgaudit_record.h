// The meaning of PostgreSQL log records, shared by the stderr and csvlog
// pgaudit decoders: the pgaudit "AUDIT: ..." payload, and "permission denied"
// errors (pgaudit never logs a denied statement; PostgreSQL's ERROR does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

// What the log line prefix (or csvlog columns) says about one record.
struct PgRecordContext {
  std::string_view format;  // decoder name
  SourcePos pos;
  std::int64_t time_ms = 0;
  bool time_zone_assumed = false;
  std::string_view user;
  std::string_view database;  // becomes the catalog of every object name
  std::string_view client_ip;
  std::string_view session;
  // csvlog: "session_id:line"; empty: "<pid>:<statement_id>:<substatement_id>".
  std::string_view event_uid;
  std::string_view pid;
};

// "YYYY-MM-DD HH:MM:SS[.mmm] ZONE" at the start of `s` (the zone ends at a
// space, a comma or the end). Unknown zones count as UTC with
// `zone_assumed` set. Returns the characters consumed, 0 when not a timestamp.
std::size_t parse_pg_timestamp(std::string_view s, std::int64_t& utc_ms, bool& zone_assumed);

// Decodes a pgaudit payload (the message after "AUDIT: ") into events.
class PgAuditInterpreter {
 public:
  void emit_audit(const PgRecordContext& ctx, std::string_view payload, EventSink& sink);

  // "permission denied for table t" -> true, with the object kind and name.
  static bool parse_permission_denied(std::string_view message, std::string& kind,
                                      std::string& name);
  // A denied access from a permission-denied ERROR and its statement.
  void emit_denial(const PgRecordContext& ctx, std::string_view kind, std::string_view name,
                   std::string_view statement, std::string_view command_tag, EventSink& sink);

 private:
  void emit_grant(const PgRecordContext& ctx, AccessEvent ev, std::string_view statement,
                  EventSink& sink);

  std::vector<std::string> fields_;  // reused CSV split buffer
};

Action pg_command_to_action(std::string_view audit_class, std::string_view command);

}  // namespace sevwatch::detectors
