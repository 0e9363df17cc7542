#include "detectors/pgaudit_decoder.h"

#include <cstddef>
#include <string>
#include <utility>

#include "detectors/csv_record.h"
#include "detectors/pgaudit_record.h"

namespace sevwatch::detectors {
namespace {

constexpr std::string_view kAuditTag = "AUDIT: ";

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r") == std::string_view::npos;
}

// ---- stderr ---------------------------------------------------------------

// "<%m> <%u> <%d> [<%p>]: <SEVERITY>:  <message>"
struct StderrPrefix {
  std::int64_t time_ms = 0;
  bool zone_assumed = false;
  std::string_view user, database, pid, severity, message;
};

bool parse_stderr_prefix(std::string_view line, StderrPrefix& p) {
  const std::size_t n = parse_pg_timestamp(line, p.time_ms, p.zone_assumed);
  if (n == 0 || n >= line.size() || line[n] != ' ') return false;
  std::string_view rest = line.substr(n + 1);
  auto word = [&rest](std::string_view& out) {
    const auto sp = rest.find(' ');
    if (sp == std::string_view::npos) return false;
    out = rest.substr(0, sp);
    rest.remove_prefix(sp + 1);
    return true;
  };
  if (!word(p.user) || !word(p.database)) return false;
  if (rest.empty() || rest[0] != '[') return false;
  const auto close = rest.find("]: ");
  if (close == std::string_view::npos || close < 2) return false;
  p.pid = rest.substr(1, close - 1);
  if (p.pid.find_first_not_of("0123456789") != std::string_view::npos) return false;
  rest.remove_prefix(close + 3);
  std::size_t s = 0;
  while (s < rest.size() &&
         ((rest[s] >= 'A' && rest[s] <= 'Z') || (rest[s] >= '0' && rest[s] <= '9'))) {
    ++s;
  }
  if (s == 0 || s >= rest.size() || rest[s] != ':') return false;
  p.severity = rest.substr(0, s);
  rest.remove_prefix(s + 1);
  while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
  p.message = rest;
  return true;
}

class PgStderrDecoder final : public Decoder {
 public:
  explicit PgStderrDecoder(const DecoderOptions& o) : opts_(o) {}
  std::string_view name() const override { return kPgauditFormat; }

  void decode_line(std::string_view line, const SourcePos& pos, EventSink& sink) override {
    if (!line.empty() && line[0] == '\t') {  // continuation of the pending message
      if (dropping_) return;
      if (!has_pending_) {
        sink.on_weird(Weird{weird::kUnknownShape, pos, "continuation line without a record"});
        return;
      }
      if (pending_.size() + line.size() > opts_.max_line_bytes) {
        sink.on_weird(Weird{
            weird::kLineTooLong, pending_pos_,
            "multi-line record longer than " + std::to_string(opts_.max_line_bytes) + " bytes"});
        has_pending_ = false;
        dropping_ = true;
        return;
      }
      pending_.push_back('\n');
      pending_.append(line.substr(1));
      return;
    }
    dropping_ = false;
    flush_pending(sink);
    if (blank(line)) return;
    if (line.size() > opts_.max_line_bytes) {
      sink.on_weird(
          Weird{weird::kLineTooLong, pos, "record of " + std::to_string(line.size()) + " bytes"});
      dropping_ = true;
      return;
    }
    pending_.assign(line);
    pending_pos_ = pos;
    has_pending_ = true;
  }

  void finish(EventSink& sink) override {
    flush_pending(sink);
    flush_denial(sink);
  }

  // A denial waits for its STATEMENT line, which comes after it.
  const SourcePos* pending_from() const override {
    if (denial_.active) return &denial_.pos;
    return has_pending_ ? &pending_pos_ : nullptr;
  }

 private:
  void flush_pending(EventSink& sink) {
    if (!has_pending_) return;
    has_pending_ = false;
    process(pending_, pending_pos_, sink);
  }

  void process(std::string_view rec, const SourcePos& pos, EventSink& sink) {
    StderrPrefix p;
    if (!parse_stderr_prefix(rec, p)) {
      flush_denial(sink);
      sink.on_weird(Weird{weird::kUnknownShape, pos,
                          "line does not start with log_line_prefix '%m %u %d [%p]: '"});
      return;
    }
    if (denial_.active && p.pid == denial_.pid) {
      if (p.severity == "STATEMENT") {
        emit_denial(p.message, sink);
        return;
      }
      if (p.severity == "DETAIL" || p.severity == "HINT" || p.severity == "CONTEXT") return;
    }
    flush_denial(sink);
    if (p.severity == "LOG" && p.message.starts_with(kAuditTag)) {
      PgRecordContext ctx = context(p, pos);
      interp_.emit_audit(ctx, p.message.substr(kAuditTag.size()), sink);
      return;
    }
    if (p.severity == "ERROR" &&
        PgAuditInterpreter::parse_permission_denied(p.message, denial_.kind, denial_.name)) {
      denial_.active = true;
      denial_.pos = pos;
      denial_.time_ms = p.time_ms;
      denial_.zone_assumed = p.zone_assumed;
      denial_.user.assign(p.user);
      denial_.database.assign(p.database);
      denial_.pid.assign(p.pid);
    }
    // Any other server message is not an access record: skipped, not weird.
  }

