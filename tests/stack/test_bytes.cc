#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "stack/base/bytes.h"

namespace l45 {
namespace {

TEST(Reader, ReadsBigEndianAndAdvances) {
    const std::array<std::uint8_t, 10> in = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    Reader r(in);
    std::uint8_t a = 0;
    std::uint16_t b = 0;
    std::uint32_t c = 0;
    ASSERT_TRUE(r.u8(a));
    ASSERT_TRUE(r.u16(b));
    ASSERT_TRUE(r.u24(c));
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, 0x0203);
    EXPECT_EQ(c, 0x040506u);
    EXPECT_EQ(r.remaining(), 4u);
    std::uint32_t d = 0;
    ASSERT_TRUE(r.u32(d));
    EXPECT_EQ(d, 0x0708090au);
    EXPECT_TRUE(r.empty());
}

TEST(Reader, FailedReadDoesNotAdvance) {
    const std::array<std::uint8_t, 3> in = {0xaa, 0xbb, 0xcc};
    Reader r(in);
    std::uint32_t v = 0;
    EXPECT_FALSE(r.u32(v));
    EXPECT_EQ(r.remaining(), 3u);
    ByteSpan s;
    EXPECT_FALSE(r.bytes(4, s));
    EXPECT_TRUE(r.bytes(3, s));
    EXPECT_EQ(s[2], 0xcc);
}

TEST(Reader, LengthPrefixedRejectsOverrunAndRestores) {
    // u16 length 5 but only 3 body bytes follow.
    const std::array<std::uint8_t, 5> bad = {0x00, 0x05, 1, 2, 3};
    Reader r(bad);
    Reader body;
    EXPECT_FALSE(r.u16_prefixed(body));
    EXPECT_EQ(r.remaining(), 5u);

    const std::array<std::uint8_t, 6> good = {0x03, 1, 2, 3, 0xff, 0xee};
    Reader g(good);
    ASSERT_TRUE(g.u8_prefixed(body));
    EXPECT_EQ(body.remaining(), 3u);
    EXPECT_EQ(g.remaining(), 2u);
}

TEST(Writer, WritesAndPatchesPrefixes) {
    std::array<std::uint8_t, 16> out{};
    Writer w(out);
    auto p = w.open_u16_prefix();
    w.u8(0xab);
    w.u24(0x010203);
    w.close(p);
    ASSERT_TRUE(w.ok());
    ASSERT_EQ(w.written(), 6u);
    EXPECT_EQ(out[0], 0x00);
    EXPECT_EQ(out[1], 0x04);
    EXPECT_EQ(out[2], 0xab);
    EXPECT_EQ(out[5], 0x03);
}

TEST(Writer, OverflowIsStickyAndWritesNothing) {
    std::array<std::uint8_t, 3> out{};
    Writer w(out);
    w.u16(0x1234);
    w.u16(0x5678);  // does not fit
    w.u8(0x9a);     // would fit, but the writer has failed
    EXPECT_FALSE(w.ok());
    EXPECT_EQ(w.written(), 2u);
    EXPECT_EQ(out[2], 0);
}

TEST(Writer, PrefixTooLongFails) {
    std::vector<std::uint8_t> out(300);
    Writer w(out);
    auto p = w.open_u8_prefix();
    w.zeros(256);
    w.close(p);
    EXPECT_FALSE(w.ok());
}

}  // namespace
}  // namespace l45
