// Parses GRANT / REVOKE statements as written in Hive, PostgreSQL and
// Snowflake into privileges, targets and grantees. Dialect-neutral: the
// decoder decides what a DATABASE is (a schema in Hive, a catalog in
// PostgreSQL) and qualifies names with its own catalog.
//
//   GRANT priv[(cols)][, ...] | ALL [PRIVILEGES]
//     ON [type words] name[, name...]            e.g. TABLE t, DATABASE d, SCHEMA s,
//                                                 ALL TABLES IN SCHEMA s, FUTURE TABLES IN DATABASE
//                                                 d
//     TO [USER|GROUP|ROLE|DATABASE ROLE|SHARE] grantee[, ...]
//     [WITH GRANT OPTION] [GRANTED BY r] [COPY CURRENT GRANTS] [;]
//   REVOKE [GRANT OPTION FOR] ... FROM ... [CASCADE|RESTRICT] [;]
//   GRANT role[, ...] TO grantee[, ...] [WITH ADMIN OPTION]   (role membership)
//   ALTER DEFAULT PRIVILEGES [FOR ROLE r] [IN SCHEMA s, ...] GRANT ... ON TABLES TO ...
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "detectors/access_event.h"

namespace sevwatch::detectors {

struct GrantTarget {
  // Object type words, upper case, single-spaced: "" (none written), "TABLE",
  // "DATABASE", "SCHEMA", "ALL TABLES IN SCHEMA", "ROLE" (role membership),
  // "DEFAULT TABLES" (ALTER DEFAULT PRIVILEGES ... ON TABLES) ...
  std::string type;
  std::vector<std::string> name_parts;  // dotted name, quotes removed; may be empty
  // Generic level: TABLE/VIEW/"" -> table; SCHEMA, ALL|FUTURE x IN SCHEMA,
  // DEFAULT x IN SCHEMA -> schema; DATABASE, ALL|FUTURE x IN DATABASE ->
  // catalog; anything else (FUNCTION, WAREHOUSE, role membership) -> none.
  ObjectLevel level = ObjectLevel::none;
};

struct ParsedGrant {
  bool is_revoke = false;
  // WITH GRANT OPTION / WITH ADMIN OPTION, or REVOKE GRANT OPTION FOR.
  bool with_grant_option = false;
  bool role_membership = false;         // GRANT role TO x: targets hold the roles
  bool default_privileges = false;      // ALTER DEFAULT PRIVILEGES ...
  std::vector<std::string> privileges;  // upper case; ALL PRIVILEGES -> ALL
  std::string columns;                  // from SELECT (a, b): "a,b"
  std::vector<GrantTarget> targets;     // at least one
  std::vector<Grantee> grantees;        // kind unknown when the statement names none
};

struct GrantParseResult {
  bool ok = false;
  std::string error;  // when !ok: why, e.g. "expected TO after the object name"
  ParsedGrant grant;
};

GrantParseResult parse_grant_statement(std::string_view sql);

// "catalog.schema.table" from a target's name parts at `level`, filling what the
// statement left out: a one-part table gets `default_schema`, a schema or table
// gets `catalog` in front. More parts than the level needs are kept as written.
std::string qualify_name(std::string_view catalog, std::string_view default_schema,
                         const std::vector<std::string>& parts, ObjectLevel level);

}  // namespace sevwatch::detectors
