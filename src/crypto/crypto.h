#pragma once
// HMAC, constant-time comparison and random UUIDs, all from OpenSSL.
#include <string>
#include <string_view>

namespace tbpay {

// Lower-case hex HMAC-SHA256 of `message` keyed with `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// Compares two hex digests in time independent of where they differ. With
// `ignore_case`, 'A'..'F' equal 'a'..'f'. Different lengths are unequal.
bool hex_digest_equal(std::string_view a, std::string_view b, bool ignore_case = false);

// Random (version 4) UUID in its 36-character text form.
std::string uuid_v4();

// First characters of a signature, for logs: never the whole thing.
std::string redact_signature(std::string_view signature);

}  // namespace tbpay
