#include "apps/l45-offload/keylog.h"

#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace l45::offload {

namespace {
// The longest line tls::Connection::key_log makes: a 48-byte label, a
// 32-byte client random and a 48-byte secret in hex, two spaces.
constexpr std::size_t kMaxLineLen = 48 + 1 + 64 + 1 + 96;
}  // namespace

Result<std::unique_ptr<KeyLogFile>, std::string> KeyLogFile::open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return unexpected(path + ": " + std::strerror(errno));
    // An existing file keeps its mode on open: narrow it, secrets follow.
    if (::fchmod(fd, 0600) != 0) {
        const int err = errno;
        ::close(fd);
        return unexpected(path + ": chmod 0600: " + std::strerror(err));
    }
    return std::unique_ptr<KeyLogFile>(new KeyLogFile(fd, path));
}

KeyLogFile::~KeyLogFile() {
    if (fd_ >= 0) ::close(fd_);
}

void KeyLogFile::write(std::string_view line) {
    std::array<char, kMaxLineLen + 1> buf;
    if (line.size() > kMaxLineLen) {
        write_errors_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    std::memcpy(buf.data(), line.data(), line.size());
    buf[line.size()] = '\n';
    const std::size_t len = line.size() + 1;
    // One write(2) per line: O_APPEND makes it atomic against other lcores.
    ssize_t n;
    do {
        n = ::write(fd_, buf.data(), len);
    } while (n < 0 && errno == EINTR);
    explicit_bzero(buf.data(), buf.size());
    if (n == static_cast<ssize_t>(len))
        lines_written_.fetch_add(1, std::memory_order_relaxed);
    else
        write_errors_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace l45::offload
