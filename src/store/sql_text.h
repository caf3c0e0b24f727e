#pragma once
// SQL put together at compile time from pieces, so that a predicate several statements share
// (an outbox row is pending, dead, published) is written once per engine while each statement
// stays one constant string: `constexpr SqlText kDead = "SELECT ... WHERE " + kDeadRow + "..."`.
#include <cstddef>

namespace tbpay {

template <std::size_t N>  // N counts the terminating NUL, as for a string literal
struct SqlText {
  char chars[N] = {};

  constexpr SqlText() = default;
  constexpr SqlText(const char (&text)[N]) {  // NOLINT: implicit, like a literal
    for (std::size_t i = 0; i < N; ++i) chars[i] = text[i];
  }
  constexpr const char* c_str() const { return chars; }
};

template <std::size_t A, std::size_t B>
constexpr SqlText<A + B - 1> operator+(const SqlText<A>& a, const SqlText<B>& b) {
  SqlText<A + B - 1> out;
  for (std::size_t i = 0; i + 1 < A; ++i) out.chars[i] = a.chars[i];
  for (std::size_t i = 0; i < B; ++i) out.chars[A - 1 + i] = b.chars[i];
  return out;
}

template <std::size_t A, std::size_t B>
constexpr SqlText<A + B - 1> operator+(const SqlText<A>& a, const char (&b)[B]) {
  return a + SqlText<B>(b);
}

template <std::size_t A, std::size_t B>
constexpr SqlText<A + B - 1> operator+(const char (&a)[A], const SqlText<B>& b) {
  return SqlText<A>(a) + b;
}

}  // namespace tbpay
