#include "app/cli_args.h"

#include <charconv>

namespace sevwatch::app {

ArgParser::ArgParser(std::string command, const std::vector<std::string>& args, std::ostream& err)
    : command_(std::move(command)), args_(args), err_(err) {}

void ArgParser::fail(const std::string& message) {
  if (!failed_) err_ << "sevwatch " << command_ << ": " << message << "\n";
  failed_ = true;
}

bool ArgParser::flag(const std::string& name) {
  if (failed_ || i_ >= args_.size()) return false;
  const std::string& a = args_[i_];
  if (a == name) {
    current_flag_ = name;
    inline_value_.reset();
    ++i_;
    return true;
  }
  if (a.size() > name.size() && a.compare(0, name.size(), name) == 0 && a[name.size()] == '=') {
    current_flag_ = name;
    inline_value_ = a.substr(name.size() + 1);
    ++i_;
    return true;
  }
  return false;
}

std::string ArgParser::value() {
  if (inline_value_) {
    std::string v = *inline_value_;
    inline_value_.reset();
    return v;
  }
  if (i_ >= args_.size()) {
    fail(current_flag_ + " needs a value");
    return {};
  }
  return args_[i_++];
}

int ArgParser::int_value(int min, int max) {
  const std::string v = value();
  if (failed_) return min;
  int n = 0;
  const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < min || n > max) {
    fail(current_flag_ + " needs a whole number from " + std::to_string(min) + " to " +
         std::to_string(max) + ", not '" + v + "'");
    return min;
  }
  return n;
}

std::string ArgParser::positional() {
  const std::string& a = args_[i_];
  if (a.size() > 1 && a[0] == '-') {
    fail("unknown option '" + a + "'");
    ++i_;
    return {};
  }
  ++i_;
  return a;
}

bool parse_incident_id(const std::string& text, std::int64_t& id) {
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  id = std::stoll(text);
  return id > 0;
}

}  // namespace sevwatch::app
