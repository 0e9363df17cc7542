#include <algorithm>
#include <utility>

#include "detectors/bigquery_decoder.h"
#include "detectors/cloudtrail_decoder.h"
#include "detectors/databricks_decoder.h"
#include "detectors/decoder.h"
#include "detectors/hive_hms_decoder.h"
#include "detectors/hive_hs2_decoder.h"
#include "detectors/json_mapped_decoder.h"
#include "detectors/pgaudit_decoder.h"
#include "detectors/ranger_admin_decoder.h"
#include "detectors/ranger_decoder.h"
#include "detectors/snowflake_decoder.h"

namespace sevwatch::detectors {

void DecoderRegistry::add(DecoderInfo info) {
  for (auto& existing : infos_) {
    if (existing.name == info.name) {
      existing = std::move(info);
      return;
    }
  }
  infos_.push_back(std::move(info));
}

const DecoderInfo* DecoderRegistry::find(std::string_view name) const {
  for (const auto& info : infos_) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

const DecoderInfo* DecoderRegistry::detect(const std::vector<std::string_view>& first_lines) const {
  const DecoderInfo* best = nullptr;
  int best_score = 0;
  for (const auto& info : infos_) {
    if (!info.sniff) continue;
    const int score = info.sniff(first_lines);
    if (score > best_score) {  // ties go to the earlier registration
      best_score = score;
      best = &info;
    }
  }
  return best;
}

std::size_t DecoderRegistry::max_line_for(std::string_view head,
                                          const DecoderOptions& options) const {
  std::size_t cap = options.max_line_bytes;
  for (const auto& info : infos_) cap = std::max(cap, info.max_line_for(head, options));
  return cap;
}

std::vector<std::string> DecoderRegistry::names() const {
  std::vector<std::string> out;
  out.reserve(infos_.size());
  for (const auto& info : infos_) out.push_back(info.name);
  return out;
}

void register_builtin_decoders(DecoderRegistry& registry) {
  // Formats whose lines decode on their own (DecoderInfo::independent_lines).
  auto independent = [](DecoderInfo info) {
    info.independent_lines = true;
    return info;
  };
  registry.add(independent(ranger_decoder_info()));
  registry.add(pgaudit_stderr_decoder_info());
  registry.add(pgaudit_csv_decoder_info());
  registry.add(ranger_admin_decoder_info());
  registry.add(hive_hms_decoder_info());
  registry.add(hive_hs2_decoder_info());
  registry.add(cloudtrail_decoder_info());
  registry.add(bigquery_decoder_info());  // remembers each object's last policy
  registry.add(independent(snowflake_decoder_info()));
  registry.add(independent(databricks_decoder_info()));
  registry.add(json_mapped_decoder_info());
}

}  // namespace sevwatch::detectors
