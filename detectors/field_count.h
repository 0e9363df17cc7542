// The number of members of an aggregate, counted as the most initializers
// `T{...}` accepts (as Boost.PFR does). Functions that name every member of
// AccessEvent (reset_event, swap) static_assert the counts, so a member added
// later is a compile error there until it is handled.
#pragma once

#include <cstddef>
#include <utility>

namespace sevwatch::detectors::detail {

struct AnyField {
  template <typename T>
  operator T() const;  // declared only: unevaluated contexts
};
template <typename T, typename... A>
constexpr auto brace_initializable(int) -> decltype(T{std::declval<A>()...}, true) {
  return true;
}
template <typename T, typename... A>
constexpr bool brace_initializable(...) {
  return false;
}
template <typename T, std::size_t... I>
constexpr bool initializable_with(std::index_sequence<I...>) {
  return brace_initializable<T, decltype((void)I, AnyField{})...>(0);
}
template <typename T, std::size_t N = 0>
constexpr std::size_t field_count() {
  if constexpr (initializable_with<T>(std::make_index_sequence<N + 1>{})) {
    return field_count<T, N + 1>();
  } else {
    return N;
  }
}

}  // namespace sevwatch::detectors::detail