  PgRecordContext context(const StderrPrefix& p, const SourcePos& pos) const {
    PgRecordContext ctx;
    ctx.format = kPgauditFormat;
    ctx.pos = pos;
    ctx.time_ms = p.time_ms;
    ctx.time_zone_assumed = p.zone_assumed;
    ctx.user = p.user;
    ctx.database = p.database;
    ctx.session = p.pid;
    ctx.pid = p.pid;
    return ctx;
  }

  void flush_denial(EventSink& sink) {
    if (denial_.active) emit_denial({}, sink);
  }

  void emit_denial(std::string_view statement, EventSink& sink) {
    PgRecordContext ctx;
    ctx.format = kPgauditFormat;
    ctx.pos = denial_.pos;
    ctx.time_ms = denial_.time_ms;
    ctx.time_zone_assumed = denial_.zone_assumed;
    ctx.user = denial_.user;
    ctx.database = denial_.database;
    ctx.session = denial_.pid;
    ctx.pid = denial_.pid;
    denial_.active = false;
    interp_.emit_denial(ctx, denial_.kind, denial_.name, statement, {}, sink);
  }

  // A permission-denied ERROR waiting for its STATEMENT line.
  struct PendingDenial {
    bool active = false;
    SourcePos pos;
    std::int64_t time_ms = 0;
    bool zone_assumed = false;
    std::string user, database, pid, kind, name;
  };

  DecoderOptions opts_;
  PgAuditInterpreter interp_;
  std::string pending_;
  SourcePos pending_pos_;
  bool has_pending_ = false;
  bool dropping_ = false;
  PendingDenial denial_;
};

// ---- csvlog ---------------------------------------------------------------

enum CsvColumn : std::size_t {
  kLogTime = 0,
  kUserName = 1,
  kDatabaseName = 2,
  kProcessId = 3,
  kConnectionFrom = 4,
  kSessionId = 5,
  kSessionLineNum = 6,
  kCommandTag = 7,
  kErrorSeverity = 11,
  kSqlState = 12,
  kMessage = 13,
  kQuery = 19,
  kMinColumns = 20,  // through `query`; PostgreSQL 9-12 write 23, 13 writes 24, 14+ 26
};

// "10.20.30.40:52814" -> "10.20.30.40"; "::1:5432" -> "::1"; "[local]" -> "".
std::string_view host_of(std::string_view from) {
  if (from.empty() || from[0] == '[') return {};
  const auto colon = from.rfind(':');
  if (colon != std::string_view::npos && colon + 1 < from.size() &&
      from.find_first_not_of("0123456789", colon + 1) == std::string_view::npos) {
    return from.substr(0, colon);
  }
  return from;
}

class PgCsvDecoder final : public Decoder {
 public:
  explicit PgCsvDecoder(const DecoderOptions& o) : opts_(o) {}
  std::string_view name() const override { return kPgauditCsvFormat; }

  void decode_line(std::string_view line, const SourcePos& pos, EventSink& sink) override {
    const bool odd = odd_quote_count(line);
    if (dropping_) {  // skipping the rest of an oversized record
      if (odd) in_quotes_ = !in_quotes_;
      if (!in_quotes_) dropping_ = false;
      return;
    }
    if (!has_pending_) {
      if (blank(line)) return;
      pending_.assign(line);
      pending_pos_ = pos;
      has_pending_ = true;
      in_quotes_ = odd;
    } else {
      pending_.push_back('\n');
      pending_.append(line);
      if (odd) in_quotes_ = !in_quotes_;
    }
    if (pending_.size() > opts_.max_line_bytes) {
      sink.on_weird(
          Weird{weird::kLineTooLong, pending_pos_,
                "csv record longer than " + std::to_string(opts_.max_line_bytes) + " bytes"});
      has_pending_ = false;
      dropping_ = in_quotes_;
      return;
    }
    if (!in_quotes_) {
      has_pending_ = false;
      process(pending_, pending_pos_, sink);
    }
  }

