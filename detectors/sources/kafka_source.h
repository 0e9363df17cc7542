// A Kafka consumer-group member (librdkafka C API). Each message's value is
// one or more lines for the decoder (one stream per partition).
//
// At-least-once: automatic commits and the automatic offset store are off;
// the offsets of processed messages are committed (synchronously) only in
// on_durable(), i.e. after the events they produced are committed in the
// store. Before partitions are given away in a rebalance, the pipeline is
// asked to commit (SourceContext::commit_now), so the next owner resumes
// exactly after what was processed. After a crash, the messages since the last
// commit are consumed again (duplicates are harmless: incidents dedup). The
// committed offset never passes the first message of a record the decoder
// still holds (a multi-line pgaudit record sent line by line).
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "detectors/sources/source.h"
#include "detectors/sources/stream_decoder.h"

struct rd_kafka_s;

namespace sevwatch::detectors::sources {

struct KafkaOptions {
  std::string name;
  std::string format;
  std::string brokers;
  std::vector<std::string> topics;
  std::string group_id = "sevwatch";
  // Extra librdkafka properties (e.g. security.protocol, sasl.*); values are
  // never logged.
  std::vector<std::pair<std::string, std::string>> properties;
  std::uint64_t poll_interval_ms = 50;
  std::size_t max_messages_per_poll = 1000;

  // Properties come as `properties: {key: value}` in the config (flattened by
  // the config loader into "properties" entries "key=value").
  static KafkaOptions from(const SourceSpec& spec);
};

class KafkaSource final : public Source {
 public:
  KafkaSource(KafkaOptions options, SourceContext& context);
  ~KafkaSource() override;
  const std::string& name() const override { return options_.name; }
  void start() override;
  void stop() override;
  void on_durable() override;

  std::uint64_t messages() const { return messages_; }
  std::uint64_t commits() const { return commits_; }
  // One poll round (tests drive it directly); returns messages consumed.
  std::size_t poll_once();

 private:
  static void rebalance_cb(rd_kafka_s* rk, int err, void* partitions, void* opaque);
  void on_rebalance(int err, void* partitions);
  void schedule(std::uint64_t delay_ms);
  void commit_processed();
  StreamDecoder& stream_for(const std::string& topic, std::int32_t partition);

  KafkaOptions options_;
  SourceContext& context_;
  boost::asio::steady_timer timer_;
  rd_kafka_s* rk_ = nullptr;
  bool stopped_ = true;
  bool closing_ = false;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> next_offsets_;  // to commit
  std::map<std::pair<std::string, std::int32_t>, std::unique_ptr<StreamDecoder>> streams_;
  std::uint64_t messages_ = 0;
  std::uint64_t commits_ = 0;
};

}  // namespace sevwatch::detectors::sources
