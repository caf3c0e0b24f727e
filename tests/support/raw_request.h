#pragma once
// A raw HTTP/1.1 request for tests that talk to the server byte by byte.
#include <string>
#include <string_view>

namespace tbpay::test {

// "METHOD target HTTP/1.1" with Host, Content-Type and Content-Length (when there is a body or
// the method is POST), `headers` (each ending in \r\n) and the body.
inline std::string raw_request(std::string_view method, std::string_view target,
                               std::string_view body = {}, std::string_view headers = {}) {
  std::string r;
  r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  if (!body.empty() || method == "POST") {
    r.append("Content-Type: application/json\r\nContent-Length: ")
        .append(std::to_string(body.size()))
        .append("\r\n");
  }
  r.append(headers).append("\r\n").append(body);
  return r;
}

}  // namespace tbpay::test
