#include "app/scan_stream.h"

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "app/event_spool.h"

namespace sevwatch::app {

using detectors::AccessEvent;

void RejectTally::add(detectors::Weird&& w) {
  ++rejected[std::string(w.reason)];
  if (samples.size() < kMaxSamples) {
    samples.push_back(RejectSample{fmt::format("{}:{}", w.pos.file, w.pos.line),
                                   std::string(w.reason), std::move(w.detail)});
  }
}

namespace {

// Watches the order; counts events and rejects of the input being read.
class OrderedSink : public detectors::EventSink {
 public:
  explicit OrderedSink(RejectTally& rejects) : rejects_(rejects) {}

  void on_weird(detectors::Weird&& w) override { rejects_.add(std::move(w)); }
  bool in_order() const { return in_order_; }
  // The input read next.
  virtual void start_input(const std::string& path) { (void)path; }
  std::uint64_t take_count() { return std::exchange(count_, 0); }

 protected:
  // False once any event stepped back in time; such a stream is dropped.
  bool admit(const AccessEvent& e) {
    if (!in_order_) return false;
    if (e.time_ms < last_ms_) {
      in_order_ = false;
      return false;
    }
    last_ms_ = e.time_ms;
    ++count_;
    return true;
  }

 private:
  RejectTally& rejects_;
  std::int64_t last_ms_ = INT64_MIN;
  std::uint64_t count_ = 0;
  bool in_order_ = true;
};

// One thread: the decoder calls the engine directly. (Holding events back so
// the engine could prefetch their state costs more in moving events than the
// cache misses it would save.)
class EngineSink : public OrderedSink {
 public:
  EngineSink(RejectTally& rejects, rules::Engine& engine) : OrderedSink(rejects), engine_(engine) {}
  void on_event(AccessEvent&& e) override {
    if (admit(e)) engine_.process(e);
  }

 private:
  rules::Engine& engine_;
};

// Two threads: events travel in batches from the decoding thread to the
// engine's, packed into an EventSpool (one contiguous buffer, written in order
// and read in order). Handing the AccessEvents themselves over costs more:
// every string buffer would bounce between the two cores' caches, once for
// the engine's read and again for the decoder's next write into it.
struct Batch {
  static constexpr std::size_t kEvents = 512;
  EventSpool spool;
  std::vector<EventSpool::Ref> refs;
};

class BatchChannel {
 public:
  explicit BatchChannel(std::size_t batches) {
    for (std::size_t i = 0; i < batches; ++i) free_.push_back(std::make_unique<Batch>());
  }
  // Producer: an empty batch (blocks while the consumer holds all of them);
  // null once the consumer gave up.
  std::unique_ptr<Batch> take_free() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !free_.empty() || abandoned_; });
    if (abandoned_) return nullptr;
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void push_full(std::unique_ptr<Batch> b) {
    {
      std::lock_guard lock(mu_);
      full_.push_back(std::move(b));
    }
    cv_.notify_all();
  }
  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  // Consumer: the next full batch, or null at the end.
  std::unique_ptr<Batch> take_full() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !full_.empty() || closed_; });
    if (full_.empty()) return nullptr;
    auto b = std::move(full_.front());
    full_.erase(full_.begin());
    return b;
  }
  void give_back(std::unique_ptr<Batch> b) {
    b->refs.clear();
    b->spool.clear();
    {
      std::lock_guard lock(mu_);
      free_.push_back(std::move(b));
    }
    cv_.notify_all();
  }
  void abandon() {
    {
      std::lock_guard lock(mu_);
      abandoned_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Batch>> free_;
  std::vector<std::unique_ptr<Batch>> full_;
  bool closed_ = false;
  bool abandoned_ = false;
};

class BatchSink : public OrderedSink {
 public:
  BatchSink(RejectTally& rejects, BatchChannel& channel)
      : OrderedSink(rejects), channel_(channel) {}
  void on_event(AccessEvent&& e) override {
    if (gave_up_ || !admit(e)) return;
    if (!batch_) {
      batch_ = channel_.take_free();
      if (!batch_) {
        gave_up_ = true;
        return;
      }
      batch_->spool.set_file(file_);
    }
    batch_->refs.push_back(batch_->spool.append(e));
    if (batch_->refs.size() == Batch::kEvents) channel_.push_full(std::move(batch_));
  }
  // The input being read next: a batch holds events of one input.
  void start_input(const std::string& path) override {
    flush();
    file_ = path;
  }
  void flush() {
    if (batch_ && !batch_->refs.empty()) channel_.push_full(std::move(batch_));
    batch_.reset();
  }

 private:
  BatchChannel& channel_;
  std::unique_ptr<Batch> batch_;
  std::string file_;
  bool gave_up_ = false;
};

void read_all(const std::vector<std::string>& paths, std::string_view format,
              const detectors::DecoderRegistry& registry, const detectors::DecoderOptions& options,
              OrderedSink& sink, StreamOutcome& out) {
  for (const auto& path : paths) {
    sink.start_input(path);
    StreamedInput in;
    in.path = path;
    in.result = detectors::read_input(path, format, registry, options, sink);
    in.events = sink.take_count();
    out.inputs.push_back(std::move(in));
    if (!sink.in_order()) break;
  }
  out.in_order = sink.in_order();
}

}  // namespace

StreamOutcome stream_in_order(const std::vector<std::string>& paths, std::string_view format,
                              const detectors::DecoderRegistry& registry,
                              const detectors::DecoderOptions& options, rules::Engine& engine,
                              unsigned threads) {
  StreamOutcome out;
  if (threads < 2) {
    EngineSink sink(out.rejects, engine);
    read_all(paths, format, registry, options, sink, out);
    return out;
  }

  BatchChannel channel(8);
  BatchSink sink(out.rejects, channel);
  std::thread decoder([&] {
    read_all(paths, format, registry, options, sink, out);
    sink.flush();
    channel.close();
  });
  std::exception_ptr failure;
  AccessEvent events[2];  // the engine thread's own: their strings never change cores
  try {
    while (auto batch = channel.take_full()) {
      // One event ahead: its object's slot in the engine's name table loads
      // while the one before is processed.
      const auto& refs = batch->refs;
      if (!refs.empty()) {
        batch->spool.read(refs[0], events[0]);
        engine.prefetch(events[0]);
      }
      for (std::size_t i = 0; i < refs.size(); ++i) {
        if (i + 1 < refs.size()) {
          batch->spool.read(refs[i + 1], events[(i + 1) % 2]);
          engine.prefetch(events[(i + 1) % 2]);
        }
        engine.process(events[i % 2]);
      }
      channel.give_back(std::move(batch));
    }
  } catch (...) {
    failure = std::current_exception();
    channel.abandon();
    while (channel.take_full()) {
    }
  }
  decoder.join();
  if (failure) std::rethrow_exception(failure);
  return out;
}

}  // namespace sevwatch::app
