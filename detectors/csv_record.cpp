#include "detectors/csv_record.h"

namespace sevwatch::detectors {

bool split_csv_record(std::string_view rec, std::vector<std::string>& fields, std::size_t& count) {
  count = 0;
  std::size_t i = 0;
  const std::size_t n = rec.size();
  for (;;) {
    if (count == fields.size()) fields.emplace_back();
    std::string& f = fields[count++];
    f.clear();
    if (i < n && rec[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        const char c = rec[i++];
        if (c == '"') {
          if (i < n && rec[i] == '"') {
            f.push_back('"');
            ++i;
            continue;
          }
          closed = true;
          break;
        }
        f.push_back(c);
      }
      if (!closed) return false;
      // Text between a closing quote and the next comma is kept (lenient).
      while (i < n && rec[i] != ',') f.push_back(rec[i++]);
    } else {
      const std::size_t comma = rec.find(',', i);
      const std::size_t end = comma == std::string_view::npos ? n : comma;
      f.assign(rec.substr(i, end - i));
      i = end;
    }
    if (i >= n) return true;
    ++i;  // the comma
  }
}

}  // namespace sevwatch::detectors
