// AWS CloudTrail: one event per line, or trail files `{"Records":[...]}` (one
// line, or pretty-printed over many lines; gzip is undone by read_input).
// Lake Formation grants and data access, Glue table calls, S3 ACLs, bucket
// policies, Block Public Access and object reads; see detectors/README.md.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "detectors/decoder.h"

namespace sevwatch::detectors {

inline constexpr std::string_view kCloudTrailFormat = "aws_cloudtrail";

std::unique_ptr<Decoder> make_cloudtrail_decoder(const DecoderOptions& options);
int sniff_cloudtrail(const std::vector<std::string_view>& first_lines);
DecoderInfo cloudtrail_decoder_info();

// A Lake Formation principal identifier to a grantee: IAM_ALLOWED_PRINCIPALS
// and `<account>:IAMPrincipals` are groups, role ARNs roles, user ARNs users.
Grantee lake_formation_grantee(std::string_view identifier);

}  // namespace sevwatch::detectors
