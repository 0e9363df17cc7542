// Files and globs followed as they grow, and stdin.
//
// Every `poll_interval_ms` the globs are expanded and every followed file is
// read to its end. Rotation by rename (the path now names another inode): the
// old file is read to its end (a last unterminated line included), then the
// new file at the path is followed from 0. Copytruncate (the file shrank, or
// its first bytes changed): reading restarts at 0; lines written between the
// copy and the truncation are lost, as logrotate documents. A file whose
// content starts with the gzip magic is read whole, once.
//
// Format `auto` sniffs each file from its first non-empty lines (as `scan`
// does), again for the new file after a rotation or a truncation; stdin is
// sniffed record by record (Sniffing::record).
//
// Checkpoints: per path, the offset just past the last line handed to the
// decoder, or the start of the oldest record the decoder still holds (a
// multi-line record, a pretty-printed document, lines held to sniff the
// format) when there is one, with the inode and a fingerprint (hash of the
// first up to 1 KiB).
// At start a file resumes from its checkpoint when the identity matches (the
// same path, or, after a rotation while sevwatch was down, another matched
// path holding the checkpointed file); otherwise it is read from 0
// (`start_at: end` starts new files at their end instead).
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "detectors/sources/line_framer.h"
#include "detectors/sources/source.h"
#include "detectors/sources/stream_decoder.h"

namespace sevwatch::detectors::sources {

struct FileSourceOptions {
  std::string name;
  std::string format;
  std::vector<std::string> paths;  // files, globs, or "-" for stdin
  std::uint64_t poll_interval_ms = 250;
  bool start_at_end = false;  // for files with no checkpoint
  std::uint64_t max_read_per_poll = 8 << 20;

  static FileSourceOptions from(const SourceSpec& spec);
};

class FileSource final : public Source {
 public:
  FileSource(FileSourceOptions options, SourceContext& context);
  ~FileSource() override;

  const std::string& name() const override { return options_.name; }
  void start() override;
  void stop() override;
  void collect_checkpoints(std::vector<Checkpoint>& out) override;
  bool finished() const override;

  // One poll round (tests drive it directly).
  void poll();

 private:
  struct Tracked;
  struct Stdin;
  void schedule(std::uint64_t delay_ms);
  void open_new(const std::string& path, bool use_checkpoint);
  // Reads what is new; returns true when more is waiting than one poll reads.
  bool read_available(Tracked& t);
  void check_identity(Tracked& t);
  void read_gzip(Tracked& t);
  void start_stdin();

  FileSourceOptions options_;
  SourceContext& context_;
  boost::asio::steady_timer timer_;
  bool stopped_ = true;
  std::vector<Checkpoint> saved_;  // loaded at start
  std::map<std::string, std::unique_ptr<Tracked>> files_;
  std::shared_ptr<Stdin> stdin_;
  std::vector<char> buf_;
};

}  // namespace sevwatch::detectors::sources
