// Google Cloud Audit Logs for BigQuery (LogEntry JSON, one per line):
// SetIamPolicy and dataset ACL changes as grants/revokes, BigQueryAuditMetadata
// tableDataRead / tableDataChange / jobChange as reads, writes and exports.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

inline constexpr std::string_view kBigQueryFormat = "gcp_bigquery";

std::unique_ptr<Decoder> make_bigquery_decoder(const DecoderOptions& options);
int sniff_bigquery(const std::vector<std::string_view>& first_lines);
DecoderInfo bigquery_decoder_info();

// "projects/P/datasets/D/tables/T" -> "P.D.T" (table), ".../datasets/D" ->
// "P.D" (schema), "projects/P" -> "P" (catalog); other names kept, level none.
ObjectRef bigquery_object(std::string_view resource_name);

// An IAM member ("user:a@x", "group:g@x", "allUsers", "domain:x") as a grantee.
Grantee bigquery_member(std::string_view member);

}  // namespace sevwatch::detectors
