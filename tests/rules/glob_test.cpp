#include "rules/glob.h"

#include <catch2/catch.hpp>

using sevwatch::rules::Glob;

namespace {
bool m(std::string_view pattern, std::string_view text) {
  auto g = Glob::compile(pattern);
  REQUIRE(g.has_value());
  return g->matches(text);
}
}  // namespace

TEST_CASE("glob: star matches any run, dots and slashes included", "[glob]") {
  CHECK(m("*", ""));
  CHECK(m("*", "a.b.c"));
  CHECK(m("hive.mci.*", "hive.mci.t1"));
  CHECK(m("hive.mci.*", "hive.mci."));
  CHECK(m("hive.mci.*", "hive.mci.db.t1.col"));
  CHECK_FALSE(m("hive.mci.*", "hive.mcix.t1"));
  CHECK_FALSE(m("hive.mci.*", "hive.mci"));
  CHECK(m("*.t1", "a.b.t1"));
  CHECK(m("a*b*c", "abc"));
  CHECK(m("a*b*c", "axxbyybzc"));
  CHECK_FALSE(m("a*b*c", "axxbyybzcd"));
  CHECK(m("s3://bucket/*", "s3://bucket/a/b/c"));
  CHECK(m("a**b", "ab"));
  CHECK(m("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
  CHECK_FALSE(m("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

TEST_CASE("glob: question mark and classes", "[glob]") {
  CHECK(m("t?", "t1"));
  CHECK_FALSE(m("t?", "t"));
  CHECK_FALSE(m("t?", "t12"));
  CHECK(m("db[0-9][0-9]", "db42"));
  CHECK_FALSE(m("db[0-9][0-9]", "db4x"));
  CHECK(m("[abc]x", "bx"));
  CHECK_FALSE(m("[abc]x", "dx"));
  CHECK(m("[!abc]x", "dx"));
  CHECK_FALSE(m("[^abc]x", "ax"));
  CHECK(m("[]]", "]"));
  CHECK(m("[a-]", "-"));
  CHECK(m("[\\]]", "]"));
  CHECK(m("*.[ts]*", "x.sales"));
}

TEST_CASE("glob: backslash escapes, literals", "[glob]") {
  CHECK(m("a\\*", "a*"));
  CHECK_FALSE(m("a\\*", "ab"));
  CHECK(m("\\?\\[", "?["));
  auto lit = Glob::compile("hive.db.t\\*");
  REQUIRE(lit);
  CHECK(lit->is_literal());
  CHECK(lit->literal() == "hive.db.t*");
  auto exact = Glob::compile("hive.db.t1");
  REQUIRE(exact);
  CHECK(exact->is_literal());
  CHECK(exact->matches("hive.db.t1"));
  CHECK_FALSE(exact->matches("hive.db.t10"));
  CHECK_FALSE(Glob::compile("hive.*")->is_literal());
  CHECK(m("", ""));
  CHECK_FALSE(m("", "a"));
  CHECK(m("Alice", "Alice"));
  CHECK_FALSE(m("Alice", "alice"));  // case-sensitive
}

TEST_CASE("glob: malformed patterns do not compile", "[glob]") {
  Glob::Error err;
  CHECK_FALSE(Glob::compile("hive.[abc", &err));
  CHECK(err.offset == 5);
  CHECK(err.message.find("unclosed") != std::string::npos);
  CHECK_FALSE(Glob::compile("[", &err));
  CHECK_FALSE(Glob::compile("[]", &err));
  CHECK_FALSE(Glob::compile("[!]", &err));
  CHECK_FALSE(Glob::compile("a\\", &err));
  CHECK(err.offset == 1);
  CHECK_FALSE(Glob::compile("[z-a]", &err));
  CHECK(err.message.find("reversed") != std::string::npos);
  CHECK(Glob::compile("a]b"));  // a lone ']' is literal
}
