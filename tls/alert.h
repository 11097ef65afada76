// TLS alerts and errors (RFC 8446 §6).
//
// Every failure in tls/ is a TlsError: the alert to send (or that was
// received) and whose fault it was, as picotls encodes self/peer/internal.
// An error maps one-to-one to the alert the peer will see.
#pragma once

#include <cstdint>
#include <string_view>

#include "stack/base/result.h"

namespace l45::tls {

enum class AlertLevel : std::uint8_t { warning = 1, fatal = 2 };

// RFC 8446 §6 (plus RFC 8449 none; RFC 7301 no_application_protocol).
enum class Alert : std::uint8_t {
    close_notify = 0,
    unexpected_message = 10,
    bad_record_mac = 20,
    record_overflow = 22,
    handshake_failure = 40,
    bad_certificate = 42,
    unsupported_certificate = 43,
    certificate_revoked = 44,
    certificate_expired = 45,
    certificate_unknown = 46,
    illegal_parameter = 47,
    unknown_ca = 48,
    access_denied = 49,
    decode_error = 50,
    decrypt_error = 51,
    protocol_version = 70,
    insufficient_security = 71,
    internal_error = 80,
    inappropriate_fallback = 86,
    user_canceled = 90,
    missing_extension = 109,
    unsupported_extension = 110,
    unrecognized_name = 112,
    bad_certificate_status_response = 113,
    unknown_psk_identity = 115,
    certificate_required = 116,
    no_application_protocol = 120,
};

enum class ErrorOrigin : std::uint8_t {
    local,     // we detected a fault in the peer's input and send this alert
    peer,      // the peer sent us this alert
    internal,  // our own failure (e.g. a crypto library error): internal_error
};

struct TlsError {
    Alert alert = Alert::internal_error;
    ErrorOrigin origin = ErrorOrigin::local;
};

template <class T>
using TlsResult = Result<T, TlsError>;

[[nodiscard]] constexpr Unexpected<TlsError> fail(Alert alert,
                                                  ErrorOrigin origin = ErrorOrigin::local) {
    return {TlsError{alert, origin}};
}

[[nodiscard]] std::string_view alert_name(Alert alert);

}  // namespace l45::tls
