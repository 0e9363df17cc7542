// Internal to the Sigma import (sigma_*.cpp): positions of YAML nodes, and of
// characters inside scalars, in the file being read.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

#include "rules/diagnostic.h"

namespace sevwatch::rules::sigma {

// The file being read: its name for diagnostics and its text, to tell where
// a scalar's characters start (a quoted scalar starts one column later).
struct Source {
  std::string file;
  std::string_view text;

  // The node's own position (1-based).
  SourceLoc at(const YAML::Node& n) const {
    if (!n.IsDefined()) return SourceLoc{file, 0, 0};
    const auto m = n.Mark();
    if (m.line < 0) return SourceLoc{file, 0, 0};
    return SourceLoc{file, m.line + 1, m.column + 1};
  }

  // Where character `offset` of a single-line scalar's text is: exact for
  // plain and quoted scalars (escapes aside); the node itself for block
  // scalars and multi-line ones.
  SourceLoc inside(const YAML::Node& n, std::size_t offset) const {
    SourceLoc loc = at(n);
    if (loc.line == 0 || !n.IsScalar()) return loc;
    const auto pos = static_cast<std::size_t>(n.Mark().pos);
    if (pos >= text.size()) return loc;
    const char first = text[pos];
    if (first == '|' || first == '>') return loc;
    if (n.Scalar().find('\n') != std::string::npos) return loc;
    const int quote = (first == '\'' || first == '"') ? 1 : 0;
    loc.col += quote + static_cast<int>(offset);
    return loc;
  }
};

// True when `n` is a scalar that YAML reads as null (`~`, `null`, empty).
inline bool is_null(const YAML::Node& n) {
  return !n.IsDefined() || n.IsNull();
}

}  // namespace sevwatch::rules::sigma
