// AWS CloudTrail: one event per line, or trail files `{"Records":[...]}` (one
// line, or pretty-printed over many lines; gzip is undone by read_input).
// Lake Formation grants and data access, Glue table calls, S3 ACLs, bucket
// policies, Block Public Access and object reads; see detectors/README.md.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

inline constexpr std::string_view kCloudTrailFormat = "aws_cloudtrail";

std::unique_ptr<Decoder> make_cloudtrail_decoder(const DecoderOptions& options);
int sniff_cloudtrail(const std::vector<std::string_view>& first_lines);
// DecoderInfo::line_cap: a line that opens a `Records` file may hold the
// whole file, up to the document cap (64 x max_line_bytes, as for a
// pretty-printed file); any other line max_line_bytes.
std::size_t cloudtrail_line_cap(std::string_view head, const DecoderOptions& options);
DecoderInfo cloudtrail_decoder_info();

// A Lake Formation principal identifier to a grantee: IAM_ALLOWED_PRINCIPALS
// and `<account>:IAMPrincipals` are groups, role ARNs roles, user ARNs users.
Grantee lake_formation_grantee(std::string_view identifier);

}  // namespace sevwatch::detectors
