// Bounds-checked big-endian reading and writing over std::span.
//
// Every parser in l45 (Ethernet to TLS) reads through Reader and every
// serialiser writes through Writer; nothing indexes a packet with raw
// offsets. The model is BoringSSL's CBS/CBB: each getter either succeeds and
// advances, or fails and leaves the reader unchanged, and length-prefixed
// sub-readers make "trailing bytes" checks explicit (`sub.empty()`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace l45 {

using ByteSpan = std::span<const std::uint8_t>;
using MutableByteSpan = std::span<std::uint8_t>;

// --- unchecked big-endian loads/stores: callers have validated the length ---
[[nodiscard]] constexpr std::uint16_t load_be16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
[[nodiscard]] constexpr std::uint32_t load_be24(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
}
[[nodiscard]] constexpr std::uint32_t load_be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           p[3];
}
[[nodiscard]] constexpr std::uint64_t load_be64(const std::uint8_t* p) {
    return (std::uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}
constexpr void store_be16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
constexpr void store_be24(std::uint8_t* p, std::uint32_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 16);
    p[1] = static_cast<std::uint8_t>(v >> 8);
    p[2] = static_cast<std::uint8_t>(v);
}
constexpr void store_be32(std::uint8_t* p, std::uint32_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}
constexpr void store_be64(std::uint8_t* p, std::uint64_t v) {
    store_be32(p, static_cast<std::uint32_t>(v >> 32));
    store_be32(p + 4, static_cast<std::uint32_t>(v));
}

// A cursor over immutable bytes. Failed reads do not advance.
class Reader {
  public:
    constexpr Reader() = default;
    constexpr explicit Reader(ByteSpan in) : in_(in) {}

    [[nodiscard]] constexpr std::size_t remaining() const { return in_.size(); }
    [[nodiscard]] constexpr bool empty() const { return in_.empty(); }
    [[nodiscard]] constexpr ByteSpan rest() const { return in_; }

    [[nodiscard]] constexpr bool u8(std::uint8_t& out) {
        if (in_.empty()) return false;
        out = in_[0];
        in_ = in_.subspan(1);
        return true;
    }
    [[nodiscard]] constexpr bool u16(std::uint16_t& out) { return load(2, out, load_be16); }
    [[nodiscard]] constexpr bool u24(std::uint32_t& out) { return load(3, out, load_be24); }
    [[nodiscard]] constexpr bool u32(std::uint32_t& out) { return load(4, out, load_be32); }
    [[nodiscard]] constexpr bool u64(std::uint64_t& out) { return load(8, out, load_be64); }

    [[nodiscard]] constexpr bool bytes(std::size_t len, ByteSpan& out) {
        if (in_.size() < len) return false;
        out = in_.first(len);
        in_ = in_.subspan(len);
        return true;
    }
    // Copies exactly out.size() bytes.
    [[nodiscard]] bool copy(MutableByteSpan out) {
        ByteSpan src;
        if (!bytes(out.size(), src)) return false;
        if (!out.empty()) std::memcpy(out.data(), src.data(), out.size());
        return true;
    }
    [[nodiscard]] constexpr bool skip(std::size_t len) {
        ByteSpan ignored;
        return bytes(len, ignored);
    }
    [[nodiscard]] constexpr bool sub(std::size_t len, Reader& out) {
        ByteSpan body;
        if (!bytes(len, body)) return false;
        out = Reader(body);
        return true;
    }
    // Length-prefixed sub-readers (TLS vectors <0..2^8-1> etc.).
    [[nodiscard]] constexpr bool u8_prefixed(Reader& out) { return prefixed<1>(out); }
    [[nodiscard]] constexpr bool u16_prefixed(Reader& out) { return prefixed<2>(out); }
    [[nodiscard]] constexpr bool u24_prefixed(Reader& out) { return prefixed<3>(out); }

