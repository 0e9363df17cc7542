#include "rules/name_table.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>

using sevwatch::rules::NameTable;

TEST_CASE("names get dense ids in order of first sight", "[name_table]") {
  NameTable t;
  CHECK(t.intern("hive.a.b") == 0);
  CHECK(t.intern("hive.a.c") == 1);
  bool added = true;
  CHECK(t.intern("hive.a.b", &added) == 0);
  CHECK_FALSE(added);
  CHECK(t.intern("", &added) == 2);
  CHECK(added);
  CHECK(t.size() == 3);
  CHECK(t.name(1) == "hive.a.c");
  CHECK(t.find("hive.a.c") == 1u);
  CHECK(t.find("") == 2u);
  CHECK_FALSE(t.find("hive.a.d").has_value());
  CHECK_FALSE(NameTable().find("x").has_value());
}

TEST_CASE("long names are told apart by their tails", "[name_table]") {
  // The first 48 bytes live in the slot; the rest is compared with the copy.
  const std::string head(48, 'h');
  NameTable t;
  const auto a = t.intern(head + "tail_a");
  const auto b = t.intern(head + "tail_b");
  const auto c = t.intern(head);
  const auto d = t.intern(head + "tail_a_longer");
  CHECK(a != b);
  CHECK(c != a);
  CHECK(d != a);
  CHECK(t.find(head + "tail_a") == a);
  CHECK(t.find(head + "tail_b") == b);
  CHECK(t.find(head) == c);
  CHECK_FALSE(t.find(head + "tail_c").has_value());
  CHECK(t.name(d) == head + "tail_a_longer");
}

TEST_CASE("a table keeps every id through growth and moves", "[name_table]") {
  NameTable t;
  constexpr std::uint32_t n = 200'000;  // grows past one huge page of slots
  for (std::uint32_t i = 0; i < n; ++i) {
    REQUIRE(t.intern("dw_hive.mci_activity_capture_" + std::to_string(i % 97) + ".capture_" +
                     std::to_string(i)) == i);
  }
  NameTable moved = std::move(t);
  CHECK(moved.size() == n);
  for (std::uint32_t i = 0; i < n; i += 7) {
    const std::string name =
        "dw_hive.mci_activity_capture_" + std::to_string(i % 97) + ".capture_" + std::to_string(i);
    REQUIRE(moved.find(name) == i);
    REQUIRE(moved.name(i) == name);
  }
  CHECK_FALSE(moved.find("dw_hive.mci_activity_capture_0.capture_200000").has_value());
  NameTable reserved;
  reserved.reserve(1000);
  for (std::uint32_t i = 0; i < 1000; ++i) REQUIRE(reserved.intern(std::to_string(i)) == i);
  CHECK(reserved.find("999") == 999u);
}

TEST_CASE("long names keep their tails through growth and moves", "[name_table]") {
  // Names of 49 to 300 bytes that share their first 48 bytes and differ only
  // in their tails, some only in the last byte.
  const std::string head = "dw_hive.mci_private_conversations_01.conversati";
  REQUIRE(head.size() == 47);
  auto name = [&](std::uint32_t i) {
    return head + std::string(1 + i % 250, 'x') + std::to_string(i);
  };
  NameTable t;
  constexpr std::uint32_t n = 50'000;
  for (std::uint32_t i = 0; i < n; ++i) REQUIRE(t.intern(name(i)) == i);
  NameTable moved = std::move(t);
  for (std::uint32_t i = 0; i < n; ++i) {
    REQUIRE(moved.find(name(i)) == i);
    REQUIRE(moved.name(i) == name(i));
  }
  // Same head and length as name(7), another tail.
  std::string other = name(7);
  other.back() = '8';
  CHECK_FALSE(moved.find(other).has_value());
  bool added = false;
  CHECK(moved.intern(other, &added) == n);
  CHECK(added);
}
