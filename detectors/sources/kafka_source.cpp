#include "detectors/sources/kafka_source.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <stdexcept>

#include "detectors/sources/line_framer.h"

namespace sevwatch::detectors::sources {

KafkaOptions KafkaOptions::from(const SourceSpec& spec) {
  KafkaOptions o;
  o.name = spec.name;
  o.format = spec.format;
  o.brokers = spec.get("brokers");
  o.topics = spec.list("topics");
  if (o.topics.empty() && !spec.get("topic").empty()) o.topics.push_back(spec.get("topic"));
  o.group_id = spec.get("group_id", o.group_id);
  o.poll_interval_ms = spec.get_u64("poll_interval_ms", o.poll_interval_ms);
  for (const auto& kv : spec.list("properties")) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    o.properties.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  bool mock = false;
  for (const auto& [k, v] : o.properties) mock = mock || k == "test.mock.num.brokers";
  if (o.brokers.empty() && !mock) {
    throw std::invalid_argument(
        fmt::format("source '{}': kafka source needs 'brokers'", spec.name));
  }
  if (o.topics.empty()) {
    throw std::invalid_argument(fmt::format("source '{}': kafka source needs 'topics'", spec.name));
  }
  return o;
}

KafkaSource::KafkaSource(KafkaOptions options, SourceContext& context)
    : options_(std::move(options)), context_(context), timer_(context.executor) {
  require_format(*context_.registry, options_.name, options_.format);
}

KafkaSource::~KafkaSource() {
  if (rk_ == nullptr) return;
  closing_ = true;
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

void KafkaSource::rebalance_cb(rd_kafka_s* rk, int err, void* partitions, void* opaque) {
  (void)rk;
  static_cast<KafkaSource*>(opaque)->on_rebalance(err, partitions);
}

void KafkaSource::on_rebalance(int err, void* p) {
  auto* partitions = static_cast<rd_kafka_topic_partition_list_t*>(p);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    context_.log(
        "info", fmt::format("source {}: assigned {} partition(s)", options_.name, partitions->cnt));
    rd_kafka_assign(rk_, partitions);
    return;
  }
  // Revoked (or an error): commit what was processed before giving them away.
  if (!closing_ && context_.commit_now) {
    context_.commit_now();
  } else if (!closing_) {
    commit_processed();
  }
  // A record a stream's decoder still holds is not finished here: the
  // committed offset stays at its first message, so the partition's next
  // owner reads it again whole (finishing it would emit it cut short).
  for (int i = 0; i < partitions->cnt; ++i) {
    const auto key =
        std::make_pair(std::string(partitions->elems[i].topic), partitions->elems[i].partition);
    streams_.erase(key);
  }
  context_.log("info",
               fmt::format("source {}: {} partition(s) revoked", options_.name, partitions->cnt));
  rd_kafka_assign(rk_, nullptr);
}

void KafkaSource::start() {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v, bool secret) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw std::invalid_argument(fmt::format("source '{}': kafka property {}{}: {}", options_.name,
                                              k, secret ? "" : "=" + v, errstr));
    }
  };
  if (!options_.brokers.empty()) set("bootstrap.servers", options_.brokers, false);
  set("group.id", options_.group_id, false);
  set("enable.auto.commit", "false", false);
  set("enable.auto.offset.store", "false", false);
  set("auto.offset.reset", "earliest", false);
  set("enable.partition.eof", "false", false);
  for (const auto& [k, v] : options_.properties) set(k, v, /*secret=*/true);
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_rebalance_cb(
      conf, [](rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
               void* opaque) { rebalance_cb(rk, static_cast<int>(err), parts, opaque); });
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(fmt::format("source '{}': kafka: {}", options_.name, errstr));
  }
  rd_kafka_poll_set_consumer(rk_);
  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(static_cast<int>(options_.topics.size()));
  for (const auto& t : options_.topics) {
    rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  const auto err = rd_kafka_subscribe(rk_, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error(
        fmt::format("source '{}': kafka subscribe: {}", options_.name, rd_kafka_err2str(err)));
  }
  std::string topics_text;
  for (const auto& t : options_.topics) topics_text += (topics_text.empty() ? "" : ",") + t;
  context_.log("info", fmt::format("source {}: kafka consumer group {} on topic(s) {}; offsets "
                                   "committed after the events are stored",
                                   options_.name, options_.group_id, topics_text));
  stopped_ = false;
  schedule(0);
}

void KafkaSource::stop() {
  stopped_ = true;
  timer_.cancel();
}

void KafkaSource::schedule(std::uint64_t delay_ms) {
  if (stopped_) return;
  timer_.expires_after(std::chrono::milliseconds(delay_ms));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    const auto n = poll_once();
    schedule(n >= options_.max_messages_per_poll ? 0 : options_.poll_interval_ms);
  });
}

StreamDecoder& KafkaSource::stream_for(const std::string& topic, std::int32_t partition) {
  auto& s = streams_[{topic, partition}];
  if (!s) {
    s = std::make_unique<StreamDecoder>(context_, options_.name,
                                        fmt::format("kafka:{}/{}", topic, partition),
                                        options_.format, Sniffing::record);
  }
  return *s;
}

std::size_t KafkaSource::poll_once() {
  std::size_t n = 0;
  while (n < options_.max_messages_per_poll) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 0);
    if (m == nullptr) break;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        context_.log(
            "warn", fmt::format("source {}: kafka: {}", options_.name, rd_kafka_message_errstr(m)));
      }
      rd_kafka_message_destroy(m);
      continue;
    }
    ++n;
    ++messages_;
    const std::string topic = rd_kafka_topic_name(m->rkt);
    StreamDecoder& dec = stream_for(topic, m->partition);
    std::string_view value(static_cast<const char*>(m->payload),
                           m->payload == nullptr ? 0 : m->len);
    // A message is one record, or several lines; the line number is the
    // Kafka offset, so a position finds the message again.
    LineFramer framer(context_.decoder_options.max_line_bytes);
    framer.set_line_cap([&dec](std::string_view head) { return dec.line_cap(head); });
    auto on_line = [&](const FramedLine& l) {
      if (!l.too_long && l.text.empty()) return;
      FramedLine at = l;
      at.line = static_cast<std::uint64_t>(m->offset);
      dec.framed(at);
    };
    framer.feed(value, on_line);
    framer.finish(on_line);
    // Not past a record the decoder still holds (its first message's offset).
    std::int64_t next = m->offset + 1;
    if (const SourcePos* held = dec.pending_from(); held != nullptr) {
      next = std::min(next, static_cast<std::int64_t>(held->line));
    }
    next_offsets_[{topic, m->partition}] = next;
    rd_kafka_message_destroy(m);
  }
  return n;
}

void KafkaSource::commit_processed() {
  if (rk_ == nullptr || next_offsets_.empty()) return;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(next_offsets_.size()));
  for (const auto& [key, offset] : next_offsets_) {
    rd_kafka_topic_partition_list_add(list, key.first.c_str(), key.second)->offset = offset;
  }
  const auto err = rd_kafka_commit(rk_, list, /*async=*/0);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    // Kept: the next commit retries with the same (or later) offsets.
    context_.log("warn", fmt::format("source {}: kafka offset commit failed: {}", options_.name,
                                     rd_kafka_err2str(err)));
    return;
  }
  ++commits_;
  next_offsets_.clear();
}

void KafkaSource::on_durable() {
  commit_processed();
}

}  // namespace sevwatch::detectors::sources
