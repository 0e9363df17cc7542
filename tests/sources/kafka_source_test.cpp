// The Kafka source against librdkafka's built-in mock cluster (3 brokers):
// produce, consume through the source with commits after "durable", restart
// the consumer in the same group, and check nothing is lost.
#include "detectors/sources/kafka_source.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <catch2/catch.hpp>

#include "tests/sources/sources_support.h"

using namespace sevwatch::testing;
using namespace sevwatch::detectors::sources;

namespace {

struct MockCluster {
  rd_kafka_t* producer = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  std::string bootstraps;

  MockCluster() {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    REQUIRE(rd_kafka_conf_set(conf, "test.mock.num.brokers", "3", err, sizeof err) ==
            RD_KAFKA_CONF_OK);
    producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    REQUIRE(producer != nullptr);
    cluster = rd_kafka_handle_mock_cluster(producer);
    REQUIRE(cluster != nullptr);
    bootstraps = rd_kafka_mock_cluster_bootstraps(cluster);
    REQUIRE(rd_kafka_mock_topic_create(cluster, "audit", 4, 3) == RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ~MockCluster() { rd_kafka_destroy(producer); }

  void produce(const std::string& value, const std::string& key) {
    const auto err = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC("audit"), RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    REQUIRE(err == RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  void flush() { REQUIRE(rd_kafka_flush(producer, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR); }
};

KafkaOptions kafka_options(const std::string& bootstraps) {
  KafkaOptions o;
  o.name = "kafka";
  o.format = "ranger_audit";
  o.brokers = bootstraps;
  o.topics = {"audit"};
  o.group_id = "sevwatch-test";
  o.poll_interval_ms = 10;
  o.properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};
  return o;
}

}  // namespace

TEST_CASE("kafka source: commit after durable, restart in the group loses nothing", "[kafka]") {
  MockCluster mock;
  constexpr int kTotal = 200;
  for (int i = 0; i < 120; ++i) {
    mock.produce(ranger_line("k" + std::to_string(i), i), "key" + std::to_string(i));
  }
  mock.flush();

  SourceHarness h;
  h.ctx.commit_now = nullptr;
  std::size_t first_run = 0;
  {
    KafkaSource s(kafka_options(mock.bootstraps), h.ctx);
    s.start();
    // Consume about half, then the pipeline commits (durable) and the
    // consumer goes away (stop + close).
    REQUIRE(h.run_until([&] { return h.sink.ids.size() >= 60; }, 30000));
    s.stop();
    s.on_durable();
    CHECK(s.commits() >= 1);
    first_run = h.sink.ids.size();
  }
  // More messages while nobody consumes.
  for (int i = 120; i < kTotal; ++i) {
    mock.produce(ranger_line("k" + std::to_string(i), i), "key" + std::to_string(i));
  }
  mock.flush();

  {
    KafkaSource s(kafka_options(mock.bootstraps), h.ctx);
    s.start();
    const bool all = h.run_until([&] { return h.sink.counts().size() >= kTotal; }, 30000);
    INFO(h.log_text());
    REQUIRE(all);
    s.stop();
    s.on_durable();
  }
  const auto counts = h.sink.counts();
  for (int i = 0; i < kTotal; ++i) {
    INFO("k" << i);
    CHECK(counts.count("k" + std::to_string(i)) == 1);
  }
  // Committed offsets were honoured: the restarted member did not start over.
  std::size_t duplicates = 0;
  for (const auto& [id, n] : counts) duplicates += static_cast<std::size_t>(n - 1);
  CHECK(duplicates == 0);
  CHECK(first_run >= 60);
  CHECK(h.sink.rejects.empty());
}

TEST_CASE("kafka source: uncommitted messages are delivered again after a restart", "[kafka]") {
  MockCluster mock;
  for (int i = 0; i < 50; ++i) mock.produce(ranger_line("u" + std::to_string(i), i), "k");
  mock.flush();
  SourceHarness h;
  {
    KafkaSource s(kafka_options(mock.bootstraps), h.ctx);
    s.start();
    REQUIRE(h.run_until([&] { return h.sink.ids.size() >= 50; }, 30000));
    s.stop();
    // No on_durable: the pipeline never committed (a crash).
  }
  h.sink.ids.clear();
  {
    KafkaSource s(kafka_options(mock.bootstraps), h.ctx);
    s.start();
    const bool all = h.run_until([&] { return h.sink.ids.size() >= 50; }, 30000);
    INFO(h.log_text());
    REQUIRE(all);
    s.stop();
  }
  CHECK(h.sink.counts().size() == 50);
}

TEST_CASE("kafka source: a record sent over several messages is not committed half-read",
          "[kafka][pgaudit]") {
  MockCluster mock;
  auto o = kafka_options(mock.bootstraps);
  o.format = "pgaudit";
  auto pg_line = [](int id) {
    return fmt::format(
        "2026-08-20 09:14:{:02}.000 UTC alice dw [4821]: LOG:  AUDIT: "
        "SESSION,{},1,READ,SELECT,TABLE,sales.orders,SELECT 1,<not logged>",
        id % 60, id);
  };
  // One statement, one message per physical line (as a line shipper sends it).
  mock.produce(pg_line(1), "k");
  mock.produce(
      "2026-08-20 09:15:00.000 UTC etl dw [4900]: LOG:  AUDIT: SESSION,7,1,ROLE,GRANT,,,\"GRANT "
      "SELECT",
      "k");
  mock.produce("\tON TABLE sales.orders", "k");
  mock.flush();
  SourceHarness h;
  h.ctx.commit_now = nullptr;
  {
    KafkaSource s(o, h.ctx);
    s.start();
    REQUIRE(h.run_until([&] { return s.messages() >= 3; }, 30000));
    s.stop();
    s.on_durable();  // commits; then the process is gone, the half statement with it
  }
  CHECK(h.sink.ids == std::vector<std::string>{"4821:1:1"});
  mock.produce("\tTO PUBLIC\",<not logged>", "k");
  mock.produce(pg_line(8), "k");
  mock.flush();
  {
    KafkaSource s(o, h.ctx);
    s.start();
    const bool got = h.run_until([&] { return h.sink.ids.size() >= 2; }, 30000);
    INFO(h.log_text());
    REQUIRE(got);
    s.stop();
  }
  CHECK(h.sink.rejects.empty());
  CHECK(h.sink.ids == std::vector<std::string>{"4821:1:1", "4900:7:1"});
  CHECK(h.sink.events[1].query == "GRANT SELECT\nON TABLE sales.orders\nTO PUBLIC");
}