  void finish(EventSink& sink) override {
    if (has_pending_) {
      has_pending_ = false;
      sink.on_weird(Weird{weird::kUnknownShape, pending_pos_,
                          "csv record ends inside a quoted field at end of input"});
    }
  }

  const SourcePos* pending_from() const override { return has_pending_ ? &pending_pos_ : nullptr; }

 private:
  void process(std::string_view rec, const SourcePos& pos, EventSink& sink) {
    std::size_t n = 0;
    if (!split_csv_record(rec, cols_, n) || n < kMinColumns) {
      sink.on_weird(Weird{weird::kUnknownShape, pos,
                          "expected a PostgreSQL csvlog record (23-26 columns), got " +
                              std::to_string(n) + " columns"});
      return;
    }
    const std::string& message = cols_[kMessage];
    const bool audit = message.starts_with(kAuditTag);
    const bool denied = !audit && cols_[kErrorSeverity] == "ERROR" && cols_[kSqlState] == "42501";
    if (!audit && !denied) return;  // other server messages: not access records

    PgRecordContext ctx;
    ctx.format = kPgauditCsvFormat;
    ctx.pos = pos;
    const std::string& log_time = cols_[kLogTime];
    if (parse_pg_timestamp(log_time, ctx.time_ms, ctx.time_zone_assumed) != log_time.size()) {
      sink.on_weird(
          Weird{weird::kBadTimestamp, pos, "log_time '" + log_time + "' is not a timestamp"});
      return;
    }
    ctx.user = cols_[kUserName];
    ctx.database = cols_[kDatabaseName];
    ctx.client_ip = host_of(cols_[kConnectionFrom]);
    ctx.session = cols_[kSessionId];
    ctx.pid = cols_[kProcessId];
    uid_.assign(cols_[kSessionId]).append(":").append(cols_[kSessionLineNum]);
    ctx.event_uid = uid_;
    if (audit) {
      interp_.emit_audit(ctx, std::string_view(message).substr(kAuditTag.size()), sink);
      return;
    }
    std::string kind, name;
    if (PgAuditInterpreter::parse_permission_denied(message, kind, name)) {
      interp_.emit_denial(ctx, kind, name, cols_[kQuery], cols_[kCommandTag], sink);
    }
  }

  DecoderOptions opts_;
  PgAuditInterpreter interp_;
  std::vector<std::string> cols_;
  std::string uid_;
  std::string pending_;
  SourcePos pending_pos_;
  bool has_pending_ = false;
  bool in_quotes_ = false;
  bool dropping_ = false;
};

// ---- sniffing -------------------------------------------------------------

template <typename Pred>
int sniff_score(const std::vector<std::string_view>& lines, Pred looks_like) {
  std::size_t total = 0;
  std::size_t hits = 0;
  for (std::string_view l : lines) {
    if (blank(l) || l[0] == '\t') continue;
    ++total;
    if (looks_like(l)) ++hits;
  }
  if (hits == 0) return 0;
  return static_cast<int>(40 + 60 * hits / total);
}

}  // namespace

std::unique_ptr<Decoder> make_pgaudit_stderr_decoder(const DecoderOptions& options) {
  return std::make_unique<PgStderrDecoder>(options);
}

std::unique_ptr<Decoder> make_pgaudit_csv_decoder(const DecoderOptions& options) {
  return std::make_unique<PgCsvDecoder>(options);
}

int sniff_pgaudit_stderr(const std::vector<std::string_view>& first_lines) {
  return sniff_score(first_lines, [](std::string_view l) {
    StderrPrefix p;
    return parse_stderr_prefix(l, p);
  });
}

int sniff_pgaudit_csv(const std::vector<std::string_view>& first_lines) {
  return sniff_score(first_lines, [](std::string_view l) {
    std::int64_t ms = 0;
    bool assumed = false;
    const std::size_t n = parse_pg_timestamp(l, ms, assumed);
    return n != 0 && n < l.size() && l[n] == ',';
  });
}

DecoderInfo pgaudit_stderr_decoder_info() {
  return DecoderInfo{std::string(kPgauditFormat),
                     "PostgreSQL pgAudit, stderr log with log_line_prefix '%m %u %d [%p]: '",
                     sniff_pgaudit_stderr, make_pgaudit_stderr_decoder};
}

DecoderInfo pgaudit_csv_decoder_info() {
  return DecoderInfo{std::string(kPgauditCsvFormat), "PostgreSQL pgAudit, csvlog",
                     sniff_pgaudit_csv, make_pgaudit_csv_decoder};
}

}  // namespace sevwatch::detectors
