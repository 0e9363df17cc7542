#include "detectors/grant_statement_parser.h"

#include <catch2/catch.hpp>
#include <string>

using namespace sevwatch::detectors;

namespace {

ParsedGrant ok(const std::string& sql) {
  GrantParseResult r = parse_grant_statement(sql);
  INFO(sql << " -> " << r.error);
  REQUIRE(r.ok);
  return r.grant;
}

std::string fails(const std::string& sql) {
  GrantParseResult r = parse_grant_statement(sql);
  INFO(sql);
  REQUIRE_FALSE(r.ok);
  REQUIRE_FALSE(r.error.empty());
  return r.error;
}

std::string dotted(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ".") + p;
  return out;
}

}  // namespace

TEST_CASE("grant parser: Hive database grant to a group", "[grant]") {
  const ParsedGrant g = ok("GRANT SELECT ON DATABASE sales TO GROUP public");
  CHECK_FALSE(g.is_revoke);
  CHECK(g.privileges == std::vector<std::string>{"SELECT"});
  REQUIRE(g.targets.size() == 1);
  CHECK(g.targets[0].type == "DATABASE");
  CHECK(g.targets[0].level == ObjectLevel::catalog);  // generic; Hive maps it to a schema
  CHECK(dotted(g.targets[0].name_parts) == "sales");
  REQUIRE(g.grantees.size() == 1);
  CHECK(g.grantees[0].kind == GranteeKind::group);
  CHECK(g.grantees[0].name == "public");
  CHECK_FALSE(g.with_grant_option);
}

TEST_CASE("grant parser: keywords are case-insensitive, names keep their case", "[grant]") {
  const ParsedGrant g = ok("grant Select, insert ON table Sales.Orders to user Bob;");
  CHECK(g.privileges == std::vector<std::string>{"SELECT", "INSERT"});
  CHECK(g.targets[0].type == "TABLE");
  CHECK(g.targets[0].level == ObjectLevel::table);
  CHECK(dotted(g.targets[0].name_parts) == "Sales.Orders");
  CHECK(g.grantees[0].kind == GranteeKind::user);
  CHECK(g.grantees[0].name == "Bob");
}

TEST_CASE("grant parser: ALL [PRIVILEGES], several grantees, WITH GRANT OPTION", "[grant]") {
  const ParsedGrant a =
      ok("GRANT ALL PRIVILEGES ON t TO alice, ROLE r1, GROUP g WITH GRANT OPTION");
  CHECK(a.privileges == std::vector<std::string>{"ALL"});
  CHECK(a.targets[0].type.empty());
  CHECK(a.targets[0].level == ObjectLevel::table);
  REQUIRE(a.grantees.size() == 3);
  CHECK(a.grantees[0].kind == GranteeKind::unknown);
  CHECK(a.grantees[1].kind == GranteeKind::role);
  CHECK(a.grantees[2].kind == GranteeKind::group);
  CHECK(a.with_grant_option);
  CHECK(ok("GRANT ALL ON t TO x").privileges == std::vector<std::string>{"ALL"});
}

TEST_CASE("grant parser: ALL TABLES IN SCHEMA and PUBLIC", "[grant]") {
  const ParsedGrant g = ok("GRANT SELECT ON ALL TABLES IN SCHEMA sales, hr TO PUBLIC");
  REQUIRE(g.targets.size() == 2);
  CHECK(g.targets[0].type == "ALL TABLES IN SCHEMA");
  CHECK(g.targets[0].level == ObjectLevel::schema);
  CHECK(dotted(g.targets[1].name_parts) == "hr");
  CHECK(g.targets[1].type == "ALL TABLES IN SCHEMA");
  CHECK(g.grantees[0].kind == GranteeKind::group);
  CHECK(g.grantees[0].name == "PUBLIC");
  // A quoted "PUBLIC" is a role of that name, not the pseudo-role.
  CHECK(ok("GRANT SELECT ON t TO \"PUBLIC\"").grantees[0].kind == GranteeKind::unknown);
}

