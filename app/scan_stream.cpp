#include "app/scan_stream.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "app/event_spool.h"
#include "detectors/raw_record.h"

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

// Admits events while none steps back in time; false for ever after the
// first that does (such a stream is dropped).
class OrderCheck {
 public:
  bool admit(const AccessEvent& e) {
    if (!in_order_) return false;
    if (e.time_ms < last_ms_) {
      in_order_ = false;
      return false;
    }
    last_ms_ = e.time_ms;
    return true;
  }
  bool in_order() const { return in_order_; }

 private:
  std::int64_t last_ms_ = INT64_MIN;
  bool in_order_ = true;
};

// What read_all() feeds: tallies the rejects of the inputs it reads, and
// says when the stream is abandoned.
class StreamSink : public detectors::EventSink {
 public:
  explicit StreamSink(RejectTally& rejects) : rejects_(rejects) {}

  void on_weird(detectors::Weird&& w) override { rejects_.add(std::move(w)); }
  virtual bool in_order() const = 0;
  // An abandoned stream reads no further.
  bool done() const override { return !in_order(); }
  // The input read next.
  virtual void start_input(const std::string& path) { (void)path; }
  // The events of the input just read (0 when they are counted elsewhere).
  virtual std::uint64_t take_count() { return 0; }

 private:
  RejectTally& rejects_;
};

// One thread: the decoder calls the engine directly, with the order checked
// and events counted here. (Holding events back so the engine could prefetch
// their state costs more in moving events than the cache misses it would
// save.)
class EngineSink : public StreamSink {
 public:
  EngineSink(RejectTally& rejects, rules::Engine& engine) : StreamSink(rejects), engine_(engine) {}
  void on_event(AccessEvent&& e) override {
    if (!order_.admit(e)) return;
    ++count_;
    engine_.process(e);
  }
  bool in_order() const override { return order_.in_order(); }
  std::uint64_t take_count() override { return std::exchange(count_, 0); }

 private:
  rules::Engine& engine_;
  OrderCheck order_;
  std::uint64_t count_ = 0;
};

// Two threads: events travel in batches from the decoding thread to the
// engine's, packed into an EventSpool (one contiguous buffer, written in order
// and read in order). Handing the AccessEvents themselves over costs more:
// every string buffer would bounce between the two cores' caches, once for
// the engine's read and again for the decoder's next write into it.
//
// Decoding is the larger half of the work, so the engine thread also decodes:
// of a format whose lines decode on their own (DecoderInfo::independent_lines)
// a steered share of the batches carries raw lines, which the engine thread
// decodes with its own decoder and processes at once. Batches keep the
// input's order, so events still reach the engine in the order they were
// read; the engine thread checks that order for every event.
//
// The decoding thread starts before the engine exists (InOrderStream), and
// batches are made as needed, up to the stream's limit, so that it decodes
// ahead while the context loads; no line batches go out before the engine
// thread takes its first batch.
struct Batch {
  static constexpr std::size_t kItems = 512;         // events or lines, at most
  static constexpr std::size_t kMaxBytes = 4 << 20;  // or fewer, once they hold this
  struct Line {
    std::size_t at = 0;
    std::size_t size = 0;
    std::uint64_t line = 0;
    std::uint64_t offset = 0;
  };
  std::size_t input = 0;  // index of the input (read order)
  std::string file;
  // An event batch (filled and cleared over and over: small chunks):
  EventSpool spool{256 << 10};
  std::vector<EventSpool::Ref> refs;
  // A line batch (format set): the lines back to back, each followed by its
  // newline, then kLinePadding spare bytes, so every line decodes in place.
  const detectors::DecoderInfo* format = nullptr;
  std::string text;
  std::vector<Line> lines;

  std::size_t size() const { return format != nullptr ? lines.size() : refs.size(); }
  std::size_t bytes() const { return spool.bytes() + text.size(); }
};