  private:
    template <class T, class F>
    [[nodiscard]] constexpr bool load(std::size_t len, T& out, F f) {
        if (in_.size() < len) return false;
        out = static_cast<T>(f(in_.data()));
        in_ = in_.subspan(len);
        return true;
    }
    template <int N>
    [[nodiscard]] constexpr bool prefixed(Reader& out) {
        Reader saved = *this;
        std::uint32_t len = 0;
        bool ok;
        if constexpr (N == 1) {
            std::uint8_t l8 = 0;
            ok = u8(l8);
            len = l8;
        } else if constexpr (N == 2) {
            std::uint16_t l16 = 0;
            ok = u16(l16);
            len = l16;
        } else {
            ok = u24(len);
        }
        if (!ok || !sub(len, out)) {
            *this = saved;
            return false;
        }
        return true;
    }

    ByteSpan in_{};
};

// A cursor over a caller-supplied output buffer. A write that does not fit
// sets a sticky failure flag instead of writing; check ok() once at the end.
class Writer {
  public:
    constexpr explicit Writer(MutableByteSpan out) : out_(out) {}

    [[nodiscard]] constexpr bool ok() const { return ok_; }
    [[nodiscard]] constexpr std::size_t written() const { return pos_; }
    [[nodiscard]] constexpr std::size_t remaining() const { return out_.size() - pos_; }
    [[nodiscard]] constexpr MutableByteSpan result() const { return out_.first(pos_); }

    constexpr void u8(std::uint8_t v) {
        if (std::uint8_t* p = take(1)) p[0] = v;
    }
    constexpr void u16(std::uint16_t v) {
        if (std::uint8_t* p = take(2)) store_be16(p, v);
    }
    constexpr void u24(std::uint32_t v) {
        if (std::uint8_t* p = take(3)) store_be24(p, v);
    }
    constexpr void u32(std::uint32_t v) {
        if (std::uint8_t* p = take(4)) store_be32(p, v);
    }
    constexpr void u64(std::uint64_t v) {
        if (std::uint8_t* p = take(8)) store_be64(p, v);
    }
    void bytes(ByteSpan v) {
        if (std::uint8_t* p = take(v.size()); p && !v.empty()) std::memcpy(p, v.data(), v.size());
    }
    void zeros(std::size_t len) {
        if (std::uint8_t* p = take(len); p && len) std::memset(p, 0, len);
    }
    // Reserves len bytes to be filled by the caller; nullptr when they do not fit.
    [[nodiscard]] constexpr std::uint8_t* reserve(std::size_t len) { return take(len); }

    // Length prefixes: open one, write the body, close it. The prefix is
    // patched on close, and an over-long body fails the writer.
    struct Prefix {
        std::size_t at;
        int width;
    };
    [[nodiscard]] constexpr Prefix open_u8_prefix() { return open(1); }
    [[nodiscard]] constexpr Prefix open_u16_prefix() { return open(2); }
    [[nodiscard]] constexpr Prefix open_u24_prefix() { return open(3); }
    constexpr void close(Prefix prefix) {
        if (!ok_) return;
        const std::size_t body = pos_ - prefix.at - static_cast<std::size_t>(prefix.width);
        if (body >= (std::size_t{1} << (8 * prefix.width))) {
            ok_ = false;
            return;
        }
        std::uint8_t* p = out_.data() + prefix.at;
        if (prefix.width == 1) p[0] = static_cast<std::uint8_t>(body);
        if (prefix.width == 2) store_be16(p, static_cast<std::uint16_t>(body));
        if (prefix.width == 3) store_be24(p, static_cast<std::uint32_t>(body));
    }

  private:
    [[nodiscard]] constexpr std::uint8_t* take(std::size_t len) {
        if (!ok_ || out_.size() - pos_ < len) {
            ok_ = false;
            return nullptr;
        }
        std::uint8_t* p = out_.data() + pos_;
        pos_ += len;
        return p;
    }
    [[nodiscard]] constexpr Prefix open(int width) {
        Prefix prefix{pos_, width};
        zeros_constexpr(static_cast<std::size_t>(width));
        return prefix;
    }
    constexpr void zeros_constexpr(std::size_t len) {
        if (std::uint8_t* p = take(len))
            for (std::size_t i = 0; i < len; ++i)
                p[i] = 0;
    }

    MutableByteSpan out_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace l45
