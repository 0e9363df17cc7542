// CloudTrail log files as AWS delivers them: one `{"Records":[...]}` JSON
// document on one line (several MB), plain or gzipped. Every record is an S3
// GetObject of its own key: one read event each.
#pragma once

#include <fmt/format.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

namespace sevwatch::testing {

inline std::string trail_record(int i) {
  return fmt::format(
      R"({{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"}},"eventTime":"2026-08-20T10:{:02}:{:02}Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","sourceIPAddress":"10.0.0.7","userAgent":"aws-cli/2","requestParameters":{{"bucketName":"acme-dw","key":"exports/part-{:06}.csv"}},"responseElements":null,"eventID":"ev-{:06}","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}})",
      (i / 60) % 60, i % 60, i, i);
}

// `records` records in one line, with its newline.
inline std::string records_line(int records) {
  std::string out = R"({"Records":[)";
  for (int i = 0; i < records; ++i) {
    if (i > 0) out += ',';
    out += trail_record(i);
  }
  return out + "]}\n";
}

// About `bytes` bytes of records: how many records that is.
inline int records_for(std::size_t bytes) {
  return static_cast<int>(bytes / trail_record(0).size()) + 1;
}

inline void write_gzip_file(const std::filesystem::path& p, const std::string& text) {
  gzFile f = gzopen(p.string().c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, text.data(), static_cast<unsigned>(text.size())) ==
          static_cast<int>(text.size()));
  gzclose(f);
}

}  // namespace sevwatch::testing
