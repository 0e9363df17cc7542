#include "detectors/sources/file_source.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <set>
#include <thread>

#include "detectors/input_reader.h"

namespace sevwatch::detectors::sources {

namespace {

bool is_true(const std::string& v) {
  return v == "true" || v == "yes" || v == "1" || v == "on";
}

// Reads up to `n` bytes at `offset`; returns what was read (short at EOF).
std::string pread_head(int fd, std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, out.data() + got, n - got, static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  out.resize(got);
  return out;
}

// Forwards read_input's events (gzip files) to the pipeline.
struct WholeFileSink final : EventSink {
  IngestSink& sink;
  const std::string& source;
  WholeFileSink(IngestSink& s, const std::string& name) : sink(s), source(name) {}
  void on_event(AccessEvent&& e) override { sink.on_event(std::move(e)); }
  void on_weird(Weird&& w) override {
    sink.on_reject(
        Reject{source, std::move(w.pos), std::string(w.reason), std::move(w.detail), {}});
  }
};

}  // namespace

FileSourceOptions FileSourceOptions::from(const SourceSpec& spec) {
  FileSourceOptions o;
  o.name = spec.name;
  o.format = spec.format;
  o.paths = spec.list("paths");
  if (o.paths.empty() && !spec.get("path").empty()) o.paths.push_back(spec.get("path"));
  if (o.paths.empty()) {
    throw std::invalid_argument(fmt::format("source '{}': file source needs 'paths'", spec.name));
  }
  o.poll_interval_ms = std::max<std::uint64_t>(10, spec.get_u64("poll_interval_ms", 250));
  const std::string start_at = spec.get("start_at", "beginning");
  if (start_at != "beginning" && start_at != "end") {
    throw std::invalid_argument(
        fmt::format("source '{}': start_at must be 'beginning' or 'end'", spec.name));
  }
  o.start_at_end = start_at == "end" || is_true(spec.get("start_at_end"));
  return o;
}

struct FileSource::Tracked {
  std::string path;
  int fd = -1;
  dev_t dev = 0;
  ino_t ino = 0;
  std::uint64_t read_off = 0;
  std::uint64_t last_size = 0;
  std::string fp;
  std::uint64_t fp_bytes = 0;
  LineFramer framer;
  std::unique_ptr<StreamDecoder> dec;
  bool gz = false;
  bool done = false;  // gzip read whole
  std::uint64_t gz_size = 0;

  explicit Tracked(std::size_t max_line) : framer(max_line) {
    framer.set_line_cap([this](std::string_view head) { return dec->line_cap(head); });
  }
  ~Tracked() {
    if (fd >= 0) ::close(fd);
  }
};

struct FileSource::Stdin {
  LineFramer framer;
  std::unique_ptr<StreamDecoder> dec;
  bool eof = false;
  bool stopped = false;
  explicit Stdin(std::size_t max_line) : framer(max_line) {
    framer.set_line_cap([this](std::string_view head) { return dec->line_cap(head); });
  }
};

FileSource::FileSource(FileSourceOptions options, SourceContext& context)
    : options_(std::move(options)), context_(context), timer_(context.executor), buf_(1 << 20) {
  require_format(*context_.registry, options_.name, options_.format);
}

FileSource::~FileSource() {
  if (stdin_) stdin_->stopped = true;
}

void FileSource::start() {
  stopped_ = false;
  if (context_.checkpoints != nullptr) saved_ = context_.checkpoints->load(options_.name);
  for (const auto& p : options_.paths) {
    if (p == "-") start_stdin();
  }
  poll();
}

void FileSource::stop() {
  stopped_ = true;
  timer_.cancel();
  if (stdin_) stdin_->stopped = true;
}

bool FileSource::finished() const {
  // Only stdin ends; files may always grow.
  if (!stdin_ || !stdin_->eof) return false;
  for (const auto& p : options_.paths) {
    if (p != "-") return false;
  }
  return true;
}

void FileSource::schedule(std::uint64_t delay_ms) {
  if (stopped_) return;
  timer_.expires_after(std::chrono::milliseconds(delay_ms));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopped_) poll();
  });
}

