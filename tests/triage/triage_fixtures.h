// Findings shaped like the seed incident (spec/scenario-mci.md), for the
// manager and JSON tests.
#pragma once

#include <fmt/format.h>

#include <string>
#include <vector>

#include "rules/finding.h"

namespace sevwatch::testing {

// 2026-08-20T10:00:00Z, the first grant of the seed incident.
inline constexpr std::int64_t kTen = 1'787'220'000'000;
inline constexpr std::int64_t kMinute = 60'000;
inline constexpr std::int64_t kHour = 60 * kMinute;

// The grant finding after `dbs` of the 90 mci databases were opened to
// `public`: full aggregates plus the database just added as new objects.
inline rules::Finding seed_finding(int dbs) {
  rules::Finding f;
  f.rule_id = "grant-broad-audience";
  f.title = "Sensitive tables readable company-wide";
  f.runbook = "runbooks/grant-broad-audience.md";
  f.group_key = "grant-broad-audience:mci";
  f.first_ms = kTen;
  f.last_ms = kTen + (dbs - 1) * 10'000;
  f.objects = static_cast<std::uint64_t>(dbs) * 500;
  for (int t = 0; t < 500; ++t) {
    f.new_objects.push_back(fmt::format("dw_hive.mci_{:02}.t_{:03}", dbs - 1, t));
  }
  f.sensitivity = {"activity_capture", "people_performance", "private_conversations",
                   "prompts_transcripts"};
  f.level = rules::Level::high;
  f.audience = rules::Audience::company;
  f.grantees = {"public"};
  f.actors = {"svc-mci-pipeline"};
  f.events = static_cast<std::uint64_t>(dbs);
  f.notes.push_back(rules::FindingNote{
      f.last_ms, "scope", fmt::format("database mci_{:02} granted to public", dbs - 1)});
  f.readers.push_back(rules::ReaderStat{"ann", 40, 20, false, false, kTen + kMinute, f.last_ms});
  return f;
}

// The 90-database grant, then three outsiders reading 12 tables at 11:00-12:00.
inline rules::Finding outsider_finding() {
  rules::Finding f = seed_finding(90);
  f.new_objects.clear();
  f.notes.clear();
  f.evidence = rules::Evidence::improper;
  f.outsider_reads = 12;
  f.outsiders = {"dana", "eli", "fern"};
  f.last_ms = kTen + 2 * kHour;
  f.events = 90 + 12;
  f.readers = {
      rules::ReaderStat{"ann", 400, 200, false, false, kTen + kMinute, kTen + 2 * kHour},
      rules::ReaderStat{"dana", 4, 4, true, false, kTen + kHour, kTen + kHour + 10 * kMinute},
      rules::ReaderStat{"eli", 5, 5, true, false, kTen + kHour + 5 * kMinute,
                        kTen + kHour + 30 * kMinute},
      rules::ReaderStat{"fern", 3, 3, true, false, kTen + kHour + 40 * kMinute, kTen + 2 * kHour},
  };
  f.notes.push_back(rules::FindingNote{kTen + kHour, "evidence",
                                       "dana (outside mci-eng, security) read 4 tables"});
  return f;
}

}  // namespace sevwatch::testing
