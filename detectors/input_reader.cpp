#include "detectors/input_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "detectors/mapped_file.h"
#include "detectors/raw_record.h"

namespace sevwatch::detectors {
namespace {

constexpr std::size_t kChunkBytes = 1 << 20;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzPtr = std::unique_ptr<gzFile_s, GzCloser>;

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r") == std::string_view::npos;
}

std::string known_names(const DecoderRegistry& registry) {
  std::string out;
  for (const auto& n : registry.names()) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// Splits a stream into lines: a plain regular file through mapped windows
// (`MappedFile`), anything else (gzip, stdin, pipes) through zlib, which
// detects the magic bytes and reads plain input through. A line is handed out as a view into
// the chunk buffer when it fits in one chunk, else assembled in `carry_`; a
// line over the cap is measured and skipped, never buffered whole. A line
// past `max_line` asks `cap_for` (with its first bytes) whether it may grow
// further (DecoderInfo::line_cap).
class LineReader {
 public:
  enum class Status { line, too_long, end, error };
  using CapFn = std::function<std::size_t(std::string_view head)>;

  LineReader(gzFile gz, MappedFile* mapped, std::size_t max_line, CapFn cap_for)
      : gz_(gz),
        mapped_(mapped),
        buf_(mapped != nullptr ? 0 : kChunkBytes),
        max_(max_line),
        cap_for_(std::move(cap_for)) {}

  // On `line`: `out` is valid until the next call. On `too_long`: `length`
  // says how long the skipped line was.
  Status next(std::string_view& out, std::uint64_t& line_no, std::uint64_t& offset,
              std::uint64_t& length) {
    if (carry_.capacity() > max_ + kChunkBytes) {
      std::string().swap(carry_);  // a long line's buffer is given back
    } else {
      carry_.clear();
    }
    bool too_long = false;
    std::uint64_t len = 0;
    offset = offset_;
    limit_ = max_;
    cap_asked_ = false;
    for (;;) {
      if (begin_ == end_) {
        if (eof_) {
          if (len == 0 && !too_long) return Status::end;
          return deliver(out, line_no, length, len, too_long, /*newline=*/false, {});
        }
        if (mapped_ != nullptr) {
          if (!fetch_mapped()) return Status::error;
          continue;
        }
        chunk_ = buf_.data();
        chunk_capacity_ = buf_.size();
        const int n = gzread(gz_, buf_.data(), static_cast<unsigned>(buf_.size()));
        if (n < 0) {
          int code = 0;
          const char* msg = gzerror(gz_, &code);
          error_ = code == Z_ERRNO ? std::strerror(errno) : msg;
          return Status::error;
        }
        if (n == 0) {
          eof_ = true;
          int code = 0;
          gzerror(gz_, &code);
          truncated_ = code == Z_BUF_ERROR;
        }
        begin_ = 0;
        end_ = static_cast<std::size_t>(n);
        continue;
      }
      const char* start = chunk_ + begin_;
      const auto avail = end_ - begin_;
      const auto* nl = static_cast<const char*>(std::memchr(start, '\n', avail));
      const std::size_t seg = nl == nullptr ? avail : static_cast<std::size_t>(nl - start);
      len += seg;
      std::string_view piece(start, seg);
      if (!too_long && len > limit_ + 1) {  // +1: a trailing '\r' does not count
        if (!cap_asked_) {
          std::string head = carry_.substr(0, kLineHeadBytes);
          head.append(piece.substr(0, kLineHeadBytes - head.size()));
          ask_cap(head);
        }
        if (len > limit_ + 1) {
          too_long = true;
          carry_.clear();
        }
      }
      begin_ += seg;
      if (nl == nullptr) {
        if (!too_long) carry_.append(piece);
        continue;
      }
      ++begin_;  // the newline
      return deliver(out, line_no, length, len, too_long, /*newline=*/true, piece);
    }
  }

  // How many readable bytes follow `line` (the last one handed out) in the
  // buffer it lies in: 0 for a line assembled in carry_.
  std::size_t readable_after(std::string_view line) const {
    if (line.data() < chunk_ || line.data() >= chunk_ + chunk_capacity_) return 0;
    return static_cast<std::size_t>(chunk_ + chunk_capacity_ - (line.data() + line.size()));
  }

  std::uint64_t lines() const { return lines_; }
  std::uint64_t bytes() const { return offset_; }
  // The cap the last line was held to.
  std::size_t limit() const { return limit_; }
  bool truncated() const { return truncated_; }
  const std::string& error() const { return error_; }

 private:
  Status deliver(std::string_view& out, std::uint64_t& line_no, std::uint64_t& length,
                 std::uint64_t len, bool too_long, bool newline, std::string_view last_piece) {
    line_no = ++lines_;
    offset_ += len + (newline ? 1 : 0);
    length = len;
    if (too_long) return Status::too_long;
    if (carry_.empty()) {
      out = last_piece;
    } else {
      carry_.append(last_piece);
      out = carry_;
    }
    if (!out.empty() && out.back() == '\r') out.remove_suffix(1);
    if (out.size() > limit_) ask_cap(out);
    if (out.size() > limit_) {
      length = out.size();
      return Status::too_long;
    }
    return Status::line;
  }

  // The next mapped window, or the end of the file.
  bool fetch_mapped() {
    std::size_t n = 0;
    if (mapped_->next(chunk_, n)) {
      chunk_capacity_ = n;
      begin_ = 0;
      end_ = n;
      return true;
    }
    if (mapped_->error() != nullptr) {
      error_ = mapped_->error();
      return false;
    }
    if (mapped_->shrank()) {
      error_ = "the file shrank while it was read (truncated by another process?)";
      return false;
    }
    eof_ = true;
    begin_ = end_ = 0;
    return true;
  }

  void ask_cap(std::string_view head) {
    if (cap_asked_ || !cap_for_) return;
    cap_asked_ = true;
    limit_ = std::max(max_, cap_for_(head.substr(0, kLineHeadBytes)));
  }

  gzFile gz_;
  MappedFile* mapped_;
  std::vector<char> buf_;
  const char* chunk_ = nullptr;
  std::size_t chunk_capacity_ = 0;  // readable bytes from chunk_
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  bool truncated_ = false;
  std::string carry_;
  std::size_t max_;
  CapFn cap_for_;
  std::size_t limit_ = 0;  // the current line's cap
  bool cap_asked_ = false;
  std::uint64_t lines_ = 0;
  std::uint64_t offset_ = 0;
  std::string error_;
};

struct HeldLine {
  std::string text;
  SourcePos pos;
  bool too_long = false;
  std::uint64_t length = 0;
  std::size_t limit = 0;
};

void report_too_long(EventSink& sink, const SourcePos& pos, std::uint64_t length, std::size_t max) {
  sink.on_weird(
      Weird{weird::kLineTooLong, pos,
            "line of " + std::to_string(length) + " bytes (limit " + std::to_string(max) + ")"});
}

}  // namespace

InputResult read_input(const std::string& path, std::string_view format,
                       const DecoderRegistry& registry, const DecoderOptions& options,
                       EventSink& sink) {
  InputResult result;
  const DecoderInfo* info = nullptr;
  if (format != "auto") {
    info = registry.find(format);
    if (info == nullptr) {
      result.error = path + ": unknown format '" + std::string(format) +
                     "' (known: " + known_names(registry) + ")";
      return result;
    }
  }

  int fd = -1;
  if (path == "-") {
    fd = ::dup(STDIN_FILENO);
  } else {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) {
    result.error = path + ": " + std::strerror(errno);
    return result;
  }
  // A plain regular file is mapped; gzip (by its magic bytes), stdin and
  // pipes go through zlib.
  std::unique_ptr<MappedFile> mapped;
  struct stat st {};
  if (path != "-" && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    unsigned char magic[2] = {0, 0};
    if (::pread(fd, magic, 2, 0) != 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
      mapped = std::make_unique<MappedFile>(fd, static_cast<std::uint64_t>(st.st_size));
      if (!mapped->ok()) mapped.reset();  // every handler slot taken: read() instead
    }
  }
  GzPtr gz(gzdopen(fd, "rb"));  // owns fd (closes it) in both cases
  if (!gz) {
    ::close(fd);
    result.error = path + ": cannot open for reading";
    return result;
  }
  gzbuffer(gz.get(), 1 << 17);
  // Until the format is known, a line may be as long as any format allows.
  LineReader reader(gz.get(), mapped.get(), options.max_line_bytes, [&](std::string_view head) {
    return info != nullptr ? info->max_line_for(head, options)
                           : registry.max_line_for(head, options);
  });

  SourcePos pos;
  pos.file = path;
  std::string_view line;
  std::uint64_t length = 0;
  auto fail_read = [&]() {
    result.ok = false;
    result.error = path + ": read error: " + reader.error();
    result.lines = reader.lines();
    result.bytes = reader.bytes();
    return result;
  };

  std::vector<HeldLine> held;
  if (info == nullptr) {
    // Sniff the first non-empty lines, keeping every line read for replay.
    std::size_t non_empty = 0;
    while (non_empty < kSniffLines) {
      const auto st = reader.next(line, pos.line, pos.offset, length);
      if (st == LineReader::Status::end) break;
      if (st == LineReader::Status::error) return fail_read();
      HeldLine h{std::string(st == LineReader::Status::line ? line : std::string_view()), pos,
                 st == LineReader::Status::too_long, length, reader.limit()};
      if (!h.too_long && !blank(h.text)) ++non_empty;
      held.push_back(std::move(h));
    }
    std::vector<std::string_view> sample;
    for (const auto& h : held) {
      if (!h.too_long && !blank(h.text)) sample.push_back(h.text);
    }
    if (sample.empty()) {  // nothing to decode: not an error
      for (const auto& h : held) {
        if (h.too_long) report_too_long(sink, h.pos, h.length, h.limit);
      }
      result.ok = true;
      result.lines = reader.lines();
      result.bytes = reader.bytes();
      return result;
    }
    info = registry.detect(sample);
    if (info == nullptr) {
      result.error = path + ": cannot detect the log format (use --format NAME; known: " +
                     known_names(registry) + ")";
      return result;
    }
  }

  std::unique_ptr<Decoder> decoder = info->make(options);
  // With keep_raw, events get the line they were decoded from (raw_record.h).
  RawLineSink raw_sink(sink);
  EventSink& out = options.keep_raw ? static_cast<EventSink&>(raw_sink) : sink;
  for (const auto& h : held) {
    if (h.too_long) {
      report_too_long(sink, h.pos, h.length, h.limit);
    } else {
      if (options.keep_raw) raw_sink.set_line(h.text);
      decoder->decode_line(h.text, h.pos, out);
    }
  }
  held.clear();
  for (;;) {
    const auto st = reader.next(line, pos.line, pos.offset, length);
    if (st == LineReader::Status::end || ((pos.line & 1023) == 0 && sink.done())) break;
    if (st == LineReader::Status::error) {
      raw_sink.set_line({});
      decoder->finish(out);
      return fail_read();
    }
    if (st == LineReader::Status::too_long) {
      report_too_long(sink, pos, length, reader.limit());
      continue;
    }
    if (options.keep_raw) raw_sink.set_line(line);
    if (reader.readable_after(line) >= kLinePadding) {
      decoder->decode_padded_line(line, pos, out);
    } else {
      decoder->decode_line(line, pos, out);
    }
  }
  raw_sink.set_line({});
  decoder->finish(out);
  if (reader.truncated()) {
    SourcePos end_pos = pos;
    end_pos.line = reader.lines();
    end_pos.offset = reader.bytes();
    sink.on_weird(Weird{weird::kTruncatedInput, end_pos, "compressed stream ends early"});
  }
  result.ok = true;
  result.format = info->name;
  result.lines = reader.lines();
  result.bytes = reader.bytes();
  return result;
}

}  // namespace sevwatch::detectors