void FileSource::poll() {
  std::set<std::string> matched;
  for (const auto& pattern : options_.paths) {
    if (pattern == "-") continue;
    glob_t g{};
    if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
      for (std::size_t i = 0; i < g.gl_pathc; ++i) matched.insert(g.gl_pathv[i]);
    }
    ::globfree(&g);
  }
  for (const auto& path : matched) {
    if (files_.find(path) == files_.end()) open_new(path, /*use_checkpoint=*/true);
  }
  bool more = false;
  std::vector<std::string> paths;
  for (const auto& [path, t] : files_) paths.push_back(path);
  for (const auto& path : paths) {
    if (files_.find(path) == files_.end()) continue;
    check_identity(*files_.at(path));  // may replace the entry (rotation)
    auto it = files_.find(path);
    if (it == files_.end()) continue;
    Tracked& t = *it->second;
    if (!t.gz && t.fd >= 0) more = read_available(t) || more;
    // A deleted file that was read to its end and has no new file at its path.
    struct stat st {};
    if (!t.gz && t.fd >= 0 && ::stat(t.path.c_str(), &st) != 0 && ::fstat(t.fd, &st) == 0 &&
        st.st_nlink == 0 && static_cast<std::uint64_t>(st.st_size) <= t.read_off) {
      t.framer.finish([&](const FramedLine& l) { t.dec->framed(l); });
      t.dec->finish();
      context_.log("info", fmt::format("source {}: {} was deleted; stopped following it",
                                       options_.name, t.path));
      files_.erase(it);
    }
  }
  schedule(more ? 0 : options_.poll_interval_ms);
}

void FileSource::open_new(const std::string& path, bool use_checkpoint) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // gone again, or unreadable: retried next poll
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return;
  }
  auto t = std::make_unique<Tracked>(context_.decoder_options.max_line_bytes);
  t->path = path;
  t->fd = fd;
  t->dev = st.st_dev;
  t->ino = st.st_ino;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  t->last_size = size;
  const std::string head = pread_head(fd, kFingerprintBytes);
  t->fp = fingerprint_hex(head);
  t->fp_bytes = head.size();
  t->gz = head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
          static_cast<unsigned char>(head[1]) == 0x8b;
  t->dec = std::make_unique<StreamDecoder>(context_, options_.name, path, options_.format);

  // A checkpoint for this file: the same path with a matching fingerprint,
  // else another path's whose inode and fingerprint match (rotated while down).
  const Checkpoint* found = nullptr;
  auto fp_matches = [&](const Checkpoint& c) {
    if (c.fingerprint_bytes == 0) return c.inode == st.st_ino;
    return head.size() >= c.fingerprint_bytes &&
           fingerprint_hex(std::string_view(head).substr(0, c.fingerprint_bytes)) == c.fingerprint;
  };
  if (use_checkpoint) {
    for (const auto& c : saved_) {
      if (c.stream == path && c.offset <= size && fp_matches(c)) found = &c;
    }
    if (found == nullptr) {
      for (const auto& c : saved_) {
        if (c.stream != path && c.inode == st.st_ino && c.offset <= size && fp_matches(c)) {
          found = &c;
        }
      }
    }
  }
  std::string how = "from the start";
  if (found != nullptr) {
    t->read_off = found->offset;
    t->framer.reset(found->offset, found->line);
    how = fmt::format("from its checkpoint at offset {} (line {}){}", found->offset, found->line,
                      found->stream == path ? "" : ", rotated from " + found->stream);
    if (t->gz) {
      t->done = found->offset >= size;
      t->gz_size = size;
    }
    // A checkpoint serves one file only.
    const std::string used = found->stream;
    std::erase_if(saved_, [&](const Checkpoint& c) { return c.stream == used; });
  } else if (options_.start_at_end && !t->gz) {
    t->read_off = size;
    t->framer.reset(size, 0);
    how = fmt::format("from its end at offset {}", size);
  }
  context_.log("info", fmt::format("source {}: following {} {}{}", options_.name, path, how,
                                   t->gz ? " (gzip, read whole)" : ""));
  Tracked& ref = *t;
  files_[path] = std::move(t);
  if (ref.gz && !ref.done) read_gzip(ref);
}

void FileSource::read_gzip(Tracked& t) {
  WholeFileSink sink(*context_.sink, options_.name);
  const auto r =
      read_input(t.path, options_.format, *context_.registry, context_.decoder_options, sink);
  if (!r.ok) {
    context_.log("error", fmt::format("source {}: {}", options_.name, r.error));
  }
  t.done = true;
  t.gz_size = t.last_size;
  t.framer.reset(t.last_size, r.lines);
  if (t.fd >= 0) {
    ::close(t.fd);
    t.fd = -1;
  }
}

bool FileSource::read_available(Tracked& t) {
  std::uint64_t budget = options_.max_read_per_poll;
  auto on_line = [&](const FramedLine& l) { t.dec->framed(l); };
  while (budget > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf_.size(), budget));
    const ssize_t n = ::pread(t.fd, buf_.data(), want, static_cast<off_t>(t.read_off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      context_.log("error", fmt::format("source {}: reading {}: {}", options_.name, t.path,
                                        std::strerror(errno)));
      return false;
    }
    if (n == 0) {
      t.dec->settle();  // format auto: the file's first lines are all there are for now
      return false;
    }
    t.read_off += static_cast<std::uint64_t>(n);
    budget -= static_cast<std::uint64_t>(n);
    t.framer.feed(std::string_view(buf_.data(), static_cast<std::size_t>(n)), on_line);
  }
  return true;
}

