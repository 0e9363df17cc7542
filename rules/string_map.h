// Hash containers for the hot path: open-addressing (Boost.Unordered's flat
// containers, SIMD-probed, no node per entry) with transparent lookup, so a
// string_view finds a std::string key without building one.
//
// Flat containers move their elements on rehash: never keep a pointer or
// reference to an element across an insertion.
#pragma once

#include <boost/container_hash/hash.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <string>
#include <string_view>

namespace sevwatch::rules {

struct TransparentStringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return boost::hash<std::string_view>{}(s);
  }
};

struct TransparentStringEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

template <typename V>
using FlatStringMap =
    boost::unordered_flat_map<std::string, V, TransparentStringHash, TransparentStringEq>;
using FlatStringSet =
    boost::unordered_flat_set<std::string, TransparentStringHash, TransparentStringEq>;
template <typename K, typename V>
using FlatMap = boost::unordered_flat_map<K, V>;
template <typename K>
using FlatSet = boost::unordered_flat_set<K>;

}  // namespace sevwatch::rules