class BatchChannel {
 public:
  // Batches are made as needed, up to `max_batches`; past kBaseBatches only
  // while the full ones hold less than kMaxQueuedBytes (long lines, or the
  // source records kept for raw.<path> rules, make large batches).
  static constexpr std::size_t kBaseBatches = 8;
  static constexpr std::size_t kMaxQueuedBytes = 64 << 20;
  explicit BatchChannel(std::size_t max_batches) : max_batches_(max_batches) {}
  // Producer: an empty batch (blocks while the consumer holds all of them);
  // null once the consumer gave up.
  std::unique_ptr<Batch> take_free() {
    std::unique_lock lock(mu_);
    if (free_.empty() && made_ < max_batches_ &&
        (made_ < kBaseBatches || queued_bytes_ < kMaxQueuedBytes)) {
      ++made_;
      return std::make_unique<Batch>();
    }
    cv_.wait(lock, [&] { return !free_.empty() || abandoned_; });
    if (abandoned_) return nullptr;
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  // Returns how many full batches wait for the consumer, this one included.
  std::size_t push_full(std::unique_ptr<Batch> b) {
    std::size_t waiting = 0;
    const std::size_t bytes = b->bytes();  // unchanged until the consumer takes it
    {
      std::lock_guard lock(mu_);
      queued_bytes_ += bytes;
      full_.push_back(std::move(b));
      waiting = full_.size();
    }
    cv_.notify_all();
    return waiting;
  }
  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  // Producer: true until the consumer takes its first batch (or gives up).
  bool holds_back() const { return !consuming_.load(std::memory_order_relaxed); }
  // Consumer: the next full batch, or null at the end.
  std::unique_ptr<Batch> take_full() {
    consuming_.store(true, std::memory_order_relaxed);
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !full_.empty() || closed_; });
    if (full_.empty()) return nullptr;
    auto b = std::move(full_.front());
    full_.pop_front();
    queued_bytes_ -= b->bytes();
    return b;
  }
  void give_back(std::unique_ptr<Batch> b) {
    b->refs.clear();
    b->spool.clear();
    b->format = nullptr;
    b->text.clear();
    b->lines.clear();
    {
      std::lock_guard lock(mu_);
      free_.push_back(std::move(b));
    }
    cv_.notify_all();
  }
  // Consumer: gives up; drops what the producer still pushes until it closes.
  void abandon() {
    consuming_.store(true, std::memory_order_relaxed);
    {
      std::lock_guard lock(mu_);
      abandoned_ = true;
    }
    cv_.notify_all();
    while (take_full()) {
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Batch>> free_;
  std::deque<std::unique_ptr<Batch>> full_;
  std::size_t max_batches_;
  std::size_t made_ = 0;
  std::size_t queued_bytes_ = 0;  // of the full batches
  bool closed_ = false;
  bool abandoned_ = false;
  std::atomic<bool> consuming_{false};
};

// The decoding thread's sink: fills event batches, and line batches for the
// SplitDecoders below. The order is checked, and events counted, on the
// engine thread (EngineSide).
//
// How many batches of an independent-lines format go raw is steered by the
// queue: more than kSteadyQueue full batches waiting mean the engine thread
// is behind (fewer line batches: so it works off the head start), an empty
// queue that it waits for batches (more).
class BatchSink : public StreamSink {
 public:
  static constexpr int kShareSteps = 64;  // the share of line batches, in 64ths
  // More full batches than this waiting: the engine thread is behind.
  static constexpr std::size_t kSteadyQueue = 4;

  BatchSink(RejectTally& rejects, BatchChannel& channel, const KeptText& keep)
      : StreamSink(rejects), channel_(channel), keep_(keep) {}
  void on_event(AccessEvent&& e) override {
    if (batch_ && batch_->format != nullptr) push();  // a line batch takes no events
    if (!batch_ && !start(nullptr)) return;
    batch_->refs.push_back(batch_->spool.append(e));
    if (batch_->refs.size() == Batch::kItems || batch_->spool.bytes() >= Batch::kMaxBytes) push();
  }
  // A line of `format` (an independent-lines format): true when it went into
  // a line batch (or was dropped: the engine thread gave up), false when the
  // caller decodes it here.
  bool take_line(const detectors::DecoderInfo& format, std::string_view line,
                 const detectors::SourcePos& pos) {
    if (gave_up_) return true;
    if (batch_ && batch_->format != nullptr && batch_->format != &format) push();
    if (!batch_) {
      bool lines = false;
      if (!channel_.holds_back()) {  // no line batches in the head start
        credit_ += share_;
        lines = credit_ >= kShareSteps;
        if (lines) credit_ -= kShareSteps;
      }
      if (!start(lines ? &format : nullptr)) return true;
    }
    if (batch_->format == nullptr) return false;
    auto& b = *batch_;
    b.lines.push_back(Batch::Line{b.text.size(), line.size(), pos.line, pos.offset});
    b.text.append(line);
    b.text.push_back('\n');
    if (b.lines.size() == Batch::kItems || b.text.size() >= Batch::kMaxBytes) push();
    return true;
  }
  // The input read next: a batch holds lines or events of one input.
  void start_input(const std::string& path) override {
    flush();
    file_ = path;
    ++inputs_started_;
  }
  void flush() {
    if (batch_ && batch_->size() != 0) {
      push();
    } else {
      batch_.reset();
    }
  }
  bool in_order() const override { return !gave_up_; }

 private:
  bool start(const detectors::DecoderInfo* format) {
    if (gave_up_) return false;
    batch_ = channel_.take_free();
    if (!batch_) {
      gave_up_ = true;
      return false;
    }
    batch_->input = inputs_started_ - 1;
    batch_->file = file_;
    batch_->spool.set_file(file_);
    batch_->spool.set_kept(keep_);
    batch_->format = format;
    return true;
  }
  void push() {
    if (batch_->format != nullptr) batch_->text.append(detectors::kLinePadding, ' ');
    const std::size_t waiting = channel_.push_full(std::move(batch_));
    if (waiting > kSteadyQueue) {
      share_ = std::max(0, share_ - 1);
    } else if (waiting <= 1) {
      share_ = std::min(kShareSteps / 2, share_ + 1);
    }
  }

  BatchChannel& channel_;
  const KeptText keep_;  // the free text events carry to the engine thread (a copy)
  std::unique_ptr<Batch> batch_;
  std::string file_;
  std::size_t inputs_started_ = 0;  // the current input's index, plus one
  int share_ = kShareSteps / 8;     // line batches per kShareSteps batches
  // The first batch after the head start goes raw: every two-thread stream
  // that outlasts its head start shares lines, whatever the timing.
  int credit_ = kShareSteps;
  bool gave_up_ = false;
};

// Wraps the decoder of an independent-lines format on the decoding thread:
// each line either goes raw into a line batch or is decoded here.
class SplitDecoder : public detectors::Decoder {
 public:
  SplitDecoder(std::unique_ptr<detectors::Decoder> inner, BatchSink& sink,
               const detectors::DecoderInfo& format)
      : inner_(std::move(inner)), sink_(sink), format_(format) {}
  std::string_view name() const override { return inner_->name(); }
  void decode_line(std::string_view line, const detectors::SourcePos& pos,
                   detectors::EventSink& sink) override {
    if (!sink_.take_line(format_, line, pos)) inner_->decode_line(line, pos, sink);
  }
  void decode_padded_line(std::string_view line, const detectors::SourcePos& pos,
                          detectors::EventSink& sink) override {
    if (!sink_.take_line(format_, line, pos)) inner_->decode_padded_line(line, pos, sink);
  }
  void finish(detectors::EventSink& sink) override { inner_->finish(sink); }
  const detectors::SourcePos* pending_from() const override { return inner_->pending_from(); }

 private:
  std::unique_ptr<detectors::Decoder> inner_;
  BatchSink& sink_;
  const detectors::DecoderInfo& format_;  // in the caller's registry
};

// `registry` with each independent-lines format's decoder wrapped in a
// SplitDecoder feeding `sink`.
detectors::DecoderRegistry splitting_registry(const detectors::DecoderRegistry& registry,
                                              BatchSink& sink) {
  detectors::DecoderRegistry out;
  for (const auto& name : registry.names()) {
    const detectors::DecoderInfo* original = registry.find(name);
    detectors::DecoderInfo info = *original;
    if (info.independent_lines) {
      info.make = [original, &sink](const detectors::DecoderOptions& o) {
        return std::make_unique<SplitDecoder>(original->make(o), sink, *original);
      };
    }
    out.add(std::move(info));
  }
  return out;
}

// The engine thread: checks the order of every event, counts events per
// input, decodes line batches with decoders of its own.
class EngineSide : public detectors::EventSink {
 public:
  EngineSide(rules::Engine& engine, const detectors::DecoderOptions& options)
      : engine_(engine), options_(options) {}

  void on_event(AccessEvent&& e) override { process(e); }
  void on_weird(detectors::Weird&& w) override { rejects_.add(std::move(w)); }

  void process(const AccessEvent& e) {
    if (!order_.admit(e)) return;
    ++counts_[input_];
    engine_.process(e);
  }
  void run(Batch& b, AccessEvent (&events)[2]) {
    input_ = b.input;
    if (counts_.size() <= input_) counts_.resize(input_ + 1, 0);
    if (b.format != nullptr) {
      decode(b);
      return;
    }
    // One event ahead: its object's slot in the engine's name table loads
    // while the one before is processed.
    const auto& refs = b.refs;
    if (!refs.empty()) {
      b.spool.read(refs[0], events[0]);
      engine_.prefetch(events[0]);
    }
    for (std::size_t i = 0; i < refs.size() && order_.in_order(); ++i) {
      if (i + 1 < refs.size()) {
        b.spool.read(refs[i + 1], events[(i + 1) % 2]);
        engine_.prefetch(events[(i + 1) % 2]);
      }
      process(events[i % 2]);
    }
  }
  bool in_order() const { return order_.in_order(); }
  std::uint64_t shared_lines() const { return shared_lines_; }
  std::uint64_t count(std::size_t input) const {
    return input < counts_.size() ? counts_[input] : 0;
  }
  RejectTally& rejects() { return rejects_; }

 private:
  void decode(Batch& b) {
    auto& decoder = decoders_[b.format];
    if (!decoder) decoder = b.format->make(options_);
    detectors::RawLineSink raw(*this);
    detectors::EventSink& out = options_.keep_raw ? static_cast<detectors::EventSink&>(raw) : *this;
    detectors::SourcePos pos;
    pos.file = b.file;
    shared_lines_ += b.lines.size();
    for (const auto& l : b.lines) {
      if (!order_.in_order()) return;
      const std::string_view line(b.text.data() + l.at, l.size);
      pos.line = l.line;
      pos.offset = l.offset;
      if (options_.keep_raw) raw.set_line(line);
      decoder->decode_padded_line(line, pos, out);
    }
  }

  rules::Engine& engine_;
  const detectors::DecoderOptions& options_;
  std::map<const detectors::DecoderInfo*, std::unique_ptr<detectors::Decoder>> decoders_;
  RejectTally rejects_;
  std::vector<std::uint64_t> counts_;
  std::size_t input_ = 0;
  std::uint64_t shared_lines_ = 0;
  OrderCheck order_;
};

void read_all(const std::vector<std::string>& paths, std::string_view format,
              const detectors::DecoderRegistry& registry, const detectors::DecoderOptions& options,
              StreamSink& sink, StreamOutcome& out) {
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

struct InOrderStream::Threads {
  Threads(const KeptText& keep, std::size_t max_batches)
      : channel(max_batches), sink(out.rejects, channel, keep) {}
  StreamOutcome out;  // filled by the decoding thread, then completed by run()
  BatchChannel channel;
  BatchSink sink;
  detectors::DecoderRegistry split;
  std::thread decoder;
};

InOrderStream::InOrderStream(std::vector<std::string> paths, std::string format,
                             const detectors::DecoderRegistry& registry,
                             detectors::DecoderOptions options, const KeptText& keep,
                             unsigned threads, std::size_t max_batches)
    : paths_(std::move(paths)),
      format_(std::move(format)),
      registry_(registry),
      options_(std::move(options)) {
  if (threads < 2) return;
  threads_ = std::make_unique<Threads>(keep, max_batches);
  Threads& t = *threads_;
  t.split = splitting_registry(registry_, t.sink);
  t.decoder = std::thread([this, &t] {
    read_all(paths_, format_, t.split, options_, t.sink, t.out);
    t.sink.flush();
    t.channel.close();
  });
}

InOrderStream::~InOrderStream() {
  if (!threads_ || !threads_->decoder.joinable()) return;
  threads_->channel.abandon();
  threads_->decoder.join();
}

StreamOutcome InOrderStream::run(rules::Engine& engine) {
  if (!threads_) {
    StreamOutcome out;
    EngineSink sink(out.rejects, engine);
    read_all(paths_, format_, registry_, options_, sink, out);
    return out;
  }
  Threads& t = *threads_;
  std::exception_ptr failure;
  EngineSide side(engine, options_);
  AccessEvent events[2];  // the engine thread's own: their strings never change cores
  try {
    while (auto batch = t.channel.take_full()) {
      side.run(*batch, events);
      t.channel.give_back(std::move(batch));
      if (!side.in_order()) break;
    }
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure || !side.in_order()) t.channel.abandon();
  t.decoder.join();
  if (failure) std::rethrow_exception(failure);
  // The engine thread saw every event: its order check and counts are the
  // stream's.
  StreamOutcome out = std::move(t.out);
  out.in_order = out.in_order && side.in_order();
  out.shared_lines = side.shared_lines();
  for (std::size_t i = 0; i < out.inputs.size(); ++i) out.inputs[i].events = side.count(i);
  for (const auto& [reason, n] : side.rejects().rejected) out.rejects.rejected[reason] += n;
  for (auto& sample : side.rejects().samples) {
    if (out.rejects.samples.size() < RejectTally::kMaxSamples) {
      out.rejects.samples.push_back(std::move(sample));
    }
  }
  return out;
}

}  // namespace sevwatch::app