TEST_CASE("grant parser: quoted identifiers", "[grant]") {
  const ParsedGrant g = ok("GRANT SELECT ON TABLE \"My Schema\".\"Odd\"\"Name\" TO `team-a`");
  CHECK(g.targets[0].name_parts == std::vector<std::string>{"My Schema", "Odd\"Name"});
  CHECK(g.grantees[0].name == "team-a");
  const ParsedGrant h = ok("GRANT SELECT ON `db`.`t` TO USER `x``y`");
  CHECK(h.targets[0].name_parts == std::vector<std::string>{"db", "t"});
  CHECK(h.grantees[0].name == "x`y");
  // A hyphen inside a bare word stays in the word.
  CHECK(ok("GRANT SELECT ON t TO GROUP mci-eng").grantees[0].name == "mci-eng");
}

TEST_CASE("grant parser: column lists", "[grant]") {
  const ParsedGrant g = ok("GRANT SELECT (a, b), UPDATE (c) ON t TO x");
  CHECK(g.privileges == std::vector<std::string>{"SELECT", "UPDATE"});
  CHECK(g.columns == "a,b,c");
  CHECK(ok("GRANT SELECT(col) ON TABLE db.t TO USER u").columns == "col");
}

TEST_CASE("grant parser: REVOKE forms", "[grant]") {
  const ParsedGrant r = ok("REVOKE SELECT ON DATABASE sales FROM GROUP public");
  CHECK(r.is_revoke);
  CHECK_FALSE(r.with_grant_option);
  CHECK(r.grantees[0].name == "public");
  const ParsedGrant o = ok("REVOKE GRANT OPTION FOR SELECT ON t FROM bob CASCADE;");
  CHECK(o.is_revoke);
  CHECK(o.with_grant_option);
  CHECK(o.privileges == std::vector<std::string>{"SELECT"});
  CHECK(ok("revoke all on schema hr from x restrict").targets[0].level == ObjectLevel::schema);
}

TEST_CASE("grant parser: Snowflake-style statements", "[grant]") {
  const ParsedGrant f = ok("GRANT SELECT ON FUTURE TABLES IN DATABASE analytics TO ROLE analyst");
  CHECK(f.targets[0].type == "FUTURE TABLES IN DATABASE");
  CHECK(f.targets[0].level == ObjectLevel::catalog);
  const ParsedGrant w = ok("GRANT USAGE ON WAREHOUSE wh1 TO ROLE r");
  CHECK(w.targets[0].type == "WAREHOUSE");
  CHECK(w.targets[0].level == ObjectLevel::none);
  const ParsedGrant o = ok("GRANT OWNERSHIP ON TABLE db.s.t TO ROLE r COPY CURRENT GRANTS");
  CHECK(o.targets[0].name_parts.size() == 3);
  const ParsedGrant d = ok("GRANT SELECT ON VIEW v TO DATABASE ROLE db.reader");
  CHECK(d.grantees[0].kind == GranteeKind::role);
  CHECK(d.grantees[0].name == "db.reader");
}

TEST_CASE("grant parser: PostgreSQL extras", "[grant]") {
  const ParsedGrant f = ok("GRANT EXECUTE ON FUNCTION s.f(integer, text) TO x GRANTED BY admin");
  CHECK(f.targets[0].type == "FUNCTION");
  CHECK(dotted(f.targets[0].name_parts) == "s.f");
  const ParsedGrant m = ok("GRANT pii_reader, auditors TO alice WITH ADMIN OPTION");
  CHECK(m.role_membership);
  REQUIRE(m.targets.size() == 2);
  CHECK(m.targets[0].type == "ROLE");
  CHECK(m.targets[1].name_parts == std::vector<std::string>{"auditors"});
  CHECK(m.with_grant_option);
  CHECK(ok("GRANT ROLE analysts TO USER bob").targets[0].name_parts ==
        std::vector<std::string>{"analysts"});
  const ParsedGrant dp =
      ok("ALTER DEFAULT PRIVILEGES FOR ROLE etl IN SCHEMA a, b GRANT SELECT ON TABLES TO PUBLIC");
  CHECK(dp.default_privileges);
  REQUIRE(dp.targets.size() == 2);
  CHECK(dp.targets[0].type == "DEFAULT TABLES IN SCHEMA");
  CHECK(dp.targets[1].level == ObjectLevel::schema);
  const ParsedGrant dd = ok("ALTER DEFAULT PRIVILEGES REVOKE ALL ON TABLES FROM PUBLIC");
  CHECK(dd.is_revoke);
  CHECK(dd.targets[0].level == ObjectLevel::catalog);
  CHECK(dd.targets[0].name_parts.empty());
}