void FileSource::check_identity(Tracked& t) {
  struct stat st {};
  if (::stat(t.path.c_str(), &st) != 0) return;  // gone: keep reading the open file
  if (st.st_ino != t.ino || st.st_dev != t.dev) {
    // Rotated by rename (or replaced): finish the old file, then follow the new one.
    if (t.fd >= 0) {
      while (read_available(t)) {
      }
      t.framer.finish([&](const FramedLine& l) { t.dec->framed(l); });
    }
    t.dec->finish();
    context_.log("info", fmt::format("source {}: {} was rotated (new file at the path); finished "
                                     "the old file at offset {}",
                                     options_.name, t.path, t.framer.consumed()));
    const std::string path = t.path;
    files_.erase(path);  // destroys t
    open_new(path, /*use_checkpoint=*/false);
    return;
  }
  if (t.gz || t.fd < 0) return;
  struct stat fst {};
  if (::fstat(t.fd, &fst) != 0) return;
  const auto size = static_cast<std::uint64_t>(fst.st_size);
  bool truncated = size < t.read_off;
  if (!truncated && size != t.last_size && t.fp_bytes < kFingerprintBytes) {
    const std::string head = pread_head(t.fd, kFingerprintBytes);
    truncated =
        t.fp_bytes > 0 && (head.size() < t.fp_bytes ||
                           fingerprint_hex(std::string_view(head).substr(0, t.fp_bytes)) != t.fp);
    if (!truncated) {
      t.fp = fingerprint_hex(head);
      t.fp_bytes = head.size();
    }
  } else if (!truncated && size != t.last_size) {
    truncated = fingerprint_hex(pread_head(t.fd, t.fp_bytes)) != t.fp;
  }
  if (truncated) {
    context_.log("info", fmt::format("source {}: {} was truncated (size {} < offset {}, or its "
                                     "first bytes changed); reading it again from the start",
                                     options_.name, t.path, size, t.read_off));
    t.dec->finish();
    // Read again as a new stream (format auto sniffs it again).
    t.dec = std::make_unique<StreamDecoder>(context_, options_.name, t.path, options_.format);
    t.framer.reset(0, 0);
    t.read_off = 0;
    const std::string head = pread_head(t.fd, kFingerprintBytes);
    t.fp = fingerprint_hex(head);
    t.fp_bytes = head.size();
  }
  t.last_size = size;
}

void FileSource::collect_checkpoints(std::vector<Checkpoint>& out) {
  for (const auto& [path, t] : files_) {
    std::uint64_t offset = t->gz ? t->gz_size : t->framer.consumed();
    std::uint64_t line = t->framer.lines();
    // Never past a record the decoder still holds (a multi-line pgaudit
    // statement, a pretty-printed document, lines held to sniff the format):
    // a restart reads it again whole.
    const SourcePos* held = t->gz ? nullptr : t->dec->pending_from();
    if (held != nullptr && held->offset < offset) {
      offset = held->offset;
      line = held->line > 0 ? held->line - 1 : 0;
    }
    out.push_back(Checkpoint{options_.name, path, static_cast<std::uint64_t>(t->ino), t->fp,
                             t->fp_bytes, offset, line});
  }
}

void FileSource::start_stdin() {
  auto st = std::make_shared<Stdin>(context_.decoder_options.max_line_bytes);
  st->dec = std::make_unique<StreamDecoder>(context_, options_.name, "-", options_.format,
                                            Sniffing::record);
  stdin_ = st;
  const int fd = ::dup(STDIN_FILENO);
  if (fd < 0) {
    context_.log("error", fmt::format("source {}: stdin: {}", options_.name, std::strerror(errno)));
    st->eof = true;
    return;
  }
  context_.log("info", fmt::format("source {}: reading stdin (no checkpoints)", options_.name));
  auto exec = context_.executor;
  // A blocking read on its own thread works for pipes, terminals and files
  // alike; each chunk is handed to the executor's thread.
  std::thread([fd, st, exec, name = options_.name, log = context_.log]() {
    std::vector<char> buf(1 << 16);
    for (;;) {
      const ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      boost::asio::post(exec, [st, chunk = std::string(buf.data(), static_cast<std::size_t>(n))] {
        if (st->stopped) return;
        st->framer.feed(chunk, [&](const FramedLine& l) { st->dec->framed(l); });
      });
    }
    ::close(fd);
    boost::asio::post(exec, [st, log, name] {
      if (st->stopped) return;
      st->framer.finish([&](const FramedLine& l) { st->dec->framed(l); });
      st->dec->finish();
      st->eof = true;
      log("info", fmt::format("source {}: end of stdin after {} lines", name, st->framer.lines()));
    });
  }).detach();
}

}  // namespace sevwatch::detectors::sources
