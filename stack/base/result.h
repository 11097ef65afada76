// An expected-like result for C++20 (std::expected arrives in C++23).
//
// Errors are values: a function that can fail returns Result<T, E> and the
// caller must look at it ([[nodiscard]]). No exceptions on the data path.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace l45 {

template <class E>
struct Unexpected {
    E error;
};

template <class E>
[[nodiscard]] constexpr Unexpected<std::decay_t<E>> unexpected(E&& e) {
    return {std::forward<E>(e)};
}

template <class T, class E>
class [[nodiscard]] Result {
  public:
    constexpr Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    template <class G>
    constexpr Result(Unexpected<G> e) : v_(std::in_place_index<1>, E(std::move(e.error))) {}

    [[nodiscard]] constexpr bool has_value() const { return v_.index() == 0; }
    constexpr explicit operator bool() const { return has_value(); }

    constexpr T& value() & {
        assert(has_value());
        return *std::get_if<0>(&v_);
    }
    constexpr const T& value() const& {
        assert(has_value());
        return *std::get_if<0>(&v_);
    }
    constexpr T&& value() && {
        assert(has_value());
        return std::move(*std::get_if<0>(&v_));
    }
    constexpr T& operator*() & { return value(); }
    constexpr const T& operator*() const& { return value(); }
    constexpr T* operator->() { return &value(); }
    constexpr const T* operator->() const { return &value(); }

    constexpr const E& error() const {
        assert(!has_value());
        return *std::get_if<1>(&v_);
    }

  private:
    std::variant<T, E> v_;
};

template <class E>
class [[nodiscard]] Result<void, E> {
  public:
    constexpr Result() = default;
    template <class G>
    constexpr Result(Unexpected<G> e) : ok_(false), error_(E(std::move(e.error))) {}

    [[nodiscard]] constexpr bool has_value() const { return ok_; }
    constexpr explicit operator bool() const { return ok_; }
    constexpr const E& error() const {
        assert(!ok_);
        return error_;
    }

  private:
    bool ok_ = true;
    E error_{};
};

}  // namespace l45