TEST_CASE("grant parser: comments and whitespace", "[grant]") {
  const ParsedGrant g =
      ok("  -- give it away\n GRANT /* why */ SELECT\n\tON sales.orders\n TO public ; ");
  CHECK(dotted(g.targets[0].name_parts) == "sales.orders");
  CHECK(g.grantees[0].kind == GranteeKind::group);
}

TEST_CASE("grant parser: malformed statements are rejected with a reason", "[grant]") {
  CHECK(fails("") == "empty statement");
  CHECK(fails(";") == "empty statement");
  CHECK(fails("SELECT * FROM t").find("expected GRANT or REVOKE") != std::string::npos);
  CHECK(fails("GRANT SELECT ON DATABASE sales").find("expected TO") != std::string::npos);
  CHECK(fails("GRANT SELECT ON t FROM bob").find("expected TO") != std::string::npos);
  CHECK(fails("REVOKE SELECT ON t TO bob").find("expected FROM") != std::string::npos);
  CHECK(fails("GRANT ON t TO bob").find("expected a privilege") != std::string::npos);
  CHECK(fails("GRANT SELECT ON TO bob").find("object name") != std::string::npos);
  CHECK(fails("GRANT SELECT ON TABLE TO bob").find("object name") != std::string::npos);
  CHECK(fails("GRANT SELECT ON t TO").find("expected a grantee") != std::string::npos);
  CHECK(fails("GRANT SELECT ON t TO bob, ").find("expected a grantee") != std::string::npos);
  CHECK(fails("GRANT SELECT ON t TO bob extra words").find("grantee") != std::string::npos);
  CHECK(fails("GRANT SELECT ON t TO bob; GRANT x").find("after the grantees") != std::string::npos);
  CHECK(fails("GRANT SELECT ON \"t TO bob").find("unterminated") != std::string::npos);
  CHECK(fails("GRANT SELECT (a, ON t TO bob").find("column") != std::string::npos);
  CHECK(fails("GRANT SELECT ON t TO WIZARD bob").find("grantee") != std::string::npos);
  CHECK(fails("GRANT SELECT ON t TO bob WITH MAGIC").find("OPTION") != std::string::npos);
  CHECK(fails("GRANT SELECT ON f(a TO bob").find("unbalanced") != std::string::npos);
  CHECK(fails("GRANT 'SELECT' ON t TO bob").find("privilege") != std::string::npos);
  CHECK(fails("GRANT SELECT ON a.b. TO x").size() > 0);
  CHECK(fails("ALTER TABLE t OWNER TO x").find("DEFAULT") != std::string::npos);
}

TEST_CASE("qualify_name fills in catalog and default schema", "[grant]") {
  CHECK(qualify_name("dw", "public", {"t"}, ObjectLevel::table) == "dw.public.t");
  CHECK(qualify_name("dw", "public", {"s", "t"}, ObjectLevel::table) == "dw.s.t");
  CHECK(qualify_name("dw", "public", {"c", "s", "t"}, ObjectLevel::table) == "c.s.t");
  CHECK(qualify_name("dw", "public", {"s"}, ObjectLevel::schema) == "dw.s");
  CHECK(qualify_name("dw", "public", {"other"}, ObjectLevel::catalog) == "other");
  CHECK(qualify_name("dw", "public", {}, ObjectLevel::catalog) == "dw");
}
